/* SPDX-License-Identifier: MIT */
/* Fuzzes the MQTT CONNACK parser, alone for both protocol versions and inside the mqtt exchange
 * (CONNECT sent, the broker's answer arriving in pieces). */
#include "fuzz-exchange.h"
#include "fuzz.h"
#include "proto-mqtt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (int version = MQTT_VERSION_3_1_1; version <= MQTT_VERSION_5; version++) {
                int code;

                if (proto_mqtt_parse_connack(data, size, version, &code) == 1) {
                        (void) proto_mqtt_connack_accepted(version, code);
                        (void) proto_mqtt_connack_reason(version, code);
                }

                ExchangeSettings settings = {
                        .protocol = &protocol_mqtt,
                        .authority = "broker.test:8883",
                        .mqtt_version = version,
                        .client_id = "tlswatch-fuzz",
                        .username = "fuzz",
                        .password = "secret",
                        .expect_accept = version == MQTT_VERSION_5,
                };
                fuzz_exchange_run(&settings, data, size);
        }
        return 0;
}
