/* SPDX-License-Identifier: MIT */
/* MQTT packets the probe needs: a CONNECT to send and a CONNACK to recognise, for MQTT 3.1.1
 * (OASIS mqtt-v3.1.1 §3.1, §3.2) and 5.0 (mqtt-v5.0 §3.1, §3.2). Pure functions over byte buffers,
 * unit-tested and fuzzed without a broker. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_VERSION_3_1_1 4
#define MQTT_VERSION_5 5

typedef struct MqttConnectOptions {
        int version;           /* MQTT_VERSION_3_1_1 or MQTT_VERSION_5 */
        const char *client_id;
        uint16_t keep_alive_seconds;
        const char *username;  /* NULL: none */
        const char *password;  /* NULL: none; only with a username */
} MqttConnectOptions;

/* Writes a clean-session CONNECT. Returns the length, -ENOBUFS, or -EINVAL (a field over 65535 bytes). */
int proto_mqtt_build_connect(const MqttConnectOptions *options, uint8_t *buffer, size_t size);

/* The DISCONNECT packet (3.1.1 §3.14; in 5.0 the same two bytes mean reason 0, normal disconnection). */
extern const uint8_t proto_mqtt_disconnect[2];

/* Parses the start of a broker's answer. Returns 0 when more bytes are needed, 1 with the CONNACK's
 * return code (3.1.1) or reason code (5.0) in *ret_code, or -EBADMSG when the bytes are not a CONNACK
 * (wrong packet type, a remaining length that is malformed or impossible for a CONNACK). */
int proto_mqtt_parse_connack(const uint8_t *data, size_t size, int version, int *ret_code);

bool proto_mqtt_connack_accepted(int version, int code);

/* The meaning of a CONNACK code, e.g. "not authorised". */
const char *proto_mqtt_connack_reason(int version, int code);
