/* SPDX-License-Identifier: MIT */
/* The JSON contract of a report: member names, types, and members left out where they do not apply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "report-json.h"

static Report *sample_report(void) {
        Report *report = calloc(1, sizeof(Report));
        assert_non_null(report);
        report->target = strdup("broker.example.com:8883");
        report->server_name = strdup("broker.example.com");
        report->protocol = strdup("mqtt");

        AddressReport *a = report_add_address(report, "127.0.0.1");
        assert_non_null(a);
        a->tls_version = "TLSv1.3";
        a->cipher = "TLS_AES_256_GCM_SHA384";
        snprintf(a->group, sizeof(a->group), "X25519");
        a->has_days_left = true;
        a->days_left = 12.5;
        a->checked_at = 1798761600 - 12 * 86400 - 43200; /* 12.5 days before 2027-01-01T00:00:00Z */
        a->chain = calloc(1, sizeof(ChainLink));
        assert_non_null(a->chain);
        a->n_chain = 1;
        static const uint8_t sha256[32] = { 0xab };
        char *names[] = { (char *) "broker.example.com", (char *) "192.0.2.1" };
        assert_int_equal(certificate_new(sha256, 1767225600, 1798761600, "EC", 256, "ecdsa-with-SHA256", "CN=broker",
                                         "CN=ca", names, 2, &a->chain[0].certificate),
                         0);
        a->chain[0].sent = true;
        assert_int_equal(problem_list_add(&a->problems, PROBLEM_EXPIRES_SOON, STATUS_WARNING, 0, -1, "soon"), 0);
        assert_int_equal(problem_list_add(&a->problems, PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 1, 20, "x"), 0);

        AddressReport *b = report_add_address(report, "::1");
        assert_non_null(b);
        assert_int_equal(problem_list_add(&b->problems, PROBLEM_CONNECT_FAILED, STATUS_CRITICAL, -1, -1, "refused"), 0);
        assert_int_equal(report_finalize(report), 0);
        return report;
}

static void test_contract(void **state) {
        Report *report = sample_report();
        json_t *o = NULL;

        assert_int_equal(report_to_json(report, &o), 0);
        assert_string_equal(json_string_value(json_object_get(o, "target")), "broker.example.com:8883");
        assert_string_equal(json_string_value(json_object_get(o, "status")), "critical");
        assert_int_equal(json_array_size(json_object_get(o, "problems")), 3);

        json_t *addresses = json_object_get(o, "addresses");
        assert_int_equal(json_array_size(addresses), 2);

        json_t *a = json_array_get(addresses, 0);
        assert_string_equal(json_string_value(json_object_get(a, "address")), "127.0.0.1");
        assert_string_equal(json_string_value(json_object_get(a, "status")), "critical");
        assert_string_equal(json_string_value(json_object_get(json_object_get(a, "tls"), "version")), "TLSv1.3");
        /* The negotiated group, in the documented order: version, cipher, group, handshake_ms. */
        json_t *tls = json_object_get(a, "tls");
        assert_string_equal(json_string_value(json_object_get(tls, "group")), "X25519");
        const char *tls_keys[] = { "version", "cipher", "group", "handshake_ms" };
        size_t k = 0;
        for (void *it = json_object_iter(tls); it; it = json_object_iter_next(tls, it), k++) {
                assert_true(k < ELEMENTSOF(tls_keys));
                assert_string_equal(json_object_iter_key(it), tls_keys[k]);
        }
        assert_int_equal(k, ELEMENTSOF(tls_keys));

        json_t *soon = json_array_get(json_object_get(a, "problems"), 0);
        assert_string_equal(json_string_value(json_object_get(soon, "code")), "expires_soon");
        assert_string_equal(json_string_value(json_object_get(soon, "severity")), "warning");
        assert_int_equal(json_integer_value(json_object_get(soon, "depth")), 0);
        assert_null(json_object_get(soon, "verify_code"));

        json_t *unverified = json_array_get(json_object_get(a, "problems"), 1);
        assert_int_equal(json_integer_value(json_object_get(unverified, "verify_code")), 20);

        json_t *leaf = json_array_get(json_object_get(a, "chain"), 0);
        assert_int_equal(json_integer_value(json_object_get(leaf, "depth")), 0);
        assert_string_equal(json_string_value(json_object_get(leaf, "subject")), "CN=broker");
        assert_string_equal(json_string_value(json_object_get(leaf, "not_before")), "2026-01-01T00:00:00Z");
        assert_int_equal(json_integer_value(json_object_get(leaf, "not_before_unix")), 1767225600);
        assert_string_equal(json_string_value(json_object_get(leaf, "not_after")), "2027-01-01T00:00:00Z");
        assert_int_equal(json_integer_value(json_object_get(leaf, "not_after_unix")), 1798761600);
        assert_true(json_real_value(json_object_get(leaf, "days_left")) == 12.5);
        assert_true(json_is_true(json_object_get(leaf, "sent")));
        assert_string_equal(json_string_value(json_object_get(leaf, "sha256")),
                            "ab00000000000000000000000000000000000000000000000000000000000000");
        /* key as an object, names as an array of every name */
        json_t *key = json_object_get(leaf, "key");
        assert_string_equal(json_string_value(json_object_get(key, "type")), "EC");
        assert_int_equal(json_integer_value(json_object_get(key, "bits")), 256);
        json_t *names = json_object_get(leaf, "subject_alt_names");
        assert_int_equal(json_array_size(names), 2);
        assert_string_equal(json_string_value(json_array_get(names, 0)), "broker.example.com");
        assert_string_equal(json_string_value(json_array_get(names, 1)), "192.0.2.1");
        assert_string_equal(json_string_value(json_object_get(o, "schema")), REPORT_JSON_SCHEMA);

        /* A refused connection has no TLS parameters: the member is absent, not null. */
        json_t *b = json_array_get(addresses, 1);
        assert_null(json_object_get(b, "tls"));
        json_t *refused = json_array_get(json_object_get(b, "problems"), 0);
        assert_null(json_object_get(refused, "depth"));

        json_decref(o);
        report_free(report);
}

/* A handshake without a named group (TLS 1.2 with RSA key exchange): "tls" without "group". */
static void test_no_group(void **state) {
        Report *report = sample_report();
        json_t *o = NULL;

        report->addresses[0].group[0] = '\0';
        assert_int_equal(report_to_json(report, &o), 0);
        json_t *tls = json_object_get(json_array_get(json_object_get(o, "addresses"), 0), "tls");
        assert_non_null(tls);
        assert_null(json_object_get(tls, "group"));
        assert_non_null(json_object_get(tls, "handshake_ms"));
        json_decref(o);
        report_free(report);
}

/* The packed form renders exactly as the report it was made from, and frees as one block. */
static void test_pack(void **state) {
        Report *report = sample_report();
        json_t *before = NULL, *after = NULL;

        assert_int_equal(problem_list_add(&report->addresses[0].problems, PROBLEM_WEAK_KEY, STATUS_WARNING, 0, -1,
                                          "weak"), 0);
        report->addresses[0].protocol_detail = strdup("HTTP 200");
        Certificate *leaf = report->addresses[0].chain[0].certificate;
        assert_int_equal(report_to_json(report, &before), 0);
        assert_int_equal(report_pack(&report), 0);
        assert_true(report->packed);
        assert_ptr_equal(report->addresses[0].chain[0].certificate, leaf); /* shared, not copied */
        assert_int_equal(leaf->n_ref, 1);
        assert_int_equal(report_pack(&report), 0); /* packing a packed report changes nothing */
        assert_int_equal(report_to_json(report, &after), 0);
        assert_true(json_equal(before, after));
        size_t certificates = 0;
        assert_true(report_heap_size(report, &certificates) > sizeof(Report));
        assert_true(certificates > sizeof(Certificate));
        json_decref(before);
        json_decref(after);
        report_free(report);
}

/* Reals with six significant digits, not seventeen. */
static void test_real_precision(void **state) {
        json_t *o = json_pack("{s:f}", "days_left", 9.9997569444444441);
        char *text = json_dumps(o, JSON_COMPACT | REPORT_JSON_DUMP_FLAGS);

        assert_string_equal(text, "{\"days_left\":9.99976}");
        free(text);
        json_decref(o);
}

/* Interning: one certificate per fingerprint, shared by reference, gone with its last report. */
static void test_certificate_cache(void **state) {
        static const uint8_t a_sha256[32] = { 1 }, b_sha256[32] = { 2 };
        CertificateCache *cache = NULL;
        Certificate *a1 = NULL, *a2 = NULL, *b = NULL;

        assert_int_equal(certificate_cache_new(&cache), 0);
        assert_int_equal(certificate_new(a_sha256, 0, 86400, "EC", 256, "x", "CN=a", "CN=a", NULL, 0, &a1), 0);
        assert_int_equal(certificate_new(a_sha256, 0, 86400, "EC", 256, "x", "CN=a", "CN=a", NULL, 0, &a2), 0);
        assert_int_equal(certificate_new(b_sha256, 0, 86400, "EC", 256, "x", "CN=b", "CN=a", NULL, 0, &b), 0);
        Certificate *first = a1;
        certificate_cache_intern(cache, &a1);
        certificate_cache_intern(cache, &a2);
        certificate_cache_intern(cache, &b);
        assert_ptr_equal(a1, first);
        assert_ptr_equal(a2, first);
        assert_int_equal(first->n_ref, 2);
        assert_int_equal(certificate_cache_size(cache), 2);
        certificate_unref(a1);
        certificate_unref(a2);
        assert_int_equal(certificate_cache_size(cache), 1);

        /* Enough to make the table grow; every one still found. */
        Certificate *many[300];
        for (size_t i = 0; i < ELEMENTSOF(many); i++) {
                uint8_t sha256[32] = { 3, (uint8_t) i, (uint8_t) (i >> 8) };
                assert_int_equal(certificate_new(sha256, 0, 0, NULL, 0, NULL, "CN=m", "CN=m", NULL, 0, &many[i]), 0);
                certificate_cache_intern(cache, &many[i]);
        }
        assert_int_equal(certificate_cache_size(cache), 301);
        for (size_t i = 0; i < ELEMENTSOF(many); i++) {
                uint8_t sha256[32] = { 3, (uint8_t) i, (uint8_t) (i >> 8) };
                Certificate *again = NULL;
                assert_int_equal(certificate_new(sha256, 0, 0, NULL, 0, NULL, "CN=m", "CN=m", NULL, 0, &again), 0);
                certificate_cache_intern(cache, &again);
                assert_ptr_equal(again, many[i]);
                certificate_unref(again);
                certificate_unref(many[i]);
        }
        assert_int_equal(certificate_cache_size(cache), 1);
        /* The cache may go first: what is still held simply stops being shared. */
        certificate_cache_free(cache);
        assert_null(b->cache);
        certificate_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_contract),
                cmocka_unit_test(test_real_precision),
                cmocka_unit_test(test_no_group),
                cmocka_unit_test(test_pack),
                cmocka_unit_test(test_certificate_cache),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
