/* SPDX-License-Identifier: MIT */
/* WebSocket pieces for the wss probe. The length checks come before any buffering: a frame that
 * claims 2^63 bytes is refused from its header alone. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "proto-ws.h"

/* RFC 6455 §1.3: the GUID appended to the key before hashing. */
#define WEBSOCKET_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int proto_ws_new_key(char ret[25]) {
        unsigned char random[16];

        if (RAND_bytes(random, sizeof(random)) != 1)
                return -EIO;
        EVP_EncodeBlock((unsigned char *) ret, random, sizeof(random));
        return 0;
}

int proto_ws_accept_for_key(const char *key, char ret[29]) {
        unsigned char digest[SHA_DIGEST_LENGTH];
        char input[128];
        int n;

        n = snprintf(input, sizeof(input), "%s%s", key, WEBSOCKET_GUID);
        if (n < 0 || (size_t) n >= sizeof(input))
                return -EINVAL;
        if (!EVP_Digest(input, (size_t) n, digest, NULL, EVP_sha1(), NULL))
                return -EIO;
        EVP_EncodeBlock((unsigned char *) ret, digest, sizeof(digest));
        return 0;
}

int proto_ws_build_upgrade(const char *authority, const char *path, const char *key, char *buffer, size_t size) {
        int n = snprintf(buffer, size,
                         "GET %s HTTP/1.1\r\n"
                         "Host: %s\r\n"
                         "User-Agent: tlswatch/" PACKAGE_VERSION "\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Protocol: mqtt\r\n"
                         "\r\n",
                         path, authority, key);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int proto_ws_build_frame(uint8_t opcode, const uint8_t *payload, size_t length, const uint8_t mask[4],
                         uint8_t *buffer, size_t size) {
        size_t header = 2 + 4 + (length > 125 ? (length > 65535 ? 8 : 2) : 0);
        uint8_t *p = buffer;

        if (header + length > size)
                return -ENOBUFS;

        *p++ = 0x80 | (opcode & 0x0f);
        if (length <= 125)
                *p++ = 0x80 | (uint8_t) length;
        else if (length <= 65535) {
                *p++ = 0x80 | 126;
                *p++ = (uint8_t) (length >> 8);
                *p++ = (uint8_t) length;
        } else {
                *p++ = 0x80 | 127;
                for (int shift = 56; shift >= 0; shift -= 8)
                        *p++ = (uint8_t) ((uint64_t) length >> shift);
        }
        memcpy(p, mask, 4);
        p += 4;
        for (size_t i = 0; i < length; i++)
                *p++ = payload[i] ^ mask[i % 4];
        return (int) (p - buffer);
}

int proto_ws_parse_frame(const uint8_t *data, size_t size, WsFrame *ret) {
        uint64_t length;
        size_t header = 2;

        if (size < 2)
                return 0;

        bool fin = data[0] & 0x80;
        uint8_t opcode = data[0] & 0x0f;
        if (data[0] & 0x70)
                return -EBADMSG; /* no extension was negotiated, so no reserved bit may be set */
        if (data[1] & 0x80)
                return -EBADMSG; /* §5.1: a server never masks */
        if (!((opcode <= PROTO_WS_OPCODE_BINARY) ||
              (opcode >= PROTO_WS_OPCODE_CLOSE && opcode <= PROTO_WS_OPCODE_PONG)))
                return -EBADMSG;

        length = data[1] & 0x7f;
        if (length == 126) {
                if (size < 4)
                        return 0;
                length = (uint64_t) data[2] << 8 | data[3];
                header = 4;
                if (length < 126)
                        return -EBADMSG;
        } else if (length == 127) {
                if (size < 10)
                        return 0;
                length = 0;
                for (int i = 2; i < 10; i++)
                        length = length << 8 | data[i];
                header = 10;
                if (length >> 63)
                        return -EBADMSG; /* the most significant bit must be 0 */
                if (length <= 65535)
                        return -EBADMSG;
        }

        if (opcode >= PROTO_WS_OPCODE_CLOSE && (!fin || length > 125))
                return -EBADMSG; /* §5.5: control frames are short and never fragmented */
        if (length > PROTO_WS_FRAME_MAX)
                return -E2BIG;
        if (size - header < length)
                return 0;

        *ret = (WsFrame) {
                .fin = fin,
                .opcode = opcode,
                .payload = data + header,
                .payload_length = (size_t) length,
                .frame_length = header + (size_t) length,
        };
        return 1;
}
