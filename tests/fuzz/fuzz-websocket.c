/* SPDX-License-Identifier: MIT */
/* Fuzzes the WebSocket side of the wss probe: the frame parser alone over the input, then the whole
 * exchange (upgrade answer, frames, CONNACK). The probe's key is random, so "@ACCEPT@" in the input
 * is replaced with the Sec-WebSocket-Accept this run's key needs: without it no input would get past
 * the handshake to the frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-exchange.h"
#include "fuzz.h"
#include "proto-mqtt.h"
#include "proto-ws.h"

#define PLACEHOLDER "@ACCEPT@"

/* The key in the upgrade request the exchange wants to send. */
static bool request_key(Exchange *e, char key[25]) {
        static const char header[] = "Sec-WebSocket-Key: ";
        const uint8_t *output;
        size_t n = exchange_output(e, &output);
        const char *start = memmem(output, n, header, strlen(header));

        if (!start || (size_t) (start - (const char *) output) + strlen(header) + 24 > n)
                return false;
        snprintf(key, 25, "%.24s", start + strlen(header));
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(exchange_freep) Exchange *e = NULL;
        _cleanup_free_ uint8_t *input = NULL;
        char key[25], accept[29];
        size_t input_length = 0;
        WsFrame frame;

        /* Frames back to back, as step_websocket_frames() takes them. */
        for (size_t offset = 0; offset < size;) {
                if (proto_ws_parse_frame(data + offset, size - offset, &frame) != 1)
                        break;
                offset += frame.frame_length;
        }

        ExchangeSettings settings = {
                .protocol = &protocol_wss,
                .authority = "broker.test:8084",
                .mqtt_version = size % 2 ? MQTT_VERSION_5 : MQTT_VERSION_3_1_1,
                .client_id = "tlswatch-fuzz",
                .expect_accept = true,
        };
        if (exchange_new(&settings, &e) < 0 || !request_key(e, key) || proto_ws_accept_for_key(key, accept) < 0)
                abort(); /* the exchange's own request is not fuzz input: this is a bug */

        /* Each placeholder grows by 20 bytes at most. */
        input = malloc(size + (size / strlen(PLACEHOLDER) + 1) * 28);
        if (!input)
                return 0;
        for (size_t i = 0; i < size;) {
                if (size - i >= strlen(PLACEHOLDER) && memcmp(data + i, PLACEHOLDER, strlen(PLACEHOLDER)) == 0) {
                        /* The accept value without its NUL: the input is bytes, not a string. */
                        memcpy(input + input_length, accept, sizeof(accept) - 1);
                        input_length += sizeof(accept) - 1;
                        i += strlen(PLACEHOLDER);
                } else
                        input[input_length++] = data[i++];
        }
        fuzz_exchange_feed(e, input, input_length);
        return 0;
}
