/* SPDX-License-Identifier: MIT */
/* The control protocol's request parser: every command with and without its member (a target, a
 * webhook's name), and every way a request can be wrong, each answered with the exact sentence
 * tlswatchctl prints; plus the command table and which commands are privileged, since the server's
 * permission check rests on them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-request.h"
#include "macro.h"

/* Parses `text` (its strlen) and expects success with `command` and `target` (NULL: none). */
static void parse_ok_at(const char *text, ControlCommand command, const char *target, const char *file,
                        int line) {
        ControlRequest request = { .command = _CONTROL_COMMAND_INVALID };
        char *error = NULL;
        int r;

        r = control_request_parse(text, strlen(text), &request, &error);
        if (r < 0)
                print_error("unexpected error for %s: %s\n", text, error ?: "(no message)");
        _assert_int_equal(r, 0, file, line);
        _assert_true(!error, "no error message on success", file, line);
        _assert_int_equal(request.command, command, file, line);
        if (target) {
                _assert_true(!!request.target, "target set", file, line);
                _assert_string_equal(request.target, target, file, line);
        } else
                _assert_true(!request.target, "no target", file, line);
        control_request_clear(&request);
}
#define parse_ok(text, command, target) parse_ok_at(text, command, target, __FILE__, __LINE__)

/* Parses `length` bytes of `text` and expects -EBADMSG with exactly `expected`, or, when `expected`
 * ends in '*', with a message that starts with what comes before it. The request is left alone. */
static void parse_error_n_at(const char *text, size_t length, const char *expected, const char *file,
                             int line) {
        ControlRequest request = { .command = CONTROL_METRICS, .target = NULL };
        _cleanup_free_ char *error = NULL;
        size_t n = strlen(expected);
        int r;

        r = control_request_parse(text, length, &request, &error);
        _assert_int_equal(r, -EBADMSG, file, line);
        _assert_true(!!error, "error message set", file, line);
        if (n > 0 && expected[n - 1] == '*') {
                if (strncmp(error, expected, n - 1) != 0)
                        print_error("error \"%s\" does not start with \"%.*s\"\n", error, (int) n - 1,
                                    expected);
                _assert_true(strncmp(error, expected, n - 1) == 0, "error prefix", file, line);
        } else
                _assert_string_equal(error, expected, file, line);
        /* A failed parse hands nothing over. */
        _assert_int_equal(request.command, CONTROL_METRICS, file, line);
        _assert_true(!request.target, "no target handed over", file, line);
}
#define parse_error_n(text, length, expected) parse_error_n_at(text, length, expected, __FILE__, __LINE__)
#define parse_error(text, expected) parse_error_n_at(text, strlen(text), expected, __FILE__, __LINE__)

#define NOT_AN_OBJECT "a request is a JSON object, e.g. {\"command\":\"status\"}"
#define NO_COMMAND "the request has no \"command\" string"
#define BAD_TARGET "\"target\" must be a target's name"
#define BAD_NAME "\"name\" must be a webhook's name"
#define UNKNOWN(name) "unknown command \"" name "\" (status, check, reload, metrics, webhooks, webhook-test)"

/* ---- every command -------------------------------------------------------------------------- */

static void test_every_command(void **state) {
        parse_ok("{\"command\":\"status\"}", CONTROL_STATUS, NULL);
        parse_ok("{\"command\":\"metrics\"}", CONTROL_METRICS, NULL);
        parse_ok("{\"command\":\"check\"}", CONTROL_CHECK, NULL);
        parse_ok("{\"command\":\"reload\"}", CONTROL_RELOAD, NULL);
        parse_ok("{\"command\":\"webhooks\"}", CONTROL_WEBHOOKS, NULL);
        parse_ok("{\"command\":\"webhook-test\",\"name\":\"ops\"}", CONTROL_WEBHOOK_TEST, "ops");
}

static void test_whitespace_allowed(void **state) {
        /* What json.dumps() with indent or a person with socat might send, and a CR from a Windows
         * terminal: JSON whitespace, so not an error. */
        parse_ok("  {\n \"command\" : \"status\" \t}\r", CONTROL_STATUS, NULL);
        parse_ok("{\"command\": \"check\", \"target\": \"emqx-mqtts\"}", CONTROL_CHECK, "emqx-mqtts");
}

static void test_target_member(void **state) {
        parse_ok("{\"command\":\"status\",\"target\":\"emqx-mqtts\"}", CONTROL_STATUS, "emqx-mqtts");
        parse_ok("{\"command\":\"check\",\"target\":\"emqx-mqtts\"}", CONTROL_CHECK, "emqx-mqtts");
        /* Member order does not matter. */
        parse_ok("{\"target\":\"b.example:8883\",\"command\":\"check\"}", CONTROL_CHECK, "b.example:8883");
        /* The parser does not judge names: an unknown one is the handler's "no target" answer. */
        parse_ok("{\"command\":\"status\",\"target\":\"no such target\"}", CONTROL_STATUS, "no such target");
        parse_ok("{\"command\":\"status\",\"target\":\"caf\\u00e9\"}", CONTROL_STATUS, "caf\xc3\xa9");
}

static void test_target_length_bounds(void **state) {
        char name[258], text[400];

        memset(name, 'a', 256);
        name[256] = '\0';
        snprintf(text, sizeof(text), "{\"command\":\"status\",\"target\":\"%s\"}", name);
        parse_ok(text, CONTROL_STATUS, name);

        memset(name, 'a', 257);
        name[257] = '\0';
        snprintf(text, sizeof(text), "{\"command\":\"check\",\"target\":\"%s\"}", name);
        parse_error(text, BAD_TARGET);

        parse_error("{\"command\":\"status\",\"target\":\"\"}", BAD_TARGET);
        parse_error("{\"command\":\"check\",\"target\":\"\"}", BAD_TARGET);
}

/* ---- what is refused -------------------------------------------------------------------------- */

static void test_target_not_taken(void **state) {
        parse_error("{\"command\":\"metrics\",\"target\":\"emqx-mqtts\"}",
                    "\"metrics\" takes no member \"target\"");
        parse_error("{\"command\":\"reload\",\"target\":\"emqx-mqtts\"}",
                    "\"reload\" takes no member \"target\"");
        parse_error("{\"command\":\"webhooks\",\"target\":\"emqx-mqtts\"}",
                    "\"webhooks\" takes no member \"target\"");
        parse_error("{\"command\":\"webhook-test\",\"name\":\"ops\",\"target\":\"a\"}",
                    "\"webhook-test\" takes no member \"target\"");
        /* "name" belongs to webhook-test alone. */
        parse_error("{\"command\":\"status\",\"name\":\"ops\"}", "\"status\" takes no member \"name\"");
        parse_error("{\"command\":\"check\",\"name\":\"ops\"}", "\"check\" takes no member \"name\"");
        parse_error("{\"command\":\"webhooks\",\"name\":\"ops\"}", "\"webhooks\" takes no member \"name\"");
}

static void test_webhook_name(void **state) {
        char name[258], text[400];

        parse_error("{\"command\":\"webhook-test\"}", "\"webhook-test\" needs a \"name\"");
        parse_error("{\"command\":\"webhook-test\",\"name\":\"\"}", BAD_NAME);
        parse_error("{\"command\":\"webhook-test\",\"name\":1}", BAD_NAME);
        parse_error("{\"command\":\"webhook-test\",\"name\":null}", BAD_NAME);
        parse_error("{\"command\":\"webhook-test\",\"name\":[\"ops\"]}", BAD_NAME);
        parse_error("{\"command\":\"webhook-test\",\"name\":\"a\",\"name\":\"b\"}",
                    "invalid JSON: duplicate object key*");

        memset(name, 'w', 256);
        name[256] = '\0';
        snprintf(text, sizeof(text), "{\"command\":\"webhook-test\",\"name\":\"%s\"}", name);
        parse_ok(text, CONTROL_WEBHOOK_TEST, name);
        memset(name, 'w', 257);
        name[257] = '\0';
        snprintf(text, sizeof(text), "{\"command\":\"webhook-test\",\"name\":\"%s\"}", name);
        parse_error(text, BAD_NAME);
}

static void test_unknown_command(void **state) {
        char name[200], text[300], expected[300];

        parse_error("{\"command\":\"stop\"}", UNKNOWN("stop"));
        parse_error("{\"command\":\"\"}", UNKNOWN(""));
        /* Names are case-sensitive, and the table has no aliases. */
        parse_error("{\"command\":\"Status\"}", UNKNOWN("Status"));
        parse_error("{\"command\":\"probe\"}", UNKNOWN("probe"));
        parse_error("{\"command\":\"webhook_test\"}", UNKNOWN("webhook_test"));
        /* An unknown command is reported before its members are looked at. */
        parse_error("{\"command\":\"stop\",\"now\":true}", UNKNOWN("stop"));

        /* A long name is cut to 64 characters in the answer. */
        memset(name, 'x', 150);
        name[150] = '\0';
        snprintf(text, sizeof(text), "{\"command\":\"%s\"}", name);
        snprintf(expected, sizeof(expected), UNKNOWN("%.64s"), name);
        parse_error(text, expected);
}

static void test_unknown_member(void **state) {
        char name[200], text[300], expected[300];

        parse_error("{\"command\":\"status\",\"verbose\":true}", "\"status\" takes no member \"verbose\"");
        parse_error("{\"command\":\"check\",\"target\":\"a\",\"all\":true}",
                    "\"check\" takes no member \"all\"");
        parse_error("{\"command\":\"metrics\",\"format\":\"openmetrics\"}",
                    "\"metrics\" takes no member \"format\"");
        parse_error("{\"command\":\"reload\",\"\":1}", "\"reload\" takes no member \"\"");
        /* Members are case-sensitive too. */
        parse_error("{\"command\":\"status\",\"Target\":\"a\"}", "\"status\" takes no member \"Target\"");

        memset(name, 'm', 100);
        name[100] = '\0';
        snprintf(text, sizeof(text), "{\"command\":\"status\",\"%s\":1}", name);
        snprintf(expected, sizeof(expected), "\"status\" takes no member \"%.64s\"", name);
        parse_error(text, expected);
}

static void test_wrong_types(void **state) {
        parse_error("{}", NO_COMMAND);
        parse_error("{\"target\":\"a\"}", NO_COMMAND);
        parse_error("{\"command\":1}", NO_COMMAND);
        parse_error("{\"command\":null}", NO_COMMAND);
        parse_error("{\"command\":true}", NO_COMMAND);
        parse_error("{\"command\":[\"status\"]}", NO_COMMAND);
        parse_error("{\"command\":{\"name\":\"status\"}}", NO_COMMAND);

        parse_error("{\"command\":\"status\",\"target\":1}", BAD_TARGET);
        parse_error("{\"command\":\"status\",\"target\":null}", BAD_TARGET);
        parse_error("{\"command\":\"check\",\"target\":false}", BAD_TARGET);
        parse_error("{\"command\":\"check\",\"target\":[\"a\"]}", BAD_TARGET);
        parse_error("{\"command\":\"check\",\"target\":{\"name\":\"a\"}}", BAD_TARGET);
}

static void test_duplicates(void **state) {
        /* With duplicates allowed, the last "command" would win: {"command":"status","command":"reload"}
         * must not sneak a reload past a log line or a proxy that read the first one. */
        parse_error("{\"command\":\"status\",\"command\":\"reload\"}",
                    "invalid JSON: duplicate object key*");
        parse_error("{\"command\":\"status\",\"command\":\"status\"}",
                    "invalid JSON: duplicate object key*");
        parse_error("{\"command\":\"check\",\"target\":\"a\",\"target\":\"b\"}",
                    "invalid JSON: duplicate object key*");
}

static void test_not_an_object(void **state) {
        parse_error("[]", NOT_AN_OBJECT);
        parse_error("[{\"command\":\"status\"}]", NOT_AN_OBJECT);
        parse_error("[\"command\",\"status\"]", NOT_AN_OBJECT);
        /* jansson decodes only an object or an array at the top, so a bare value is not even JSON to it. */
        parse_error("\"status\"", "invalid JSON: '[' or '{' expected*");
        parse_error("1", "invalid JSON: '[' or '{' expected*");
        parse_error("null", "invalid JSON: '[' or '{' expected*");
        parse_error("true", "invalid JSON: '[' or '{' expected*");
}

static void test_invalid_json(void **state) {
        parse_error("", "invalid JSON: *");
        parse_error("   ", "invalid JSON: *");
        parse_error("status", "invalid JSON: *");
        parse_error("{", "invalid JSON: *");
        parse_error("{\"command\":\"status\"", "invalid JSON: *");
        parse_error("{\"command\":\"status\",}", "invalid JSON: *");
        parse_error("{command:\"status\"}", "invalid JSON: *");
        parse_error("{'command':'status'}", "invalid JSON: *");
        /* Two documents on one line: the second is not silently ignored. */
        parse_error("{\"command\":\"status\"}{\"command\":\"reload\"}", "invalid JSON: *");
        parse_error("{\"command\":\"status\"} x", "invalid JSON: *");
        /* NUL, escaped or raw, and bytes that are not UTF-8. */
        parse_error("{\"command\":\"status\",\"target\":\"a\\u0000b\"}", "invalid JSON: *");
        parse_error_n("{\"command\":\"status\"}\0", 21, "invalid JSON: *");
        parse_error_n("{\"command\":\"sta\0tus\"}", 21, "invalid JSON: *");
        parse_error("{\"command\":\"status\",\"target\":\"\xff\xfe\"}", "invalid JSON: *");
}

/* ---- size ---------------------------------------------------------------------------------------- */

/* A valid status request padded with spaces to exactly `length` bytes. */
static char *padded_request(size_t length) {
        static const char request[] = "{\"command\":\"status\"}";
        char *text = malloc(length + 1);

        assert_non_null(text);
        assert_true(length >= sizeof(request) - 1);
        memcpy(text, request, sizeof(request) - 1);
        memset(text + sizeof(request) - 1, ' ', length - (sizeof(request) - 1));
        text[length] = '\0';
        return text;
}

static void test_size_limit(void **state) {
        _cleanup_free_ char *at_limit = padded_request(CONTROL_REQUEST_MAX);
        _cleanup_free_ char *over_limit = padded_request(CONTROL_REQUEST_MAX + 1);
        _cleanup_free_ char *huge = padded_request(4 * 1024 * 1024);

        assert_int_equal(CONTROL_REQUEST_MAX, 64 * 1024);
        parse_ok(at_limit, CONTROL_STATUS, NULL);
        parse_error(over_limit, "request larger than 64 KiB");
        parse_error(huge, "request larger than 64 KiB");
}

static void test_length_is_respected(void **state) {
        /* The server hands over a line inside its buffer: the bytes after `length` are not the request. */
        static const char buffer[] = "{\"command\":\"check\",\"target\":\"a\"}\n{\"command\":\"reload\"}";
        ControlRequest request = {};
        _cleanup_free_ char *error = NULL;

        assert_int_equal(control_request_parse(buffer, strchr(buffer, '\n') - buffer, &request, &error), 0);
        assert_int_equal(request.command, CONTROL_CHECK);
        assert_string_equal(request.target, "a");
        control_request_clear(&request);

        /* And a shorter length cuts the document. */
        parse_error_n("{\"command\":\"status\"}", 10, "invalid JSON: *");
}

/* Requests made by flipping and cutting bytes of valid ones: every one is either parsed or refused
 * with a sentence, never anything else, and nothing leaks (ASan). */
static void test_mutations(void **state) {
        static const char *const seeds[] = {
                "{\"command\":\"status\"}",
                "{\"command\":\"check\",\"target\":\"emqx-mqtts\"}",
                "{\"command\":\"reload\"}",
                "{\"target\":\"x\",\"command\":\"status\"}",
                "{\"command\":\"webhook-test\",\"name\":\"ops\"}",
        };
        static const char alphabet[] = "{}[]\":,\\ \n\0atx1-\xc3\xff";
        uint32_t seed = 12345;
        unsigned parsed = 0, refused = 0;

        for (unsigned i = 0; i < 20000; i++) {
                const char *base = seeds[i % ELEMENTSOF(seeds)];
                size_t length = strlen(base);
                char text[64];
                ControlRequest request = {};
                char *error = NULL;
                int r;

                memcpy(text, base, length);
                for (unsigned k = 0; k < 1 + i % 3; k++) {
                        seed = seed * 1103515245u + 12345u;
                        size_t position = (seed >> 8) % length;
                        seed = seed * 1103515245u + 12345u;
                        text[position] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
                }
                seed = seed * 1103515245u + 12345u;
                if ((seed >> 8) % 4 == 0)
                        length = (seed >> 12) % (length + 1);

                r = control_request_parse(text, length, &request, &error);
                if (r == 0) {
                        assert_null(error);
                        assert_true(request.command >= 0 && request.command < _CONTROL_COMMAND_MAX);
                        assert_true(!request.target || (*request.target && strlen(request.target) <= 256));
                        assert_true(!request.target || IN_SET(request.command, CONTROL_STATUS, CONTROL_CHECK,
                                                              CONTROL_WEBHOOK_TEST));
                        assert_true(request.command != CONTROL_WEBHOOK_TEST || request.target);
                        control_request_clear(&request);
                        parsed++;
                } else {
                        assert_int_equal(r, -EBADMSG);
                        assert_non_null(error);
                        assert_true(strlen(error) > 0);
                        free(error);
                        refused++;
                }
        }
        assert_true(parsed > 0);
        assert_true(refused > 0);
}

/* ---- the table and the privileged commands --------------------------------------------------------- */

static void test_string_table(void **state) {
        /* Exactly the documented names, no holes: tlswatchctl(1) lists them. */
        static const char *const names[_CONTROL_COMMAND_MAX] = {
                [CONTROL_STATUS] = "status",
                [CONTROL_METRICS] = "metrics",
                [CONTROL_CHECK] = "check",
                [CONTROL_RELOAD] = "reload",
                [CONTROL_WEBHOOKS] = "webhooks",
                [CONTROL_WEBHOOK_TEST] = "webhook-test",
        };

        assert_int_equal(_CONTROL_COMMAND_MAX, 6);
        assert_int_equal(_CONTROL_COMMAND_INVALID, -EINVAL);
        for (int i = 0; i < _CONTROL_COMMAND_MAX; i++) {
                const char *s = control_command_to_string(i);
                assert_non_null(s);
                assert_string_equal(s, names[i]);
                assert_int_equal(control_command_from_string(s), i);
        }
        assert_null(control_command_to_string(_CONTROL_COMMAND_MAX));
        assert_null(control_command_to_string(_CONTROL_COMMAND_INVALID));
        assert_null(control_command_to_string(-1));
        assert_int_equal(control_command_from_string(NULL), -EINVAL);
        assert_int_equal(control_command_from_string(""), -EINVAL);
        assert_int_equal(control_command_from_string("STATUS"), -EINVAL);
        assert_int_equal(control_command_from_string("status "), -EINVAL);
        assert_int_equal(control_command_from_string("probe"), -EINVAL);
}

static void test_privileged(void **state) {
        /* Reading is for anyone who may open the socket; acting (a probe now, a reload, a test message
         * sent out) is not. */
        assert_false(control_command_is_privileged(CONTROL_STATUS));
        assert_false(control_command_is_privileged(CONTROL_METRICS));
        assert_false(control_command_is_privileged(CONTROL_WEBHOOKS));
        assert_true(control_command_is_privileged(CONTROL_CHECK));
        assert_true(control_command_is_privileged(CONTROL_RELOAD));
        assert_true(control_command_is_privileged(CONTROL_WEBHOOK_TEST));
        assert_false(control_command_is_privileged(_CONTROL_COMMAND_INVALID));
}

static void test_clear(void **state) {
        static const char text[] = "{\"command\":\"check\",\"target\":\"a\"}";
        ControlRequest request = {};
        _cleanup_free_ char *error = NULL;

        assert_int_equal(control_request_parse(text, strlen(text), &request, &error), 0);
        control_request_clear(&request);
        assert_int_equal(request.command, _CONTROL_COMMAND_INVALID);
        assert_null(request.target);
        /* Twice is harmless, as on every exit path of the server. */
        control_request_clear(&request);
        assert_null(request.target);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_command),
                cmocka_unit_test(test_whitespace_allowed),
                cmocka_unit_test(test_target_member),
                cmocka_unit_test(test_target_length_bounds),
                cmocka_unit_test(test_target_not_taken),
                cmocka_unit_test(test_webhook_name),
                cmocka_unit_test(test_unknown_command),
                cmocka_unit_test(test_unknown_member),
                cmocka_unit_test(test_wrong_types),
                cmocka_unit_test(test_duplicates),
                cmocka_unit_test(test_not_an_object),
                cmocka_unit_test(test_invalid_json),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_length_is_respected),
                cmocka_unit_test(test_mutations),
                cmocka_unit_test(test_string_table),
                cmocka_unit_test(test_privileged),
                cmocka_unit_test(test_clear),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
