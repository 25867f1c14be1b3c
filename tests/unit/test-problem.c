/* SPDX-License-Identifier: MIT */
/* The string tables of problem codes and statuses: no holes, round trips, and the exact
 * documented names, since these names are a public contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "probe.h"
#include "problem.h"
#include "report.h"

static void test_problem_table_complete(void **state) {
        for (int i = 0; i < _PROBLEM_CODE_MAX; i++) {
                const char *name = problem_code_to_string(i);
                assert_non_null(name);
                assert_int_equal(problem_code_from_string(name), i);
        }
        assert_null(problem_code_to_string(_PROBLEM_CODE_MAX));
        assert_null(problem_code_to_string(-1));
        assert_int_equal(problem_code_from_string("no_such_code"), -EINVAL);
        assert_int_equal(problem_code_from_string(NULL), -EINVAL);
}

static void test_problem_names_documented(void **state) {
        /* The order and spelling of tlswatchctl(1)'s table. */
        static const char *const documented[] = {
                "dns_failed", "connect_failed", "timeout", "tls_handshake_failed", "no_peer_certificate",
                "client_certificate_required", "chain_unverified", "incomplete_chain", "hostname_mismatch",
                "expired", "not_yet_valid", "expires_soon", "weak_key", "weak_signature", "old_tls_version",
                "protocol_failed", "key_mismatch", "certfile_order", "root_in_certfile", "cacertfile_not_ca",
                "cacertfile_not_root", "key_permissions", "stale_certificate", "name_only_in_cn",
                "renewal_overdue",
                "revoked", "revocation_unknown",
                "pin_mismatch",
                "intermediate_changed", "client_auth_dropped", "nodes_differ",
        };
        assert_int_equal(ELEMENTSOF(documented), _PROBLEM_CODE_MAX);
        for (size_t i = 0; i < ELEMENTSOF(documented); i++)
                assert_string_equal(problem_code_to_string((ProblemCode) i), documented[i]);
}

static void test_status(void **state) {
        for (int i = 0; i < _STATUS_MAX; i++) {
                assert_non_null(status_to_string(i));
                assert_int_equal(status_from_string(status_to_string(i)), i);
        }
        assert_int_equal(status_to_exit_code(STATUS_OK), 0);
        assert_int_equal(status_to_exit_code(STATUS_WARNING), 1);
        assert_int_equal(status_to_exit_code(STATUS_CRITICAL), 2);
        assert_int_equal(status_to_exit_code(STATUS_UNKNOWN), 3);
        assert_int_equal(status_worst(STATUS_WARNING, STATUS_CRITICAL), STATUS_CRITICAL);
        assert_int_equal(status_worst(STATUS_OK, STATUS_WARNING), STATUS_WARNING);
        assert_string_equal(status_to_label(STATUS_CRITICAL), "CRITICAL");
}

static void test_severity_choice_table(void **state) {
        static const char *const documented[] = { "default", "note", "warning", "critical" };

        assert_int_equal(ELEMENTSOF(documented), _SEVERITY_CHOICE_MAX);
        for (int i = 0; i < _SEVERITY_CHOICE_MAX; i++) {
                assert_string_equal(severity_choice_to_string(i), documented[i]);
                assert_int_equal(severity_choice_from_string(documented[i]), i);
        }
        assert_null(severity_choice_to_string(_SEVERITY_CHOICE_MAX));
        assert_int_equal(severity_choice_from_string("info"), -EINVAL);
}

static void test_severities(void **state) {
        assert_int_equal(problem_code_default_severity(PROBLEM_WEAK_KEY), STATUS_WARNING);
        assert_int_equal(problem_code_default_severity(PROBLEM_OLD_TLS_VERSION), STATUS_WARNING);
        assert_int_equal(problem_code_default_severity(PROBLEM_EXPIRED), STATUS_CRITICAL);
        assert_int_equal(problem_code_default_severity(PROBLEM_TIMEOUT), STATUS_CRITICAL);
        assert_int_equal(problem_code_default_severity(PROBLEM_NAME_ONLY_IN_CN), STATUS_WARNING);
}

static void test_report_finalize_merges(void **state) {
        Report *report = calloc(1, sizeof(Report));
        assert_non_null(report);

        AddressReport *a = report_add_address(report, "127.0.0.1");
        assert_non_null(a);
        assert_int_equal(problem_list_add(&a->problems, PROBLEM_WEAK_KEY, STATUS_WARNING, 0, -1, "weak"), 0);
        AddressReport *b = report_add_address(report, "::1");
        assert_non_null(b);
        assert_int_equal(problem_list_add(&b->problems, PROBLEM_WEAK_KEY, STATUS_WARNING, 0, -1, "weak"), 0);
        assert_int_equal(problem_list_add(&b->problems, PROBLEM_EXPIRED, STATUS_CRITICAL, 1, -1, "old"), 0);

        assert_int_equal(report_finalize(report), 0);
        assert_int_equal(report->addresses[0].status, STATUS_WARNING);
        assert_int_equal(report->addresses[1].status, STATUS_CRITICAL);
        assert_int_equal(report->status, STATUS_CRITICAL);
        /* The same finding on two addresses is listed once at the top. */
        assert_int_equal(report->problems.n, 2);
        report_free(report);
}

static void test_problem_list_bounded(void **state) {
        ProblemList list = {};

        for (int i = 0; i < 1000; i++)
                assert_int_equal(problem_list_add(&list, PROBLEM_WEAK_KEY, STATUS_WARNING, i, -1, "%d", i), 0);
        assert_true(list.n <= 64);
        problem_list_clear(&list);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_problem_table_complete),
                cmocka_unit_test(test_problem_names_documented),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_severity_choice_table),
                cmocka_unit_test(test_severities),
                cmocka_unit_test(test_report_finalize_merges),
                cmocka_unit_test(test_problem_list_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
