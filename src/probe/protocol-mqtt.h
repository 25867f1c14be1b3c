/* SPDX-License-Identifier: MIT */
/* The MQTT session both MQTT carriers share (plain over TLS in protocol-mqtt.c, in WebSocket frames in
 * protocol-wss.c): the CONNECT it sends and how a CONNACK is judged. */
#pragma once

#include <stdbool.h>

#include "exchange.h"
#include "proto-mqtt.h"

typedef struct MqttSession {
        MqttConnectOptions options; /* points into the strings below */
        char *client_id;
        char *username;
        char *password; /* erased when done */
        bool expect_accept;
} MqttSession;

int mqtt_session_init(MqttSession *session, const ExchangeSettings *settings, ExchangeResult *result);
void mqtt_session_done(MqttSession *session);

/* The CONNECT packet into `buffer`; its length, or -ENOBUFS/-EINVAL. */
int mqtt_session_connect(const MqttSession *session, uint8_t *buffer, size_t size);

/* Judges the MQTT bytes received so far: RUNNING until a whole CONNACK is there, then the verdict.
 * `hint` ends the message for an answer that is not a CONNACK. */
ExchangeStatus mqtt_session_judge(MqttSession *session, Exchange *e, const uint8_t *data, size_t n, const char *hint);

int mqtt_session_describe(const ExchangeResult *result, char **ret);
