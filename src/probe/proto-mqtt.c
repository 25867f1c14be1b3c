/* SPDX-License-Identifier: MIT */
/* MQTT 3.1.1 CONNECT encoding and CONNACK decoding for the mqtt probe. Any CONNACK proves the
 * listener is an MQTT broker; the return code is information for the report. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "proto-mqtt.h"

const uint8_t proto_mqtt_disconnect[2] = { 0xe0, 0x00 };

int proto_mqtt_build_connect(const char *client_id, uint16_t keep_alive_seconds, uint8_t *buffer, size_t size) {
        size_t id_length = strlen(client_id);
        /* Variable header (§3.1.2): protocol name "MQTT", level 4, flags, keep alive; then the id. */
        size_t remaining = 10 + 2 + id_length;
        size_t length = 2 + remaining;

        /* One-byte remaining length keeps this simple; client ids are short by construction. */
        if (remaining > 127 || length > size)
                return -ENOBUFS;

        uint8_t *p = buffer;
        *p++ = 0x10;
        *p++ = (uint8_t) remaining;
        *p++ = 0x00;
        *p++ = 0x04;
        memcpy(p, "MQTT", 4);
        p += 4;
        *p++ = 0x04; /* protocol level 4 = 3.1.1 */
        *p++ = 0x02; /* clean session */
        *p++ = (uint8_t) (keep_alive_seconds >> 8);
        *p++ = (uint8_t) (keep_alive_seconds & 0xff);
        *p++ = (uint8_t) (id_length >> 8);
        *p++ = (uint8_t) (id_length & 0xff);
        memcpy(p, client_id, id_length);
        return (int) length;
}

int proto_mqtt_parse_connack(const uint8_t *data, size_t size, int *ret_return_code) {
        if (size >= 1 && data[0] != 0x20)
                return -EBADMSG;
        if (size >= 2 && data[1] != 0x02)
                return -EBADMSG;
        if (size < 4)
                return 0;
        *ret_return_code = data[3];
        return 1;
}

const char *proto_mqtt_connack_reason(int return_code) {
        static const char *const reasons[] = {
                [0] = "connection accepted",
                [1] = "unacceptable protocol version",
                [2] = "identifier rejected",
                [3] = "server unavailable",
                [4] = "bad user name or password",
                [5] = "not authorised",
        };

        if (return_code < 0 || (size_t) return_code >= ELEMENTSOF(reasons))
                return "unknown return code";
        return reasons[return_code];
}
