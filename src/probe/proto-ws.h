/* SPDX-License-Identifier: MIT */
/* The client side of a WebSocket (RFC 6455) as the wss probe needs it: the opening handshake's key and
 * expected accept value, the upgrade request, masked frames to send and bounded frames to read.
 * Pure functions over byte buffers; SHA-1 and base64 come from OpenSSL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A frame from the server larger than this is refused rather than buffered. */
#define PROTO_WS_FRAME_MAX (64 * 1024)

#define PROTO_WS_OPCODE_CONTINUATION 0x0
#define PROTO_WS_OPCODE_TEXT 0x1
#define PROTO_WS_OPCODE_BINARY 0x2
#define PROTO_WS_OPCODE_CLOSE 0x8
#define PROTO_WS_OPCODE_PING 0x9
#define PROTO_WS_OPCODE_PONG 0xa

/* A fresh Sec-WebSocket-Key: 16 random bytes, base64 (24 characters). Returns 0 or -EIO. */
int proto_ws_new_key(char ret[25]);

/* The Sec-WebSocket-Accept a server must answer for `key` (§4.2.2): base64(SHA-1(key + GUID)). */
int proto_ws_accept_for_key(const char *key, char ret[29]);

/* The opening handshake asking for the "mqtt" subprotocol. Returns the length, or -ENOBUFS. */
int proto_ws_build_upgrade(const char *authority, const char *path, const char *key, char *buffer, size_t size);

/* A single final frame with this opcode and payload, masked with `mask` as a client must (§5.3).
 * Returns the length, or -ENOBUFS. */
int proto_ws_build_frame(uint8_t opcode, const uint8_t *payload, size_t length, const uint8_t mask[4],
                         uint8_t *buffer, size_t size);

typedef struct WsFrame {
        bool fin;
        uint8_t opcode;
        const uint8_t *payload; /* points into the parsed buffer */
        size_t payload_length;
        size_t frame_length;    /* bytes the whole frame took */
} WsFrame;

/* Parses one frame from the server. Returns 0 when more bytes are needed, 1 for a complete frame,
 * -EBADMSG when it is invalid (masked, reserved bits, unknown opcode, a fragmented or oversized control
 * frame, a non-minimal length), -E2BIG when its payload exceeds PROTO_WS_FRAME_MAX. */
int proto_ws_parse_frame(const uint8_t *data, size_t size, WsFrame *ret);
