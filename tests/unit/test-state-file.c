/* SPDX-License-Identifier: MIT */
/* The state file's judgement without any file: what is not a state file at all, and which saved
 * target states still apply after a restart (same name, same address, well-formed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "state-file.h"

static const char saved[] =
        "{\"version\": 1, \"targets\": {"
        "\"broker\": {\"status\": \"critical\", \"address\": \"broker.example.com:8883\", \"probes\": 7,"
        " \"problems\": [{\"code\": \"expired\", \"severity\": \"critical\", \"message\": \"expired\"}]},"
        "\"moved\": {\"status\": \"ok\", \"address\": \"old.example.com:8883\", \"problems\": []},"
        "\"broken\": {\"status\": \"sideways\", \"address\": \"broken.example.com:8883\", \"problems\": []}}}";

/* A whole version 1 entry, as tlswatch 0.1 wrote it: an upgrade must keep all of it. */
static const char saved_v1[] =
        "{\"version\":1,\"targets\":{\"broker\":{\"status\":\"warning\",\"problems\":[{\"code\":"
        "\"root_in_certfile\",\"severity\":\"ok\",\"message\":\"note\",\"depth\":2,\"verify_code\":-1},"
        "{\"code\":\"expires_soon\",\"severity\":\"warning\",\"message\":\"soon\",\"depth\":0,\"verify_code\":-1}],"
        "\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"not_after\":"
        "\"2024-07-01T00:00:00Z\",\"subject\":\"CN=b\",\"issuer\":\"CN=ca\",\"last_probe_usec\":1717200000123456,"
        "\"last_duration_usec\":42000,\"last_announced_usec\":1717113600000000,\"consecutive_failures\":0,"
        "\"probes\":9,\"days_left\":12.5,\"address\":\"broker.example.com:8883\"}}}";

/* The same state as version 2 writes it. */
static const char saved_v2[] =
        "{\"version\":2,\"schema\":\"tlswatch.state/2\",\"targets\":{\"broker\":{\"address\":"
        "\"broker.example.com:8883\",\"status\":\"warning\",\"problems\":[{\"code\":\"root_in_certfile\","
        "\"severity\":\"note\",\"message\":\"note\",\"depth\":2},{\"code\":\"expires_soon\",\"severity\":"
        "\"warning\",\"message\":\"soon\",\"depth\":0}],\"sha256\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"subject\":\"CN=b\",\"issuer\":"
        "\"CN=ca\",\"last_duration_seconds\":0.042,\"consecutive_failures\":0,\"probes\":9,\"last_probe\":"
        "\"2024-06-01T00:00:00Z\",\"last_probe_unix\":1717200000,\"last_announced\":\"2024-05-31T00:00:00Z\","
        "\"last_announced_unix\":1717113600,\"not_after\":\"2024-07-01T00:00:00Z\",\"not_after_unix\":1719792000,"
        "\"days_left\":12.5}}}";

static void check_full_state(const TargetState *state, usec_t last_probe_usec) {
        assert_int_equal(state->status, STATUS_WARNING);
        assert_int_equal(state->problems.n, 2);
        assert_int_equal(state->problems.items[0].code, PROBLEM_ROOT_IN_CERTFILE);
        assert_int_equal(state->problems.items[0].severity, STATUS_OK);
        assert_int_equal(state->problems.items[0].depth, 2);
        assert_int_equal(state->problems.items[0].verify_code, -1);
        assert_int_equal(state->problems.items[1].code, PROBLEM_EXPIRES_SOON);
        assert_string_equal(state->sha256, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_string_equal(state->not_after, "2024-07-01T00:00:00Z");
        assert_string_equal(state->subject, "CN=b");
        assert_string_equal(state->issuer, "CN=ca");
        assert_int_equal(state->last_probe_usec, last_probe_usec);
        assert_int_equal(state->last_duration_usec, 42000);
        assert_int_equal(state->last_announced_usec, 1717113600000000);
        assert_int_equal(state->probes, 9);
        assert_true(state->has_days_left && state->days_left == 12.5);
}

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

static void test_versions(void **unused) {
        json_t *document = parse_ok(saved_v1);
        TargetState state;

        assert_int_equal(state_file_find(document, "broker", "broker.example.com:8883", &state), 1);
        check_full_state(&state, 1717200000123456);
        json_decref(document);

        /* Written again, it is version 2, and reads back the same (points in time to the second). */
        json_t *entry = state_file_entry_to_json(&state, "broker.example.com:8883");
        assert_non_null(entry);
        target_state_clear(&state);
        json_t *expected = parse_ok(saved_v2);
        assert_true(json_equal(entry, json_object_get(json_object_get(expected, "targets"), "broker")));
        json_decref(entry);
        assert_int_equal(state_file_find(expected, "broker", "broker.example.com:8883", &state), 1);
        check_full_state(&state, 1717200000000000);
        target_state_clear(&state);
        json_decref(expected);

        /* A version from the future is not guessed at. */
        char reason[256];
        json_t *future = NULL;
        static const char text[] = "{\"version\":3,\"targets\":{}}";
        assert_int_equal(state_file_parse(text, strlen(text), &future, reason, sizeof(reason)), -EBADMSG);
        assert_string_equal(reason, "unknown version");
}

/* A leaf the probe described is saved with its path, so the renewal diff after a restart compares
 * key, names, EKU and lifetime (not only fingerprint and names, as before issue 16). */
static Certificate *detailed(uint8_t fill, const char *subject, const char *issuer) {
        uint8_t digest[32];
        char *names[] = { (char *) "a.example", (char *) "192.0.2.1" };
        Certificate *c = NULL;

        memset(digest, fill, sizeof(digest));
        assert_int_equal(certificate_new(digest, 1704067200, 1725148800, "EC", 256, "ecdsa-with-SHA256",
                                         subject, issuer, names, 2, &c),
                         0);
        c->has_details = true;
        memset(c->spki_sha256, fill + 1, sizeof(c->spki_sha256));
        c->n_subject_key_id = 20;
        memset(c->subject_key_id, 0x5a, 20);
        c->n_authority_key_id = 20;
        memset(c->authority_key_id, 0x6b, 20);
        c->extended_key_usage = 0x1;
        return c;
}

static void test_path_round_trip(void **unused) {
        TargetState state = { .status = STATUS_OK };
        TargetState loaded;

        state.leaf = detailed(0xab, "CN=broker", "CN=R10");
        state.intermediate = detailed(0xcd, "CN=R10", "CN=Root");
        state.subject = state.leaf->subject;
        state.issuer = state.leaf->issuer;
        certificate_sha256_hex(state.leaf, state.sha256);

        json_t *entry = state_file_entry_to_json(&state, "broker.example.com:8883");
        assert_non_null(entry);
        assert_int_equal(state_file_decode(entry, 2, "broker.example.com:8883", &loaded), 1);
        assert_non_null(loaded.leaf);
        assert_true(loaded.leaf->has_details);
        assert_memory_equal(loaded.leaf->spki_sha256, state.leaf->spki_sha256, 32);
        assert_int_equal(loaded.leaf->n_subject_alt_names, 2);
        assert_string_equal(loaded.leaf->subject_alt_names[1], "192.0.2.1");
        assert_int_equal(loaded.leaf->extended_key_usage, 0x1);
        assert_int_equal(loaded.leaf->n_authority_key_id, 20);
        assert_string_equal(loaded.leaf->key_type, "EC");
        assert_string_equal(loaded.leaf->signature_algorithm, "ecdsa-with-SHA256");
        assert_int_equal(loaded.leaf->not_before, 1704067200);
        assert_non_null(loaded.intermediate);
        assert_string_equal(loaded.intermediate->subject, "CN=R10");
        assert_null(loaded.root);
        target_state_clear(&loaded);

        /* A path that is not the entry's leaf, or is damaged, is dropped; the entry still loads. */
        json_object_set_new(json_object_get(json_object_get(entry, "path"), "leaf"), "spki_sha256",
                            json_string("zz"));
        assert_int_equal(state_file_decode(entry, 2, "broker.example.com:8883", &loaded), 1);
        assert_non_null(loaded.leaf);
        assert_false(loaded.leaf->has_details);
        assert_string_equal(loaded.sha256, state.sha256);
        target_state_clear(&loaded);
        json_decref(entry);
        target_state_clear(&state);
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

/* What state_file_read() handed over: the names, in order, and the last broker entry decoded. */
typedef struct Collected {
        char names[8][32];
        size_t n;
        int versions[8];
        bool broker_restored;
        TargetState broker;
} Collected;

static int collect(const char *name, json_t *entry, int version, void *userdata) {
        Collected *c = userdata;

        if (c->n < 8) {
                snprintf(c->names[c->n], sizeof(c->names[c->n]), "%s", name);
                c->versions[c->n++] = version;
        }
        if (strcmp(name, "broker") == 0 && !c->broker_restored &&
            state_file_decode(entry, version, "broker.example.com:8883", &c->broker) == 1)
                c->broker_restored = true;
        return 0;
}

static int read_text(const char *text, size_t size, Collected *c, char *reason) {
        *c = (Collected) {};
        return state_file_read(text, size, collect, c, reason, 256);
}

static void test_read_whole(void **unused) {
        Collected c;
        char reason[256];

        /* Every entry, in order, in the form of the file's version; the same state as the tree gives. */
        assert_int_equal(read_text(saved_v2, strlen(saved_v2), &c, reason), 0);
        assert_int_equal(c.n, 1);
        assert_int_equal(c.versions[0], 2);
        assert_true(c.broker_restored);
        check_full_state(&c.broker, 1717200000000000);
        target_state_clear(&c.broker);

        assert_int_equal(read_text(saved_v1, strlen(saved_v1), &c, reason), 0);
        assert_int_equal(c.versions[0], 1);
        assert_true(c.broker_restored);
        check_full_state(&c.broker, 1717200000123456);
        target_state_clear(&c.broker);

        assert_int_equal(read_text(saved, strlen(saved), &c, reason), 0);
        assert_int_equal(c.n, 3);
        assert_string_equal(c.names[0], "broker");
        assert_string_equal(c.names[2], "broken");
        target_state_clear(&c.broker);

        /* White space anywhere JSON allows it, and an empty fleet. */
        static const char spaced[] = " {\n \"version\" : 2 ,\n \"targets\" : {\n } \n}\n";
        assert_int_equal(read_text(spaced, strlen(spaced), &c, reason), 0);
        assert_int_equal(c.n, 0);
}

static void test_read_damaged(void **unused) {
        Collected c;
        char reason[256];
        /* Cut in the middle of the third entry, as a full disk or a crash could leave a file written
         * in place: the two before the cut are kept. */
        size_t cut = (size_t) (strstr(saved, "\"broken\"") - saved) + 12;

        assert_int_equal(read_text(saved, cut, &c, reason), 1);
        assert_int_equal(c.n, 2);
        assert_true(c.broker_restored);
        assert_non_null(strstr(reason, "byte"));
        target_state_clear(&c.broker);

        /* Cut right after an entry, and garbage after a whole document: kept, and reported. */
        cut = (size_t) (strstr(saved, ",\"moved\"") - saved);
        assert_int_equal(read_text(saved, cut, &c, reason), 1);
        assert_int_equal(c.n, 1);
        target_state_clear(&c.broker);
        char trailing[sizeof(saved) + 8];
        snprintf(trailing, sizeof(trailing), "%sxyz", saved);
        assert_int_equal(read_text(trailing, strlen(trailing), &c, reason), 1);
        assert_int_equal(c.n, 3);
        target_state_clear(&c.broker);

        /* Not a state file: nothing is handed over. */
        static const char *const not_state[] = {
                "", "[]", "{\"version\":3,\"targets\":{}}", "{\"targets\":{},\"version\":2}", "{\"version\":2}",
                "{\"version\":\"2\",\"targets\":{}}", "{\"targets\":[]}", "{\"version\":2,\"targ",
        };
        for (size_t i = 0; i < sizeof(not_state) / sizeof(not_state[0]); i++) {
                int r = read_text(not_state[i], strlen(not_state[i]), &c, reason);
                if (r != -EBADMSG && !(r == 1 && c.n == 0))
                        fail_msg("\"%s\": %d, expected -EBADMSG", not_state[i], r);
                assert_int_equal(c.n, 0);
        }
}

static int refuse(const char *name, json_t *entry, int version, void *userdata) {
        (void) name, (void) entry, (void) version, (void) userdata;
        return -ENOMEM;
}

static void test_read_callback_error(void **unused) {
        char reason[256];
        assert_int_equal(state_file_read(saved, strlen(saved), refuse, NULL, reason, sizeof(reason)), -ENOMEM);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_a_state_file),    cmocka_unit_test(test_restored),
                cmocka_unit_test(test_not_restored),        cmocka_unit_test(test_versions),
                cmocka_unit_test(test_read_whole),          cmocka_unit_test(test_read_damaged),
                cmocka_unit_test(test_read_callback_error), cmocka_unit_test(test_path_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
