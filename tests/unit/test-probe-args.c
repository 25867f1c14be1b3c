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
        assert_ptr_equal(args.probe.protocol, &protocol_mqtt);
        assert_int_equal(args.probe.warn_days, 30);
        assert_int_equal(args.probe.crit_days, 7);
        assert_int_equal(args.probe.timeout_usec, 10 * 1000 * 1000ULL);
        assert_false(args.json);
        assert_null(args.probe.server_name);
        assert_null(args.probe.groups); /* OpenSSL's default groups */
        assert_int_equal(args.probe.name_only_in_cn, SEVERITY_CHOICE_DEFAULT);
        assert_int_equal(args.probe.revocation, REVOCATION_MODE_OFF);
        probe_args_clear(&args);
}

static void test_groups_and_cn(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(
                PARSE(&args, &error, "--groups", "X25519,P-256", "--name-only-in-cn", "critical", "h"), 0);
        assert_null(error);
        assert_string_equal(args.probe.groups, "X25519:P-256");
        assert_int_equal(args.probe.name_only_in_cn, SEVERITY_CHOICE_CRITICAL);
        probe_args_clear(&args);

        /* The last one given counts, as for every option. */
        assert_int_equal(PARSE(&args, &error, "--groups", "P-384", "--groups", "P-521", "--name-only-in-cn",
                               "note", "h"),
                         0);
        assert_string_equal(args.probe.groups, "P-521");
        assert_int_equal(args.probe.name_only_in_cn, SEVERITY_CHOICE_NOTE);
        probe_args_clear(&args);
}

static void test_revocation(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(PARSE(&args, &error, "--crl", "h"), 0);
        assert_int_equal(args.probe.revocation, REVOCATION_MODE_CRL);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "--revocation", "crl-warn", "h"), 0);
        assert_int_equal(args.probe.revocation, REVOCATION_MODE_CRL_WARN);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "--crl", "--revocation=off", "h"), 0);
        assert_int_equal(args.probe.revocation, REVOCATION_MODE_OFF);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "--revocation", "ocsp", "h"), -EINVAL);
        assert_string_equal(error, "--revocation: \"ocsp\" is not a revocation mode (off, crl or crl-warn)");
        free(error);
}

static void test_protocol_by_port(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(PARSE(&args, &error, "h:8084"), 0);
        assert_ptr_equal(args.probe.protocol, &protocol_wss);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "h:18084"), 0);
        assert_ptr_equal(args.probe.protocol, &protocol_https);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "h:9999"), 0);
        assert_ptr_equal(args.probe.protocol, &protocol_tls);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "--protocol", "tls", "h:8883"), 0);
        assert_ptr_equal(args.probe.protocol, &protocol_tls);
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

/* The options every Nagios plugin has, as a check command written for check_tcp passes them. */
static void test_plugin_options(void **state) {
        ProbeArgs args;
        char *error = NULL;

        assert_int_equal(PARSE(&args, &error, "-H", "broker.example.com", "-p", "18883", "-w", "30", "-c",
                               "7", "-t", "10"),
                         0);
        assert_null(error);
        assert_string_equal(args.probe.host, "broker.example.com");
        assert_int_equal(args.probe.port, 18883);
        assert_int_equal(args.probe.warn_days, 30);
        assert_int_equal(args.probe.crit_days, 7);
        assert_int_equal(args.probe.timeout_usec, 10 * 1000 * 1000ULL);
        assert_false(args.version);
        assert_int_equal(args.verbose, 0);
        probe_args_clear(&args);

        /* Glued values, long forms, the default port, -v twice. */
        assert_int_equal(PARSE(&args, &error, "-Hh", "-w40", "-c10", "-t2.5", "-v", "-v"), 0);
        assert_string_equal(args.probe.host, "h");
        assert_int_equal(args.probe.port, 8883);
        assert_int_equal(args.probe.warn_days, 40);
        assert_int_equal(args.probe.crit_days, 10);
        assert_int_equal(args.probe.timeout_usec, 2500000);
        assert_int_equal(args.verbose, 2);
        probe_args_clear(&args);

        assert_int_equal(PARSE(&args, &error, "--host", "h", "--port", "8084"), 0);
        assert_int_equal(args.probe.port, 8084);
        assert_ptr_equal(args.probe.protocol, &protocol_wss); /* -p implies the protocol as :PORT does */
        probe_args_clear(&args);

        /* IPv6 literals as plugins take them: bare, or in brackets. */
        assert_int_equal(PARSE(&args, &error, "-H", "::1", "-p", "8883"), 0);
        assert_string_equal(args.probe.host, "::1");
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "-H", "[2001:db8::1]"), 0);
        assert_string_equal(args.probe.host, "2001:db8::1");
        probe_args_clear(&args);

        /* -p beside a positional host without a port. */
        assert_int_equal(PARSE(&args, &error, "-p", "9999", "h"), 0);
        assert_string_equal(args.probe.host, "h");
        assert_int_equal(args.probe.port, 9999);
        probe_args_clear(&args);

        /* -V and -h need no target. */
        assert_int_equal(PARSE(&args, &error, "-V"), 0);
        assert_true(args.version);
        probe_args_clear(&args);
        assert_int_equal(PARSE(&args, &error, "-h"), 0);
        assert_true(args.help);
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
        EXPECT_ERROR("-w: \"x\"", "-w", "x", "h");
        EXPECT_ERROR("-c: \"-1\"", "-c", "-1", "h");
        EXPECT_ERROR("-t: \"0\"", "-t", "0", "h");
        EXPECT_ERROR("-p: \"0\"", "-p", "0", "h");
        EXPECT_ERROR("-p: \"http\"", "-H", "h", "-p", "http");
        EXPECT_ERROR("with -p", "-H", "h:8883");
        EXPECT_ERROR("with -p", "-H", "[::1]:8883");
        EXPECT_ERROR("not an IPv6", "-H", "1:2:x");
        EXPECT_ERROR("not both", "-H", "h", "other");
        EXPECT_ERROR("give the port once", "-p", "1", "h:2");
        EXPECT_ERROR("-H HOST", "-p", "1");
        EXPECT_ERROR("needs a value", "h", "-w");
        /* -w below -c is the validator's: named in the long vocabulary it shares with the config. */
        EXPECT_ERROR("crit-days", "-w", "5", "-c", "7", "h");
        EXPECT_ERROR("--groups: \"P-257\" is not a key-exchange group this OpenSSL", "--groups",
                     "X25519:P-257", "h");
        EXPECT_ERROR("--groups: the list of groups is empty", "--groups", "", "h");
        EXPECT_ERROR("--groups: \"X25519\" is listed twice", "--groups", "X25519:X25519", "h");
        EXPECT_ERROR("needs a value", "h", "--groups");
        EXPECT_ERROR("--name-only-in-cn: \"info\" is not one of note, warning, critical",
                     "--name-only-in-cn", "info", "h");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),      cmocka_unit_test(test_protocol_by_port),
                cmocka_unit_test(test_all_options),   cmocka_unit_test(test_plugin_options),
                cmocka_unit_test(test_groups_and_cn), cmocka_unit_test(test_errors),
                cmocka_unit_test(test_revocation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
