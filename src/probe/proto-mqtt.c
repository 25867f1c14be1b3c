/* SPDX-License-Identifier: MIT */
/* MQTT CONNECT encoding and CONNACK decoding for the mqtt and wss probes. Any well-formed CONNACK
 * proves the listener is an MQTT broker; its code says whether our credentials were accepted. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "proto-mqtt.h"

const uint8_t proto_mqtt_disconnect[2] = { 0xe0, 0x00 };

/* A CONNACK of 5.0 carries properties; more than this is not an answer to our CONNECT. */
#define CONNACK_REMAINING_MAX (64 * 1024)

static size_t put_string(uint8_t *p, const char *s, size_t length) {
        p[0] = (uint8_t) (length >> 8);
        p[1] = (uint8_t) (length & 0xff);
        memcpy(p + 2, s, length);
        return 2 + length;
}

int proto_mqtt_build_connect(const MqttConnectOptions *o, uint8_t *buffer, size_t size) {
        size_t id_length = strlen(o->client_id);
        size_t user_length = o->username ? strlen(o->username) : 0;
        size_t password_length = o->username && o->password ? strlen(o->password) : 0;
        bool v5 = o->version == MQTT_VERSION_5;

        if (id_length > 65535 || user_length > 65535 || password_length > 65535)
                return -EINVAL;

        /* Variable header: protocol name, level, flags, keep alive (§3.1.2), and in 5.0 an empty
         * property list; then the payload: client id, user name, password. */
        size_t remaining = 10 + (v5 ? 1 : 0) + 2 + id_length;
        if (o->username)
                remaining += 2 + user_length;
        if (o->username && o->password)
                remaining += 2 + password_length;

        uint8_t length_bytes[4];
        size_t n_length_bytes = 0;
        size_t value = remaining;
        do {
                uint8_t byte = value % 128;
                value /= 128;
                length_bytes[n_length_bytes++] = byte | (value > 0 ? 0x80 : 0);
        } while (value > 0 && n_length_bytes < 4);

        size_t total = 1 + n_length_bytes + remaining;
        if (total > size)
                return -ENOBUFS;

        uint8_t flags = 0x02; /* clean session / clean start */
        if (o->username)
                flags |= 0x80;
        if (o->username && o->password)
                flags |= 0x40;

        uint8_t *p = buffer;
        *p++ = 0x10;
        memcpy(p, length_bytes, n_length_bytes);
        p += n_length_bytes;
        p += put_string(p, "MQTT", 4);
        *p++ = v5 ? MQTT_VERSION_5 : MQTT_VERSION_3_1_1;
        *p++ = flags;
        *p++ = (uint8_t) (o->keep_alive_seconds >> 8);
        *p++ = (uint8_t) (o->keep_alive_seconds & 0xff);
        if (v5)
                *p++ = 0x00; /* property length */
        p += put_string(p, o->client_id, id_length);
        if (o->username)
                p += put_string(p, o->username, user_length);
        if (o->username && o->password)
                p += put_string(p, o->password, password_length);
        return (int) (p - buffer);
}

int proto_mqtt_parse_connack(const uint8_t *data, size_t size, int version, int *ret_code) {
        size_t remaining = 0, i;

        if (size < 1)
                return 0;
        if (data[0] != 0x20)
                return -EBADMSG;

        /* Remaining length: 1 to 4 bytes, 7 bits each, least significant first (§1.5.5 / §2.2.3). */
        for (i = 1;; i++) {
                if (i > 4)
                        return -EBADMSG;
                if (i >= size)
                        return 0;
                remaining |= (size_t) (data[i] & 0x7f) << (7 * (i - 1));
                if (!(data[i] & 0x80))
                        break;
        }
        /* A multi-byte encoding must not end in a zero byte (no over-long forms). */
        if (i > 1 && data[i] == 0)
                return -EBADMSG;

        if (version == MQTT_VERSION_5 ? remaining < 2 || remaining > CONNACK_REMAINING_MAX : remaining != 2)
                return -EBADMSG;

        size_t header = i + 1;
        if (size < header + 2)
                return 0;
        if (data[header] & 0xfe) /* only the session-present bit may be set */
                return -EBADMSG;
        *ret_code = data[header + 1];
        return 1;
}

bool proto_mqtt_connack_accepted(int version, int code) {
        return version == MQTT_VERSION_5 ? code < 0x80 : code == 0;
}

const char *proto_mqtt_connack_reason(int version, int code) {
        static const char *const v3_reasons[] = {
                [0] = "connection accepted",
                [1] = "unacceptable protocol version",
                [2] = "identifier rejected",
                [3] = "server unavailable",
                [4] = "bad user name or password",
                [5] = "not authorised",
        };
        static const struct {
                int code;
                const char *text;
        } v5_reasons[] = {
                { 0x00, "success" },
                { 0x80, "unspecified error" },
                { 0x81, "malformed packet" },
                { 0x82, "protocol error" },
                { 0x83, "implementation specific error" },
                { 0x84, "unsupported protocol version" },
                { 0x85, "client identifier not valid" },
                { 0x86, "bad user name or password" },
                { 0x87, "not authorized" },
                { 0x88, "server unavailable" },
                { 0x89, "server busy" },
                { 0x8a, "banned" },
                { 0x8c, "bad authentication method" },
                { 0x90, "topic name invalid" },
                { 0x95, "packet too large" },
                { 0x97, "quota exceeded" },
                { 0x99, "payload format invalid" },
                { 0x9a, "retain not supported" },
                { 0x9b, "QoS not supported" },
                { 0x9c, "use another server" },
                { 0x9d, "server moved" },
                { 0x9f, "connection rate exceeded" },
        };

        if (version == MQTT_VERSION_5) {
                for (size_t i = 0; i < ELEMENTSOF(v5_reasons); i++)
                        if (v5_reasons[i].code == code)
                                return v5_reasons[i].text;
                return "unknown reason code";
        }
        if (code < 0 || (size_t) code >= ELEMENTSOF(v3_reasons))
                return "unknown return code";
        return v3_reasons[code];
}
