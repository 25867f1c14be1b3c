/* SPDX-License-Identifier: MIT */
/* The listener-file checks on real files in a scratch directory: a file that cannot be read, the lint's
 * findings prefixed with the certfile's path, a renewal the listener has not loaded (stale_certificate)
 * and one it has, and a renewed file picked up by the next refresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert-check.h"
#include "target-files.h"
#include "test-certs.h"

#define DAY (24L * 60 * 60)

typedef struct Fixture {
        char directory[64];
        char cert_path[128];
        char key_path[128];
        X509 *ca;
        X509 *leaf;
        X509_STORE *trust;
        time_t now;
} Fixture;

static void write_pem(const char *path, X509 *certificate, X509 *intermediate, EVP_PKEY *key, mode_t mode) {
        char temporary[160];

        /* Renamed into place, as certbot does: a new inode, so the refresh must notice it. */
        snprintf(temporary, sizeof(temporary), "%s.new", path);
        FILE *f = fopen(temporary, "w");
        assert_non_null(f);
        if (certificate)
                assert_int_equal(PEM_write_X509(f, certificate), 1);
        if (intermediate)
                assert_int_equal(PEM_write_X509(f, intermediate), 1);
        if (key)
                assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(temporary, mode), 0);
        assert_int_equal(rename(temporary, path), 0);
}

static X509 *new_leaf(Fixture *fx, long not_after) {
        static const char *const ips[] = { "127.0.0.1", NULL };
        X509 *leaf = NULL;

        assert_int_equal(test_cert_new(&(TestCertSpec){ .subject_cn = "broker",
                                                        .key = test_key(TEST_KEY_EC, 256, 1),
                                                        .issuer = fx->ca,
                                                        .issuer_key = test_key(TEST_KEY_EC, 256, 0),
                                                        .now = fx->now,
                                                        .not_before = -DAY,
                                                        .not_after = not_after,
                                                        .ips = ips },
                                       &leaf),
                         0);
        return leaf;
}

static int setup(void **state) {
        Fixture *fx = calloc(1, sizeof(Fixture));

        assert_non_null(fx);
        fx->now = time(NULL);
        snprintf(fx->directory, sizeof(fx->directory), "/tmp/test-target-files.XXXXXX");
        assert_non_null(mkdtemp(fx->directory));
        snprintf(fx->cert_path, sizeof(fx->cert_path), "%s/fullchain.pem", fx->directory);
        snprintf(fx->key_path, sizeof(fx->key_path), "%s/key.pem", fx->directory);
        assert_int_equal(test_cert_new(&(TestCertSpec){ .subject_cn = "Test CA",
                                                        .key = test_key(TEST_KEY_EC, 256, 0),
                                                        .now = fx->now,
                                                        .not_before = -DAY,
                                                        .not_after = 3650 * DAY,
                                                        .ca = true },
                                       &fx->ca),
                         0);
        fx->leaf = new_leaf(fx, 300 * DAY);
        fx->trust = test_store_new(fx->ca, NULL);
        assert_non_null(fx->trust);
        write_pem(fx->cert_path, fx->leaf, NULL, NULL, 0644);
        write_pem(fx->key_path, NULL, NULL, test_key(TEST_KEY_EC, 256, 1), 0600);
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        Fixture *fx = *state;

        (void) unlink(fx->cert_path);
        (void) unlink(fx->key_path);
        (void) rmdir(fx->directory);
        X509_free(fx->ca);
        X509_free(fx->leaf);
        X509_STORE_free(fx->trust);
        free(fx);
        return 0;
}

/* A finished probe's report with one address that served `served`. */
static Report *served_report(const Fixture *fx, X509 *served) {
        Report *report = calloc(1, sizeof(Report));
        assert_non_null(report);
        AddressReport *a = report_add_address(report, "127.0.0.1");
        assert_non_null(a);
        a->chain = calloc(1, sizeof(ChainLink));
        assert_non_null(a->chain);
        a->n_chain = 1;
        a->checked_at = fx->now;
        assert_int_equal(cert_check_describe(served, &a->chain[0].certificate), 0);
        a->chain[0].sent = true;
        assert_int_equal(report_finalize(report), 0);
        return report;
}

static const Problem *find_problem(const Report *report, ProblemCode code) {
        for (size_t i = 0; i < report->problems.n; i++)
                if (report->problems.items[i].code == code)
                        return &report->problems.items[i];
        return NULL;
}

static void check(Fixture *fx, TargetFiles *files, const TargetFilesPaths *paths, Report *report) {
        target_files_refresh(files, paths);
        assert_int_equal(target_files_check(files, paths,
                                            &(TargetFilesCheck){ .trust = fx->trust,
                                                                 .now = fx->now,
                                                                 .expiry = { .days_set = true,
                                                                             .warn_days = 30,
                                                                             .crit_days = 7 } },
                                            report),
                         0);
}

static void test_no_files_named(void **state) {
        Fixture *fx = *state;
        _cleanup_(target_files_freep) TargetFiles *files = NULL;
        _cleanup_(report_freep) Report *report = served_report(fx, fx->leaf);

        assert_int_equal(target_files_new(&files), 0);
        check(fx, files, &(TargetFilesPaths){}, report);
        assert_int_equal(report->problems.n, 0);
        assert_int_equal(report->status, STATUS_OK);
}

static void test_unreadable_file(void **state) {
        Fixture *fx = *state;
        _cleanup_(target_files_freep) TargetFiles *files = NULL;
        _cleanup_(report_freep) Report *report = served_report(fx, fx->leaf);
        char missing[160];

        snprintf(missing, sizeof(missing), "%s/missing.pem", fx->directory);
        assert_int_equal(target_files_new(&files), 0);
        check(fx, files, &(TargetFilesPaths){ .cert_file = fx->cert_path, .key_file = missing }, report);
        const Problem *p = find_problem(report, PROBLEM_CHAIN_UNVERIFIED);
        assert_non_null(p);
        assert_non_null(strstr(p->message, "missing.pem: cannot read the listener's file"));
        assert_int_equal(report->status, STATUS_CRITICAL);
}

static void test_good_files_in_use(void **state) {
        Fixture *fx = *state;
        _cleanup_(target_files_freep) TargetFiles *files = NULL;
        _cleanup_(report_freep) Report *report = served_report(fx, fx->leaf);

        assert_int_equal(target_files_new(&files), 0);
        check(fx, files, &(TargetFilesPaths){ .cert_file = fx->cert_path, .key_file = fx->key_path },
              report);
        for (size_t i = 0; i < report->problems.n; i++)
                print_message("unexpected: %s\n", report->problems.items[i].message);
        assert_int_equal(report->problems.n, 0);
        assert_int_equal(report->status, STATUS_OK);
}

static void test_lint_findings_name_the_file(void **state) {
        Fixture *fx = *state;
        _cleanup_(target_files_freep) TargetFiles *files = NULL;
        _cleanup_(report_freep) Report *report = served_report(fx, fx->leaf);

        write_pem(fx->key_path, NULL, NULL, test_key(TEST_KEY_EC, 256, 1), 0644);
        assert_int_equal(target_files_new(&files), 0);
        check(fx, files, &(TargetFilesPaths){ .cert_file = fx->cert_path, .key_file = fx->key_path },
              report);
        const Problem *p = find_problem(report, PROBLEM_KEY_PERMISSIONS);
        assert_non_null(p);
        assert_true(strncmp(p->message, fx->cert_path, strlen(fx->cert_path)) == 0);
        assert_int_equal(report->status, STATUS_WARNING);
}

static void test_renewal_not_loaded_then_loaded(void **state) {
        Fixture *fx = *state;
        _cleanup_(target_files_freep) TargetFiles *files = NULL;
        _cleanup_(X509_freep) X509 *renewed = new_leaf(fx, 400 * DAY);
        const TargetFilesPaths paths = { .cert_file = fx->cert_path, .key_file = fx->key_path };

        assert_int_equal(target_files_new(&files), 0);

        /* The files are read once: the listener serves what they hold. */
        _cleanup_(report_freep) Report *before = served_report(fx, fx->leaf);
        check(fx, files, &paths, before);
        assert_null(find_problem(before, PROBLEM_STALE_CERTIFICATE));

        /* Renewed on disk; the listener still serves the old one. */
        write_pem(fx->cert_path, renewed, NULL, NULL, 0644);
        _cleanup_(report_freep) Report *stale = served_report(fx, fx->leaf);
        check(fx, files, &paths, stale);
        const Problem *p = find_problem(stale, PROBLEM_STALE_CERTIFICATE);
        assert_non_null(p);
        assert_non_null(strstr(p->message, fx->cert_path));
        assert_non_null(strstr(p->message, "127.0.0.1 still serves"));
        assert_int_equal(stale->status, STATUS_WARNING);

        /* The broker reloaded. */
        _cleanup_(report_freep) Report *after = served_report(fx, renewed);
        check(fx, files, &paths, after);
        assert_null(find_problem(after, PROBLEM_STALE_CERTIFICATE));
        assert_int_equal(after->status, STATUS_OK);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_files_named, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_good_files_in_use, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lint_findings_name_the_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_renewal_not_loaded_then_loaded, setup, teardown),
        };
        int r = cmocka_run_group_tests(tests, NULL, NULL);

        test_keys_free();
        return r;
}
