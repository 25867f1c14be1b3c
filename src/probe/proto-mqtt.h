/* SPDX-License-Identifier: MIT */
/* MQTT packets the probe needs: a CONNECT to send and a CONNACK to recognise (MQTT 3.1.1 §3.1, §3.2).
 * Pure functions over byte buffers, so they are unit-tested and fuzzed without a broker. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes a clean-session CONNECT with this client id. Returns the length, or -ENOBUFS. */
int proto_mqtt_build_connect(const char *client_id, uint16_t keep_alive_seconds, uint8_t *buffer, size_t size);

/* The two-byte DISCONNECT packet (§3.14). */
extern const uint8_t proto_mqtt_disconnect[2];

/* Parses the start of a broker's answer. Returns 0 when more bytes are needed, 1 with the CONNACK's
 * return code in *ret_return_code, or -EBADMSG when the bytes are not a CONNACK. */
int proto_mqtt_parse_connack(const uint8_t *data, size_t size, int *ret_return_code);

/* The meaning of a CONNACK return code (§3.2.2.3), e.g. "not authorised". */
const char *proto_mqtt_connack_reason(int return_code);
