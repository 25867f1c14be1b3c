/* SPDX-License-Identifier: MIT */
/* The exchange state machine. Every buffer has a fixed bound, so a hostile listener can at most make
 * the exchange fail: a head over 16 KiB, a frame over 64 KiB, or more bytes than any valid answer
 * needs end it with a message, never with growth. */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exchange.h"
#include "proto-http.h"
#include "proto-mqtt.h"
#include "proto-ws.h"

#define OUTPUT_MAX 4096
#define MQTT_ANSWER_MAX (16 * 1024)

typedef enum ExchangeStep {
        STEP_HTTP_RESPONSE, /* https: waiting for the response head */
        STEP_WS_UPGRADE,    /* wss: waiting for 101 Switching Protocols */
        STEP_CONNACK,       /* mqtt, wss: waiting for the CONNACK (in frames for wss) */
        STEP_DONE,
} ExchangeStep;

struct Exchange {
        Protocol protocol;
        ExchangeStep step;
        ExchangeStatus status;
        char *path;
        char *failure;
        ExchangeResult result;
        MqttConnectOptions mqtt;
        char *client_id;
        char *username;
        char *password;
        bool expect_accept;
        HttpExpect expect_status;
        char websocket_accept[29]; /* what the server must answer */

        uint8_t output[OUTPUT_MAX];
        size_t output_length;
        size_t output_sent;

        uint8_t *input; /* bytes received and not yet consumed */
        size_t input_length;
        size_t input_capacity;

        uint8_t mqtt_answer[MQTT_ANSWER_MAX]; /* wss: MQTT bytes out of the frames */
        size_t mqtt_answer_length;
};

static ExchangeStatus fail(Exchange *e, const char *format, ...) _printf_(2, 3);
static ExchangeStatus fail(Exchange *e, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&e->failure, format, ap) < 0)
                e->failure = NULL;
        va_end(ap);
        e->step = STEP_DONE;
        e->status = EXCHANGE_FAILED;
        e->output_length = e->output_sent = 0; /* nothing more to say to a peer that failed us */
        return e->status;
}

static bool queue(Exchange *e, const void *data, size_t n) {
        if (e->output_length + n > sizeof(e->output))
                return false;
        memcpy(e->output + e->output_length, data, n);
        e->output_length += n;
        return true;
}

static bool queue_websocket_frame(Exchange *e, uint8_t opcode, const uint8_t *payload, size_t n) {
        uint8_t mask[4];
        int length;

        if (RAND_bytes(mask, sizeof(mask)) != 1)
                return false;
        length = proto_ws_build_frame(opcode, payload, n, mask, e->output + e->output_length,
                                      sizeof(e->output) - e->output_length);
        if (length < 0)
                return false;
        e->output_length += (size_t) length;
        return true;
}

static bool queue_connect(Exchange *e) {
        uint8_t packet[OUTPUT_MAX];
        int n = proto_mqtt_build_connect(&e->mqtt, packet, sizeof(packet));

        if (n < 0)
                return false;
        if (e->protocol == PROTOCOL_WSS)
                return queue_websocket_frame(e, PROTO_WS_OPCODE_BINARY, packet, (size_t) n);
        return queue(e, packet, (size_t) n);
}

static void queue_goodbye(Exchange *e) {
        if (e->protocol == PROTOCOL_WSS) {
                static const uint8_t normal_closure[2] = { 0x03, 0xe8 }; /* 1000, RFC 6455 §7.4.1 */
                (void) queue_websocket_frame(e, PROTO_WS_OPCODE_BINARY, proto_mqtt_disconnect,
                                             sizeof(proto_mqtt_disconnect));
                (void) queue_websocket_frame(e, PROTO_WS_OPCODE_CLOSE, normal_closure, sizeof(normal_closure));
        } else
                (void) queue(e, proto_mqtt_disconnect, sizeof(proto_mqtt_disconnect));
}

static void consume(Exchange *e, size_t n) {
        memmove(e->input, e->input + n, e->input_length - n);
        e->input_length -= n;
}

static ExchangeStatus judge_connack(Exchange *e, const uint8_t *data, size_t n) {
        int code = -1, r;

        r = proto_mqtt_parse_connack(data, n, e->mqtt.version, &code);
        if (r == 0)
                return EXCHANGE_RUNNING;
        if (r < 0)
                return fail(e, "the listener answered the MQTT CONNECT with something that is not a CONNACK%s",
                            e->protocol == PROTOCOL_WSS ? "" : ": is this port an MQTT listener?");

        e->result.connack = code;
        e->result.connack_text = proto_mqtt_connack_reason(e->mqtt.version, code);
        if (e->expect_accept && !proto_mqtt_connack_accepted(e->mqtt.version, code))
                return fail(e, "the broker refused the connection: CONNACK %d (%s)", code, e->result.connack_text);

        e->step = STEP_DONE;
        e->status = EXCHANGE_SUCCEEDED;
        queue_goodbye(e);
        return e->status;
}

static ExchangeStatus step_http_response(Exchange *e) {
        HttpResponseHead head;
        int r = proto_http_parse_head((const char *) e->input, e->input_length, &head);

        /* Interim answers (103 Early Hints, RFC 9110 §15.2) come before the final one: skip them. The
         * input buffer bounds how many there can be. */
        while (r > 0 && head.status >= 100 && head.status < 200) {
                consume(e, head.length);
                r = proto_http_parse_head((const char *) e->input, e->input_length, &head);
        }
        if (r == 0)
                return EXCHANGE_RUNNING;
        if (r == -E2BIG)
                return fail(e, "the HTTP response head is larger than %d KiB", PROTO_HTTP_HEAD_MAX / 1024);
        if (r < 0)
                return fail(e, "the listener's answer to an HTTP request is not HTTP: is this port an HTTPS listener?");

        e->result.http_status = head.status;
        if (!proto_http_status_expected(&e->expect_status, head.status))
                return fail(e, "HTTP %d on %s: %s", head.status, e->path,
                            head.status >= 500 ? "the service behind the listener is failing"
                            : e->expect_status.n_ranges > 0 ? "not one of the expected statuses"
                                                            : "expected a 2xx or 3xx answer");
        e->step = STEP_DONE;
        e->status = EXCHANGE_SUCCEEDED;
        return e->status;
}

static ExchangeStatus step_websocket_upgrade(Exchange *e) {
        HttpResponseHead head;
        int r = proto_http_parse_head((const char *) e->input, e->input_length, &head);

        if (r == 0)
                return EXCHANGE_RUNNING;
        if (r == -E2BIG)
                return fail(e, "the WebSocket handshake answer is larger than %d KiB", PROTO_HTTP_HEAD_MAX / 1024);
        if (r < 0)
                return fail(e, "the answer to the WebSocket upgrade is not HTTP: is this port a WebSocket listener?");

        e->result.http_status = head.status;
        if (head.status == 404)
                return fail(e, "HTTP 404 on %s: wrong WebSocket path?", e->path);
        if (head.status != 101)
                return fail(e, "HTTP %d on %s: expected 101 Switching Protocols to a WebSocket upgrade", head.status,
                            e->path);
        if (strcasecmp(head.upgrade, "websocket") != 0)
                return fail(e, "the 101 answer on %s does not upgrade to websocket", e->path);
        if (strcmp(head.websocket_accept, e->websocket_accept) != 0)
                return fail(e, "wrong Sec-WebSocket-Accept on %s: \"%s\", expected \"%s\"", e->path,
                            head.websocket_accept, e->websocket_accept);
        snprintf(e->result.websocket_protocol, sizeof(e->result.websocket_protocol), "%s", head.websocket_protocol);
        if (strcmp(head.websocket_protocol, "mqtt") != 0)
                return fail(e, "the WebSocket listener on %s did not choose the \"mqtt\" subprotocol%s%s", e->path,
                            head.websocket_protocol[0] ? ", it chose " : "", head.websocket_protocol);

        consume(e, head.length);
        if (!queue_connect(e))
                return fail(e, "cannot encode the MQTT CONNECT");
        e->step = STEP_CONNACK;
        return EXCHANGE_RUNNING;
}

/* wss: takes complete frames out of the input and collects their MQTT bytes. */
static ExchangeStatus step_websocket_frames(Exchange *e) {
        for (;;) {
                WsFrame frame;
                int r = proto_ws_parse_frame(e->input, e->input_length, &frame);

                if (r == 0)
                        return judge_connack(e, e->mqtt_answer, e->mqtt_answer_length);
                if (r == -E2BIG)
                        return fail(e, "a WebSocket frame larger than %d KiB", PROTO_WS_FRAME_MAX / 1024);
                if (r < 0)
                        return fail(e, "an invalid WebSocket frame from the listener");

                switch (frame.opcode) {
                case PROTO_WS_OPCODE_BINARY:
                case PROTO_WS_OPCODE_CONTINUATION: {
                        /* A CONNACK is decided by its first bytes; keep what fits and judge. */
                        size_t room = sizeof(e->mqtt_answer) - e->mqtt_answer_length;
                        size_t take = MIN(room, frame.payload_length);
                        memcpy(e->mqtt_answer + e->mqtt_answer_length, frame.payload, take);
                        e->mqtt_answer_length += take;
                        if (take < frame.payload_length) {
                                ExchangeStatus status = judge_connack(e, e->mqtt_answer, e->mqtt_answer_length);
                                if (status != EXCHANGE_RUNNING)
                                        return status;
                                return fail(e, "more than %d KiB of MQTT data without a CONNACK",
                                            MQTT_ANSWER_MAX / 1024);
                        }
                        break;
                }
                case PROTO_WS_OPCODE_CLOSE:
                        return fail(e, "the listener closed the WebSocket before sending a CONNACK");
                case PROTO_WS_OPCODE_TEXT:
                        return fail(e, "a text WebSocket frame where MQTT needs binary frames");
                default:
                        break; /* ping and pong: we leave soon, no need to answer */
                }
                consume(e, frame.frame_length);

                ExchangeStatus status = judge_connack(e, e->mqtt_answer, e->mqtt_answer_length);
                if (status != EXCHANGE_RUNNING)
                        return status;
        }
}

static ExchangeStatus advance(Exchange *e) {
        switch (e->step) {
        case STEP_HTTP_RESPONSE:
                return step_http_response(e);
        case STEP_WS_UPGRADE: {
                ExchangeStatus status = step_websocket_upgrade(e);
                if (status != EXCHANGE_RUNNING || e->step != STEP_CONNACK)
                        return status;
                /* The broker may have sent the CONNACK right behind the 101. */
                return step_websocket_frames(e);
        }
        case STEP_CONNACK:
                if (e->protocol == PROTOCOL_WSS)
                        return step_websocket_frames(e);
                return judge_connack(e, e->input, e->input_length);
        default:
                return e->status;
        }
}

ExchangeStatus exchange_input(Exchange *e, const uint8_t *data, size_t n) {
        if (e->status != EXCHANGE_RUNNING)
                return e->status;

        while (n > 0) {
                size_t room = e->input_capacity - e->input_length;
                if (room == 0)
                        return fail(e, "the listener sent %zu bytes without a recognisable answer", e->input_length);
                size_t take = MIN(room, n);
                memcpy(e->input + e->input_length, data, take);
                e->input_length += take;
                data += take;
                n -= take;

                ExchangeStatus status = advance(e);
                if (status != EXCHANGE_RUNNING)
                        return status;
        }
        return EXCHANGE_RUNNING;
}

ExchangeStatus exchange_end_of_input(Exchange *e) {
        if (e->status != EXCHANGE_RUNNING)
                return e->status;

        switch (e->step) {
        case STEP_HTTP_RESPONSE:
                return fail(e, "the listener closed the connection without answering the HTTP request");
        case STEP_WS_UPGRADE:
                return fail(e, "the listener closed the connection without answering the WebSocket upgrade");
        default:
                return fail(e, "the listener closed the connection without answering the MQTT CONNECT");
        }
}

size_t exchange_output(const Exchange *e, const uint8_t **ret) {
        *ret = e->output + e->output_sent;
        return e->output_length - e->output_sent;
}

void exchange_sent(Exchange *e, size_t n) {
        e->output_sent = MIN(e->output_sent + n, e->output_length);
        if (e->output_sent == e->output_length)
                e->output_sent = e->output_length = 0;
}

ExchangeStatus exchange_status(const Exchange *e) {
        return e->status;
}

const char *exchange_failure(const Exchange *e) {
        return e->status == EXCHANGE_FAILED ? (e->failure ?: "the exchange failed") : NULL;
}

const ExchangeResult *exchange_result(const Exchange *e) {
        return &e->result;
}

static int dup_optional(char **field, const char *value) {
        if (!value)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

int exchange_new(const ExchangeSettings *settings, Exchange **ret) {
        _cleanup_(exchange_freep) Exchange *e = NULL;
        char buffer[OUTPUT_MAX];
        int n;

        if (!IN_SET(settings->protocol, PROTOCOL_MQTT, PROTOCOL_WSS, PROTOCOL_HTTPS))
                return -EINVAL;

        e = calloc(1, sizeof(Exchange));
        if (!e)
                return -ENOMEM;
        e->protocol = settings->protocol;
        e->expect_accept = settings->expect_accept;
        if (settings->expect_status && proto_http_parse_expect(settings->expect_status, &e->expect_status) < 0)
                return -EINVAL;
        e->result = (ExchangeResult) { .http_status = -1, .connack = -1, .mqtt_version = -1 };
        e->path = strdup(settings->path ?: (settings->protocol == PROTOCOL_WSS ? "/mqtt" : "/"));
        if (!e->path || dup_optional(&e->username, settings->username) < 0 ||
            dup_optional(&e->password, settings->password) < 0)
                return -ENOMEM;

        if (settings->client_id)
                e->client_id = strdup(settings->client_id);
        else {
                unsigned char random[4];
                if (RAND_bytes(random, sizeof(random)) != 1)
                        return -EIO;
                (void) asprintf(&e->client_id, "tlswatch-%02x%02x%02x%02x", random[0], random[1], random[2],
                                random[3]);
        }
        if (!e->client_id)
                return -ENOMEM;
        e->mqtt = (MqttConnectOptions) {
                .version = settings->mqtt_version == MQTT_VERSION_5 ? MQTT_VERSION_5 : MQTT_VERSION_3_1_1,
                .client_id = e->client_id,
                .keep_alive_seconds = 30,
                .username = e->username,
                .password = e->password,
        };
        if (e->protocol != PROTOCOL_HTTPS)
                e->result.mqtt_version = e->mqtt.version;

        switch (e->protocol) {
        case PROTOCOL_HTTPS:
                e->input_capacity = PROTO_HTTP_HEAD_MAX;
                e->step = STEP_HTTP_RESPONSE;
                n = proto_http_build_get(settings->authority, e->path, buffer, sizeof(buffer));
                if (n < 0 || !queue(e, buffer, (size_t) n))
                        return -ENOBUFS;
                break;
        case PROTOCOL_WSS: {
                char key[25];
                /* Room for a whole head and a whole frame behind it. */
                e->input_capacity = PROTO_HTTP_HEAD_MAX + PROTO_WS_FRAME_MAX + 16;
                e->step = STEP_WS_UPGRADE;
                if (proto_ws_new_key(key) < 0 || proto_ws_accept_for_key(key, e->websocket_accept) < 0)
                        return -EIO;
                n = proto_ws_build_upgrade(settings->authority, e->path, key, buffer, sizeof(buffer));
                if (n < 0 || !queue(e, buffer, (size_t) n))
                        return -ENOBUFS;
                break;
        }
        default:
                e->input_capacity = MQTT_ANSWER_MAX;
                e->step = STEP_CONNACK;
                if (!queue_connect(e))
                        return -ENOBUFS;
        }

        e->input = malloc(e->input_capacity);
        if (!e->input)
                return -ENOMEM;
        *ret = TAKE_PTR(e);
        return 0;
}

Exchange *exchange_free(Exchange *e) {
        if (!e)
                return NULL;
        free(e->path);
        free(e->failure);
        free(e->client_id);
        free(e->username);
        if (e->password) {
                /* The password is a secret: do not leave it in freed memory. */
                OPENSSL_cleanse(e->password, strlen(e->password));
                free(e->password);
        }
        OPENSSL_cleanse(e->output, sizeof(e->output));
        free(e->input);
        free(e);
        return NULL;
}
