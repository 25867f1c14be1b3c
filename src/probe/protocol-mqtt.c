/* SPDX-License-Identifier: MIT */
/* mqtt: CONNECT -> CONNACK -> DISCONNECT over TLS (MQTT 3.1.1 §3.1-3.2, 5.0 §3.1-3.2), and the MQTT
 * session that protocol-wss.c carries in WebSocket frames. The packets themselves are proto-mqtt.c's. */
#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "protocol-mqtt.h"

#define MQTT_ANSWER_MAX (16 * 1024)

static int dup_optional(char **field, const char *value) {
        if (!value)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

int mqtt_session_init(MqttSession *s, const ExchangeSettings *settings, ExchangeResult *result) {
        assert(s);
        assert(settings);
        assert(result);

        if (dup_optional(&s->username, settings->username) < 0 || dup_optional(&s->password, settings->password) < 0)
                return -ENOMEM;
        if (settings->client_id)
                s->client_id = strdup(settings->client_id);
        else {
                unsigned char random[4];
                if (RAND_bytes(random, sizeof(random)) != 1)
                        return -EIO;
                if (asprintf(&s->client_id, "tlswatch-%02x%02x%02x%02x", random[0], random[1], random[2],
                             random[3]) < 0)
                        s->client_id = NULL;
        }
        if (!s->client_id)
                return -ENOMEM;
        s->expect_accept = settings->expect_accept;
        s->options = (MqttConnectOptions) {
                .version = settings->mqtt_version == MQTT_VERSION_5 ? MQTT_VERSION_5 : MQTT_VERSION_3_1_1,
                .client_id = s->client_id,
                .keep_alive_seconds = 30,
                .username = s->username,
                .password = s->password,
        };
        result->mqtt_version = s->options.version;
        return 0;
}

void mqtt_session_done(MqttSession *s) {
        assert(s);
        free(s->client_id);
        free(s->username);
        if (s->password) {
                /* The password is a secret: do not leave it in freed memory. */
                OPENSSL_cleanse(s->password, strlen(s->password));
                free(s->password);
        }
        *s = (MqttSession) {};
}

int mqtt_session_connect(const MqttSession *s, uint8_t *buffer, size_t size) {
        assert(s);
        return proto_mqtt_build_connect(&s->options, buffer, size);
}

ExchangeStatus mqtt_session_judge(MqttSession *s, Exchange *e, const uint8_t *data, size_t n, const char *hint) {
        ExchangeResult *result = exchange_result_mut(e);
        int code = -1, r;

        assert(s);
        r = proto_mqtt_parse_connack(data, n, s->options.version, &code);
        if (r == 0)
                return EXCHANGE_RUNNING;
        if (r < 0)
                return exchange_fail(e, "the listener answered the MQTT CONNECT with something that is not a CONNACK%s",
                                     hint);

        result->connack = code;
        result->connack_text = proto_mqtt_connack_reason(s->options.version, code);
        if (s->expect_accept && !proto_mqtt_connack_accepted(s->options.version, code))
                return exchange_fail(e, "the broker refused the connection: CONNACK %d (%s)", code,
                                     result->connack_text);
        return exchange_succeed(e);
}

int mqtt_session_describe(const ExchangeResult *result, char **ret) {
        assert(result);
        assert(ret);

        *ret = NULL;
        if (result->connack < 0)
                return 0;
        if (asprintf(ret, "%sMQTT CONNACK %d (%s)", result->http_status == 101 ? "WebSocket, " : "", result->connack,
                     result->connack_text) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* mqtt itself: the state is the session alone, waiting for the CONNACK. */
static int mqtt_start(Exchange *e, void *state, const ExchangeSettings *settings) {
        MqttSession *s = state;
        size_t room;
        int r, n;

        r = mqtt_session_init(s, settings, exchange_result_mut(e));
        if (r < 0)
                return r;
        uint8_t *out = exchange_output_room(e, &room); /* before `room` is read: argument order is unspecified */
        n = mqtt_session_connect(s, out, room);
        if (n < 0)
                return -ENOBUFS;
        exchange_queued(e, (size_t) n);
        return 0;
}

static ExchangeStatus mqtt_advance(Exchange *e, void *state) {
        size_t n;
        const uint8_t *data = exchange_input_data(e, &n);
        ExchangeStatus status = mqtt_session_judge(state, e, data, n, ": is this port an MQTT listener?");

        if (status == EXCHANGE_SUCCEEDED)
                (void) exchange_queue(e, proto_mqtt_disconnect, sizeof(proto_mqtt_disconnect));
        return status;
}

static const char *mqtt_closed(const void *state) {
        return "the listener closed the connection without answering the MQTT CONNECT";
}

static void mqtt_done(void *state) {
        mqtt_session_done(state);
}

const Protocol protocol_mqtt = {
        .name = "mqtt",
        .ports = { 8883 },
        .state_size = sizeof(MqttSession),
        .input_max = MQTT_ANSWER_MAX,
        .start = mqtt_start,
        .advance = mqtt_advance,
        .closed = mqtt_closed,
        .done = mqtt_done,
        .describe = mqtt_session_describe,
};
