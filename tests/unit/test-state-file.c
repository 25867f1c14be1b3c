/* SPDX-License-Identifier: MIT */
/* The state file's judgement without any file: what is not a state file at all, and which saved
 * target states still apply after a restart (same name, same address, well-formed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "state-file.h"

static const char saved[] =
        "{\"version\": 1, \"targets\": {"
        "\"broker\": {\"status\": \"critical\", \"address\": \"broker.example.com:8883\", \"probes\": 7,"
        " \"problems\": [{\"code\": \"expired\", \"severity\": \"critical\", \"message\": \"expired\"}]},"
        "\"moved\": {\"status\": \"ok\", \"address\": \"old.example.com:8883\", \"problems\": []},"
        "\"broken\": {\"status\": \"sideways\", \"address\": \"broken.example.com:8883\", \"problems\": []}}}";

static json_t *parse_ok(const char *text) {
        char reason[256];
        json_t *document = NULL;

        assert_int_equal(state_file_parse(text, strlen(text), &document, reason, sizeof(reason)), 0);
        assert_non_null(document);
        return document;
}

static void test_not_a_state_file(void **unused) {
        static const char *const texts[] = { "", "{", "[]", "{\"version\": 1}", "{\"targets\": []}", "null" };
        char reason[256];
        json_t *document = NULL;

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                reason[0] = '\0';
                assert_int_equal(state_file_parse(texts[i], strlen(texts[i]), &document, reason, sizeof(reason)),
                                 -EBADMSG);
                assert_null(document);
                assert_true(reason[0] != '\0');
        }
        /* The manager says why: jansson's words for bad JSON, ours for the wrong shape. */
        assert_int_equal(state_file_parse("{\"targets\": 1}", 14, &document, reason, sizeof(reason)), -EBADMSG);
        assert_string_equal(reason, "no targets object");
}

static void test_restored(void **unused) {
        json_t *document = parse_ok(saved);
        TargetState state;

        assert_int_equal(state_file_find(document, "broker", "broker.example.com:8883", &state), 1);
        assert_int_equal(state.status, STATUS_CRITICAL);
        assert_int_equal(state.probes, 7);
        assert_int_equal(state.problems.n, 1);
        assert_int_equal(state.problems.items[0].code, PROBLEM_EXPIRED);
        target_state_clear(&state);
        json_decref(document);
}

static void test_not_restored(void **unused) {
        json_t *document = parse_ok(saved);
        TargetState state;

        /* A target that is new, or now points elsewhere, starts afresh. */
        assert_int_equal(state_file_find(document, "new", "broker.example.com:8883", &state), 0);
        assert_int_equal(state_file_find(document, "moved", "new.example.com:8883", &state), 0);
        assert_int_equal(state_file_find(document, "broker", "broker.example.com:8884", &state), 0);
        /* A malformed entry is reported, so the manager can say which target lost its state. */
        assert_int_equal(state_file_find(document, "broken", "broken.example.com:8883", &state), -EBADMSG);
        json_decref(document);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_a_state_file),
                cmocka_unit_test(test_restored),
                cmocka_unit_test(test_not_restored),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
