/* SPDX-License-Identifier: MIT */
/* The JSON contract of a report: member names, types, and members left out where they do not apply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
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
        a->tls_version = strdup("TLSv1.3");
        a->cipher = strdup("TLS_AES_256_GCM_SHA384");
        a->has_days_left = true;
        a->days_left = 12.5;
        a->chain = calloc(1, sizeof(CertificateInfo));
        a->n_chain = 1;
        a->chain[0] = (CertificateInfo) {
                .depth = 0,
                .subject = strdup("CN=broker"),
                .issuer = strdup("CN=ca"),
                .not_before = "2026-01-01T00:00:00Z",
                .not_after = "2027-01-01T00:00:00Z",
                .days_left = 12.5,
                .sha256 = "ab",
                .key = strdup("EC 256"),
                .signature_algorithm = strdup("ecdsa-with-SHA256"),
                .sent = true,
        };
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
        assert_string_equal(json_string_value(json_object_get(leaf, "not_after")), "2027-01-01T00:00:00Z");
        assert_true(json_real_value(json_object_get(leaf, "days_left")) == 12.5);
        assert_true(json_is_true(json_object_get(leaf, "sent")));

        /* A refused connection has no TLS parameters: the member is absent, not null. */
        json_t *b = json_array_get(addresses, 1);
        assert_null(json_object_get(b, "tls"));
        json_t *refused = json_array_get(json_object_get(b, "problems"), 0);
        assert_null(json_object_get(refused, "depth"));

        json_decref(o);
        report_free(report);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_contract),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
