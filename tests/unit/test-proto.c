/* SPDX-License-Identifier: MIT */
/* The MQTT and HTTP pieces of the protocol exchange, byte for byte against the specifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "proto-http.h"
#include "proto-mqtt.h"

static void test_mqtt_connect(void **state) {
        uint8_t buffer[64];
        /* MQTT 3.1.1 §3.1: fixed header 0x10, remaining length, "MQTT", level 4, clean session,
         * keep alive 10, client id "tlswatch-1". */
        static const uint8_t expected[] = { 0x10, 22, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, 10,
                                            't', 'l', 's', 'w', 'a', 't', 'c', 'h', '-', '1' };

        MqttConnectOptions options = { .version = MQTT_VERSION_3_1_1, .client_id = "tlswatch-1", .keep_alive_seconds = 10 };

        assert_int_equal(proto_mqtt_build_connect(&options, buffer, sizeof(buffer)), sizeof(expected));
        assert_memory_equal(buffer, expected, sizeof(expected));
        assert_int_equal(proto_mqtt_build_connect(&options, buffer, 10), -ENOBUFS);
}

static void test_mqtt_connack(void **state) {
        static const uint8_t accepted[] = { 0x20, 0x02, 0x00, 0x00 };
        static const uint8_t refused[] = { 0x20, 0x02, 0x00, 0x05 };
        static const uint8_t http[] = "HTTP/1.1 400";
        static const uint8_t huge[] = { 0x20, 0xff, 0xff, 0xff, 0x7f };
        int code = -1;

        assert_int_equal(proto_mqtt_parse_connack(accepted, 0, 4, &code), 0);
        assert_int_equal(proto_mqtt_parse_connack(accepted, 3, 4, &code), 0);
        assert_int_equal(proto_mqtt_parse_connack(accepted, 4, 4, &code), 1);
        assert_int_equal(code, 0);
        assert_int_equal(proto_mqtt_parse_connack(refused, 4, 4, &code), 1);
        assert_int_equal(code, 5);
        assert_string_equal(proto_mqtt_connack_reason(4, 5), "not authorised");
        assert_string_equal(proto_mqtt_connack_reason(4, 77), "unknown return code");
        assert_int_equal(proto_mqtt_parse_connack(http, 1, 4, &code), -EBADMSG);
        /* A remaining length of 268,435,455 (the 4-byte maximum) is no CONNACK, in either version. */
        assert_int_equal(proto_mqtt_parse_connack(huge, sizeof(huge), 4, &code), -EBADMSG);
        assert_int_equal(proto_mqtt_parse_connack(huge, sizeof(huge), 5, &code), -EBADMSG);
}

static void test_http(void **state) {
        char buffer[256];
        int status = 0;

        assert_true(proto_http_build_get("broker", "/", buffer, sizeof(buffer)) > 0);
        assert_non_null(strstr(buffer, "GET / HTTP/1.1\r\nHost: broker\r\n"));
        assert_non_null(strstr(buffer, "\r\n\r\n"));
        assert_int_equal(proto_http_build_get("broker", "/", buffer, 8), -ENOBUFS);

        assert_int_equal(proto_http_parse_status_line("HTTP/1.1 200 OK\r\n", 17, &status), 1);
        assert_int_equal(status, 200);
        assert_int_equal(proto_http_parse_status_line("HTTP/1.0 502", 12, &status), 1);
        assert_int_equal(status, 502);
        assert_int_equal(proto_http_parse_status_line("HTTP/1.1 2", 10, &status), 0);
        assert_int_equal(proto_http_parse_status_line("HTT", 3, &status), 0);
        assert_int_equal(proto_http_parse_status_line("\x20\x02", 2, &status), -EBADMSG);
        assert_int_equal(proto_http_parse_status_line("HTTP/2 200 ", 11, &status), -EBADMSG);
        assert_int_equal(proto_http_parse_status_line("HTTP/1.1 abc", 12, &status), -EBADMSG);
        assert_int_equal(proto_http_parse_status_line("HTTP/1.1 099", 12, &status), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mqtt_connect),
                cmocka_unit_test(test_mqtt_connack),
                cmocka_unit_test(test_http),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
