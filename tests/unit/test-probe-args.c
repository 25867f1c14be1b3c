/* SPDX-License-Identifier: MIT */
/* The `tlswatchctl probe` command line: defaults, each option, and each usage error with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "probe-args.h"

#define PARSE(args, error, ...)                                                                 \
        ({                                                                                      \
                char *argv_[] = { "probe", __VA_ARGS__, NULL };                                 \
                probe_args_parse((int) ELEMENTSOF(argv_) - 1, argv_, (args), (error));          \
        })

static void test_defaults(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(PARSE(&args, &error, "broker.example.com"), 0);
        assert_null(error);
        assert_string_equal(args.probe.host, "broker.example.com");
        assert_int_equal(args.probe.port, 8883);
        assert_int_equal(args.probe.protocol, PROTOCOL_MQTT);
        assert_int_equal(args.probe.warn_days, 30);
        assert_int_equal(args.probe.crit_days, 7);
        assert_int_equal(args.probe.timeout_usec, 10 * 1000 * 1000ULL);
        assert_false(args.json);
        assert_null(args.probe.server_name);
        probe_args_clear(&args);
}

static void test_protocol_by_port(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(PARSE(&args, &error, "h:8084"), 0);
        assert_int_equal(args.probe.protocol, PROTOCOL_WSS);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "h:18084"), 0);
        assert_int_equal(args.probe.protocol, PROTOCOL_HTTPS);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "h:9999"), 0);
        assert_int_equal(args.probe.protocol, PROTOCOL_TLS);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "--protocol", "tls", "h:8883"), 0);
        assert_int_equal(args.probe.protocol, PROTOCOL_TLS);
        probe_args_clear(&args);
}

static void test_all_options(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(PARSE(&args, &error, "--servername", "broker.example.com", "--ca-file", "/ca.pem",
                               "--cert", "/c.pem", "--key", "/k.pem", "--warn-days", "20", "--crit-days", "5",
                               "--timeout", "2.5", "--json", "--path", "/dash", "[::1]:18084"),
                         0);
        assert_string_equal(args.probe.host, "::1");
        assert_int_equal(args.probe.port, 18084);
        assert_string_equal(args.probe.server_name, "broker.example.com");
        assert_string_equal(args.probe.ca_file, "/ca.pem");
        assert_string_equal(args.probe.cert_file, "/c.pem");
        assert_string_equal(args.probe.key_file, "/k.pem");
        assert_string_equal(args.probe.path, "/dash");
        assert_int_equal(args.probe.warn_days, 20);
        assert_int_equal(args.probe.crit_days, 5);
        assert_int_equal(args.probe.timeout_usec, 2500000);
        assert_true(args.json);
        probe_args_clear(&args);
}

static void expect_error(char **argv, int argc, const char *fragment) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(probe_args_parse(argc, argv, &args, &error), -EINVAL);
        assert_non_null(error);
        if (!strstr(error, fragment))
                fail_msg("error \"%s\" lacks \"%s\"", error, fragment);
        assert_null(strchr(error, '\n'));
        free(error);
}

#define EXPECT_ERROR(fragment, ...)                                                             \
        do {                                                                                    \
                char *argv_[] = { "probe", __VA_ARGS__, NULL };                                 \
                expect_error(argv_, (int) ELEMENTSOF(argv_) - 1, (fragment));                   \
        } while (0)

static void test_errors(void **state) {
        EXPECT_ERROR("empty", "");
        EXPECT_ERROR("brackets", "::1");
        EXPECT_ERROR("65535", "h:70000");
        EXPECT_ERROR("needs a target", "--json");
        EXPECT_ERROR("one target", "a", "b");
        EXPECT_ERROR("--protocol", "--protocol", "smtp", "h");
        EXPECT_ERROR("--timeout", "--timeout", "0", "h");
        EXPECT_ERROR("--timeout", "--timeout", "abc", "h");
        EXPECT_ERROR("--warn-days", "--warn-days", "-3", "h");
        EXPECT_ERROR("--crit-days", "--crit-days", "40", "h");
        EXPECT_ERROR("go together", "--cert", "c.pem", "h");
        EXPECT_ERROR("unknown option", "--bogus", "h");
        EXPECT_ERROR("needs a value", "h", "--ca-file");
        EXPECT_ERROR("'/'", "--path", "mqtt", "h");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_protocol_by_port),
                cmocka_unit_test(test_all_options),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
