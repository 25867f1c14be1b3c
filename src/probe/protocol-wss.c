/* SPDX-License-Identifier: MIT */
/* wss: MQTT over WebSocket over TLS. Upgrade -> 101 (RFC 6455 §4) -> CONNECT in a binary frame ->
 * CONNACK out of the frames -> DISCONNECT and a close frame (RFC 6455 §5.5.1). The frames and the
 * upgrade are proto-ws.c's, the MQTT session protocol-mqtt.c's. */
#include <assert.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto-http.h"
#include "proto-ws.h"
#include "protocol-mqtt.h"

#define MQTT_ANSWER_MAX (16 * 1024)

typedef enum WssState {
        WSS_UPGRADE, /* waiting for 101 Switching Protocols */
        WSS_CONNACK, /* waiting for the CONNACK, in frames */
} WssState;

typedef struct Wss {
        WssState state;
        MqttSession mqtt;
        char websocket_accept[29]; /* what the server must answer */
        uint8_t mqtt_answer[MQTT_ANSWER_MAX]; /* MQTT bytes out of the frames */
        size_t mqtt_answer_length;
} Wss;

static bool queue_frame(Exchange *e, uint8_t opcode, const uint8_t *payload, size_t n) {
        uint8_t mask[4];
        size_t room;
        int length;

        if (RAND_bytes(mask, sizeof(mask)) != 1)
                return false;
        uint8_t *out = exchange_output_room(e, &room); /* before `room` is read */
        length = proto_ws_build_frame(opcode, payload, n, mask, out, room);
        if (length < 0)
                return false;
        exchange_queued(e, (size_t) length);
        return true;
}

static int wss_start(Exchange *e, void *state, const ExchangeSettings *settings) {
        Wss *w = state;
        char buffer[4096], key[25];
        int r, n;

        r = mqtt_session_init(&w->mqtt, settings, exchange_result_mut(e));
        if (r < 0)
                return r;
        w->state = WSS_UPGRADE;
        if (proto_ws_new_key(key) < 0 || proto_ws_accept_for_key(key, w->websocket_accept) < 0)
                return -EIO;
        n = proto_ws_build_upgrade(settings->authority, exchange_path(e), key, buffer, sizeof(buffer));
        if (n < 0 || !exchange_queue(e, buffer, (size_t) n))
                return -ENOBUFS;
        return 0;
}

static ExchangeStatus wss_judge(Wss *w, Exchange *e) {
        ExchangeStatus status = mqtt_session_judge(&w->mqtt, e, w->mqtt_answer, w->mqtt_answer_length, "");

        if (status == EXCHANGE_SUCCEEDED) {
                static const uint8_t normal_closure[2] = { 0x03, 0xe8 }; /* 1000, RFC 6455 §7.4.1 */
                (void) queue_frame(e, PROTO_WS_OPCODE_BINARY, proto_mqtt_disconnect, sizeof(proto_mqtt_disconnect));
                (void) queue_frame(e, PROTO_WS_OPCODE_CLOSE, normal_closure, sizeof(normal_closure));
        }
        return status;
}

static ExchangeStatus wss_upgrade(Wss *w, Exchange *e) {
        const char *path = exchange_path(e);
        HttpResponseHead head;
        uint8_t packet[4096];
        size_t n;
        const uint8_t *input = exchange_input_data(e, &n);
        int r = proto_http_parse_head((const char *) input, n, &head);

        if (r == 0)
                return EXCHANGE_RUNNING;
        if (r == -E2BIG)
                return exchange_fail(e, "the WebSocket handshake answer is larger than %d KiB",
                                     PROTO_HTTP_HEAD_MAX / 1024);
        if (r < 0)
                return exchange_fail(e, "the answer to the WebSocket upgrade is not HTTP: is this port a WebSocket listener?");

        ExchangeResult *result = exchange_result_mut(e);
        result->http_status = head.status;
        if (head.status == 404)
                return exchange_fail(e, "HTTP 404 on %s: wrong WebSocket path?", path);
        if (head.status != 101)
                return exchange_fail(e, "HTTP %d on %s: expected 101 Switching Protocols to a WebSocket upgrade",
                                     head.status, path);
        if (strcasecmp(head.upgrade, "websocket") != 0)
                return exchange_fail(e, "the 101 answer on %s does not upgrade to websocket", path);
        if (strcmp(head.websocket_accept, w->websocket_accept) != 0)
                return exchange_fail(e, "wrong Sec-WebSocket-Accept on %s: \"%s\", expected \"%s\"", path,
                                     head.websocket_accept, w->websocket_accept);
        snprintf(result->websocket_protocol, sizeof(result->websocket_protocol), "%s", head.websocket_protocol);
        if (strcmp(head.websocket_protocol, "mqtt") != 0)
                return exchange_fail(e, "the WebSocket listener on %s did not choose the \"mqtt\" subprotocol%s%s",
                                     path, head.websocket_protocol[0] ? ", it chose " : "", head.websocket_protocol);

        exchange_consume(e, head.length);
        r = mqtt_session_connect(&w->mqtt, packet, sizeof(packet));
        if (r < 0 || !queue_frame(e, PROTO_WS_OPCODE_BINARY, packet, (size_t) r))
                return exchange_fail(e, "cannot encode the MQTT CONNECT");
        w->state = WSS_CONNACK;
        return EXCHANGE_RUNNING;
}

/* Takes complete frames out of the input and collects their MQTT bytes. */
static ExchangeStatus wss_frames(Wss *w, Exchange *e) {
        for (;;) {
                WsFrame frame;
                size_t n;
                const uint8_t *input = exchange_input_data(e, &n);
                int r = proto_ws_parse_frame(input, n, &frame);

                if (r == 0)
                        return wss_judge(w, e);
                if (r == -E2BIG)
                        return exchange_fail(e, "a WebSocket frame larger than %d KiB", PROTO_WS_FRAME_MAX / 1024);
                if (r < 0)
                        return exchange_fail(e, "an invalid WebSocket frame from the listener");

                switch (frame.opcode) {
                case PROTO_WS_OPCODE_BINARY:
                case PROTO_WS_OPCODE_CONTINUATION: {
                        /* A CONNACK is decided by its first bytes; keep what fits and judge. */
                        size_t room = sizeof(w->mqtt_answer) - w->mqtt_answer_length;
                        size_t take = MIN(room, frame.payload_length);
                        memcpy(w->mqtt_answer + w->mqtt_answer_length, frame.payload, take);
                        w->mqtt_answer_length += take;
                        if (take < frame.payload_length) {
                                ExchangeStatus status = wss_judge(w, e);
                                if (status != EXCHANGE_RUNNING)
                                        return status;
                                return exchange_fail(e, "more than %d KiB of MQTT data without a CONNACK",
                                                     MQTT_ANSWER_MAX / 1024);
                        }
                        break;
                }
                case PROTO_WS_OPCODE_CLOSE:
                        return exchange_fail(e, "the listener closed the WebSocket before sending a CONNACK");
                case PROTO_WS_OPCODE_TEXT:
                        return exchange_fail(e, "a text WebSocket frame where MQTT needs binary frames");
                default:
                        break; /* ping and pong: we leave soon, no need to answer */
                }
                exchange_consume(e, frame.frame_length);

                ExchangeStatus status = wss_judge(w, e);
                if (status != EXCHANGE_RUNNING)
                        return status;
        }
}

static ExchangeStatus wss_advance(Exchange *e, void *state) {
        Wss *w = state;

        switch (w->state) {
        case WSS_UPGRADE: {
                ExchangeStatus status = wss_upgrade(w, e);
                if (status != EXCHANGE_RUNNING || w->state != WSS_CONNACK)
                        return status;
                /* The broker may have sent the CONNACK right behind the 101. */
                return wss_frames(w, e);
        }
        case WSS_CONNACK:
                return wss_frames(w, e);
        }
        assert(false);
        return EXCHANGE_FAILED;
}

static const char *wss_closed(const void *state) {
        const Wss *w = state;

        if (w->state == WSS_UPGRADE)
                return "the listener closed the connection without answering the WebSocket upgrade";
        return "the listener closed the connection without answering the MQTT CONNECT";
}

static void wss_done(void *state) {
        Wss *w = state;
        mqtt_session_done(&w->mqtt);
}

const Protocol protocol_wss = {
        .name = "wss",
        .ports = { 8084 },
        .default_path = "/mqtt",
        .state_size = sizeof(Wss),
        /* Room for a whole head and a whole frame behind it. */
        .input_max = PROTO_HTTP_HEAD_MAX + PROTO_WS_FRAME_MAX + 16,
        .start = wss_start,
        .advance = wss_advance,
        .closed = wss_closed,
        .done = wss_done,
        .describe = mqtt_session_describe,
};
