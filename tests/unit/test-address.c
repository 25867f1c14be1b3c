/* SPDX-License-Identifier: MIT */
/* host[:port] parsing: names, IPv4, bracketed IPv6, and every malformed form an operator may type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "address-util.h"

static void expect_ok(const char *text, const char *host, uint16_t port) {
        char *parsed = NULL;
        const char *reason = NULL;
        uint16_t parsed_port = 0;

        assert_int_equal(parse_host_port(text, 8883, &parsed, &parsed_port, &reason), 0);
        assert_string_equal(parsed, host);
        assert_int_equal(parsed_port, port);
        free(parsed);
}

static void expect_invalid(const char *text) {
        char *parsed = NULL;
        const char *reason = NULL;
        uint16_t port = 0;

        assert_int_equal(parse_host_port(text, 8883, &parsed, &port, &reason), -EINVAL);
        assert_null(parsed);
        assert_non_null(reason);
}

static void test_valid(void **state) {
        expect_ok("broker.example.com:8084", "broker.example.com", 8084);
        expect_ok("broker.example.com", "broker.example.com", 8883);
        expect_ok("127.0.0.1:18084", "127.0.0.1", 18084);
        expect_ok("[::1]:8883", "::1", 8883);
        expect_ok("[2001:db8::1]", "2001:db8::1", 8883);
        expect_ok("h:1", "h", 1);
        expect_ok("h:65535", "h", 65535);
}

static void test_invalid(void **state) {
        expect_invalid("");
        expect_invalid(NULL);
        expect_invalid(":8883");
        expect_invalid("::1");
        expect_invalid("2001:db8::1:8883");
        expect_invalid("[::1");
        expect_invalid("[]:8883");
        expect_invalid("[::1]8883");
        expect_invalid("[127.0.0.1]:8883");
        expect_invalid("host:0");
        expect_invalid("host:65536");
        expect_invalid("host:70000");
        expect_invalid("host:-1");
        expect_invalid("host:");
        expect_invalid("host:88a");
        expect_invalid("host name:8883");
        expect_invalid("user@host:8883");
        expect_invalid("host/path");
}

static void test_port_required(void **state) {
        char *host = NULL;
        const char *reason = NULL;
        uint16_t port = 0;

        assert_int_equal(parse_host_port("host", 0, &host, &port, &reason), -EINVAL);
        assert_int_equal(parse_host_port("host:1", 0, &host, &port, &reason), 0);
        free(host);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_port_required),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
