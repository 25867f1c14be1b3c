/* SPDX-License-Identifier: MIT */
/* Chain analysis on chains OpenSSL really verifies: each case builds its certificates in memory, runs
 * X509_verify_cert() the way the probe's handshake does, feeds cert_check() and asserts the exact
 * problems, so a regression in trust, name, date or strength judgement shows up as a wrong code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert-check.h"
#include "time-util.h"
#include "report.h"
#include "test-certs.h"

/* A fixed clock: 2026-01-01T00:00:00Z. Dates in the report are then exact strings. */
#define NOW ((time_t) 1767225600)
#define DAY 86400L
#define YEAR (365 * DAY)

/* Key slots of the P-256 cache: one key per role, so issuers are told apart by key as in real life. */
enum {
        KEY_ROOT,
        KEY_INTER,
        KEY_LEAF,
        KEY_OTHER_ROOT,
};

static const char *const localhost_names[] = { "localhost", NULL };
static const char *const loopback_ips[] = { "127.0.0.1", "::1", NULL };

static EVP_PKEY *ec_key(unsigned slot) {
        EVP_PKEY *key = test_key(TEST_KEY_EC, 256, slot);

        assert_non_null(key);
        return key;
}

static X509 *cert_new(const TestCertSpec *spec) {
        X509 *x = NULL;

        assert_int_equal(test_cert_new(spec, &x), 0);
        assert_non_null(x);
        return x;
}

/* The usual three-level PKI; each test changes the one spec its case is about. */
typedef struct Pki {
        X509 *root;
        X509 *inter;
        X509 *leaf;
} Pki;

static void pki_clear(Pki *pki) {
        X509_free(pki->root);
        X509_free(pki->inter);
        X509_free(pki->leaf);
        *pki = (Pki) {};
}

static TestCertSpec root_spec(const char *cn, unsigned key_slot) {
        return (TestCertSpec) {
                .subject_cn = cn,
                .key = ec_key(key_slot),
                .now = NOW,
                .not_before = -YEAR,
                .not_after = 20 * YEAR,
                .ca = true,
        };
}

static TestCertSpec inter_spec(const Pki *pki) {
        return (TestCertSpec) {
                .subject_cn = "inter",
                .key = ec_key(KEY_INTER),
                .issuer = pki->root,
                .issuer_key = ec_key(KEY_ROOT),
                .now = NOW,
                .not_before = -YEAR,
                .not_after = 5 * YEAR,
                .ca = true,
        };
}

static TestCertSpec leaf_spec(const Pki *pki) {
        return (TestCertSpec) {
                .subject_cn = "leaf",
                .key = ec_key(KEY_LEAF),
                .issuer = pki->inter,
                .issuer_key = ec_key(KEY_INTER),
                .now = NOW,
                .not_before = -DAY,
                .not_after = 90 * DAY,
                .dns = localhost_names,
                .ips = loopback_ips,
        };
}

/* Builds whatever of root, intermediate and leaf is still missing, from the default specs. */
static void pki_complete(Pki *pki) {
        if (!pki->root) {
                TestCertSpec spec = root_spec("root", KEY_ROOT);
                pki->root = cert_new(&spec);
        }
        if (!pki->inter) {
                TestCertSpec spec = inter_spec(pki);
                pki->inter = cert_new(&spec);
        }
        if (!pki->leaf) {
                TestCertSpec spec = leaf_spec(pki);
                pki->leaf = cert_new(&spec);
        }
}

/* Verifies `served` against `roots` as the handshake would, runs the analysis and derives the
 * statuses; the report is the caller's. */
static AddressReport *check_full_choice(Report **ret_report, X509_STORE *roots, STACK_OF(X509) *served,
                                        const char *server_name, unsigned warn_days, unsigned crit_days,
                                        SeverityChoice name_only_in_cn) {
        _cleanup_(test_chain_freep) STACK_OF(X509) *verified = NULL;
        VerifyError errors[VERIFY_ERRORS_MAX];
        size_t n_errors = 0;
        Report *report;
        AddressReport *a;

        assert_int_equal(test_verify(roots, served, NOW, &verified, errors, &n_errors), 0);
        if (getenv("TEST_CERT_CHECK_DEBUG"))
                for (size_t i = 0; i < n_errors; i++)
                        print_message("verify error %d at depth %d: %s\n", errors[i].code, errors[i].depth,
                                      X509_verify_cert_error_string(errors[i].code));

        report = calloc(1, sizeof(Report));
        assert_non_null(report);
        *ret_report = report;
        a = report_add_address(report, "127.0.0.1");
        assert_non_null(a);

        CertCheckInput input = {
                .served = served,
                .verified = verified,
                .errors = errors,
                .n_errors = n_errors,
                .server_name = server_name,
                .now = NOW,
                .name_only_in_cn = name_only_in_cn,
        };
        /* Explicit days, as the tests written before lifetimes expect; UINT_MAX: the default lifetime
         * policy. */
        if (warn_days != UINT_MAX)
                input.expiry = (ExpiryPolicy) { .days_set = true, .warn_days = warn_days, .crit_days = crit_days };
        assert_int_equal(cert_check(&input, a), 0);
        assert_int_equal(report_finalize(report), 0);

        for (size_t i = 0; i < a->problems.n; i++) {
                assert_non_null(a->problems.items[i].message);
                assert_true(strlen(a->problems.items[i].message) > 0);
        }
        for (size_t i = 0; i < a->n_chain; i++) {
                assert_non_null(a->chain[i].certificate);
                assert_true(a->chain[i].certificate->n_ref >= 1);
                assert_non_null(a->chain[i].certificate->subject);
                assert_non_null(a->chain[i].certificate->issuer);
        }
        return a;
}

static AddressReport *check_full(Report **ret_report, X509_STORE *roots, STACK_OF(X509) *served,
                                 const char *server_name, unsigned warn_days, unsigned crit_days) {
        return check_full_choice(ret_report, roots, served, server_name, warn_days, crit_days,
                                 SEVERITY_CHOICE_DEFAULT);
}

static AddressReport *check(Report **ret_report, X509_STORE *roots, STACK_OF(X509) *served) {
        return check_full(ret_report, roots, served, "localhost", 30, 7);
}

#define ANY INT_MIN

typedef struct Expect {
        ProblemCode code;
        Status severity;
        int depth;       /* ANY: not checked */
        int verify_code; /* ANY: not checked */
} Expect;

static bool expect_matches(const Expect *e, const Problem *p) {
        return p->code == e->code && p->severity == e->severity &&
                (e->depth == ANY || p->depth == e->depth) &&
                (e->verify_code == ANY || p->verify_code == e->verify_code);
}

static void dump_problems(const AddressReport *a) {
        for (size_t i = 0; i < a->problems.n; i++) {
                const Problem *p = &a->problems.items[i];
                print_message("  got %s/%s depth %d verify_code %d: %s\n", problem_code_to_string(p->code),
                              status_to_string(p->severity), p->depth, p->verify_code, p->message);
        }
}

/* Exactly these problems, in any order, and no other. */
static void assert_problems_(const AddressReport *a, const Expect *expected, size_t n_expected,
                             const char *file, int line) {
        bool used[64] = {};
        bool ok = a->problems.n == n_expected && n_expected <= ELEMENTSOF(used);

        for (size_t i = 0; ok && i < n_expected; i++) {
                bool found = false;

                for (size_t j = 0; j < a->problems.n && !found; j++)
                        if (!used[j] && expect_matches(&expected[i], &a->problems.items[j]))
                                found = used[j] = true;
                ok = found;
        }
        if (ok)
                return;

        for (size_t i = 0; i < n_expected; i++) {
                const Expect *e = &expected[i];
                print_message("  expected %s/%s depth %d verify_code %d\n", problem_code_to_string(e->code),
                              status_to_string(e->severity), e->depth, e->verify_code);
        }
        dump_problems(a);
        _fail(file, line);
}

#define assert_problems(a, ...)                                                   \
        assert_problems_(a, (const Expect[]) { __VA_ARGS__ },                     \
                         ELEMENTSOF(((const Expect[]) { __VA_ARGS__ })), __FILE__, __LINE__)
#define assert_no_problems(a) assert_problems_(a, NULL, 0, __FILE__, __LINE__)

static const Problem *find_problem(const AddressReport *a, ProblemCode code) {
        for (size_t i = 0; i < a->problems.n; i++)
                if (a->problems.items[i].code == code)
                        return &a->problems.items[i];
        fail_msg("no %s problem", problem_code_to_string(code));
        return NULL;
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!strstr(haystack, needle))
                fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void assert_near(double value, double expected) {
        if (fabs(value - expected) > 0.001)
                fail_msg("%f is not %f", value, expected);
}

/* Every string the report carries ends up in JSON, which jansson refuses unless it is UTF-8. */
static bool utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                int n = *p < 0x80 ? 0 :
                        (*p & 0xe0) == 0xc0 ? 1 :
                        (*p & 0xf0) == 0xe0 ? 2 :
                        (*p & 0xf8) == 0xf0 ? 3 : -1;

                if (n < 0)
                        return false;
                p++;
                for (int i = 0; i < n; i++, p++)
                        if ((*p & 0xc0) != 0x80)
                                return false;
        }
        return true;
}

/* --- trust and completeness ------------------------------------------------------------------ */

static void test_good_chain(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;
        unsigned char digest[32];
        unsigned digest_length = 0;
        char hex[65];

        AddressReport *a = check(&report, roots, served);
        assert_no_problems(a);
        assert_int_equal(a->status, STATUS_OK);
        assert_int_equal(report->status, STATUS_OK);

        assert_int_equal(a->n_chain, 3);
        assert_true(a->chain[0].sent);
        assert_true(a->chain[1].sent);
        assert_false(a->chain[2].sent);
        assert_string_equal(a->chain[0].certificate->subject, "CN=leaf");
        assert_string_equal(a->chain[0].certificate->issuer, "CN=inter");
        assert_string_equal(a->chain[1].certificate->subject, "CN=inter");
        assert_string_equal(a->chain[1].certificate->issuer, "CN=root");
        assert_string_equal(a->chain[2].certificate->subject, "CN=root");
        assert_string_equal(a->chain[2].certificate->issuer, "CN=root");

        char when[32];
        assert_string_equal(format_timestamp_rfc3339(when, sizeof(when), a->chain[0].certificate->not_before),
                            "2025-12-31T00:00:00Z");
        assert_string_equal(format_timestamp_rfc3339(when, sizeof(when), a->chain[0].certificate->not_after),
                            "2026-04-01T00:00:00Z");
        assert_near(certificate_days_left(a->chain[0].certificate, a->checked_at), 90);
        assert_near(certificate_days_left(a->chain[1].certificate, a->checked_at), 5 * 365);
        assert_true(a->has_days_left);
        assert_near(a->days_left, 90);

        assert_int_equal(X509_digest(pki.leaf, EVP_sha256(), digest, &digest_length), 1);
        for (unsigned i = 0; i < digest_length; i++)
                snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        char sha256[65];
        certificate_sha256_hex(a->chain[0].certificate, sha256);
        assert_string_equal(sha256, hex);
        assert_memory_equal(a->chain[0].certificate->sha256, digest, 32);
        assert_string_equal(a->chain[0].certificate->signature_algorithm, "ecdsa-with-SHA256");
        /* The forms tlswatchctl(1) documents for "key": {"type": "EC", "bits": 256}. */
        assert_string_equal(a->chain[0].certificate->key_type, "EC");
        assert_int_equal(a->chain[0].certificate->key_bits, 256);
}

static void test_leaf_issued_by_root(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.issuer = pki.root;
        spec.issuer_key = ec_key(KEY_ROOT);
        _cleanup_(X509_freep) X509 *leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(leaf, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* No intermediate exists, so none is missing. */
        AddressReport *a = check(&report, roots, served);
        assert_no_problems(a);
        assert_int_equal(a->n_chain, 2);
        assert_true(a->chain[0].sent);
        assert_false(a->chain[1].sent);
}

static void test_incomplete_chain_unknown_intermediate(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* The cause for the one who fixes it, and the effect for whoever alerts on a chain that does
         * not verify: both codes, each with the verify code. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_INCOMPLETE_CHAIN, STATUS_CRITICAL, 0,
                             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
                        { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 0,
                          X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY });
        assert_contains(find_problem(a, PROBLEM_INCOMPLETE_CHAIN)->message, "\"CN=inter\"");
        assert_contains(find_problem(a, PROBLEM_CHAIN_UNVERIFIED)->message, "verify code 20");
        assert_int_equal(a->status, STATUS_CRITICAL);
        assert_int_equal(a->n_chain, 1);
}

static void test_incomplete_chain_store_has_intermediate(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, pki.inter, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* It verifies here, but only because this store happens to hold the intermediate. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_INCOMPLETE_CHAIN, STATUS_WARNING, 1, -1 });
        assert_contains(find_problem(a, PROBLEM_INCOMPLETE_CHAIN)->message, "\"CN=inter\"");
        assert_int_equal(a->status, STATUS_WARNING);
        assert_int_equal(a->n_chain, 3);
        assert_true(a->chain[0].sent);
        assert_false(a->chain[1].sent);
        assert_false(a->chain[2].sent);
}

static void test_self_signed_leaf(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.issuer = NULL;
        spec.issuer_key = NULL;
        _cleanup_(X509_freep) X509 *leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(leaf, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 0,
                             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT });
        assert_int_equal(a->n_chain, 1);
}

static void test_untrusted_root_sent(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec other_spec = root_spec("other root", KEY_OTHER_ROOT);
        _cleanup_(X509_freep) X509 *other = cert_new(&other_spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(other, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served =
                test_chain_new(pki.leaf, pki.inter, pki.root, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 2,
                             X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN });
        assert_int_equal(a->n_chain, 3);
        assert_true(a->chain[2].sent);
}

static void test_unknown_root_not_sent(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec other_spec = root_spec("other root", KEY_OTHER_ROOT);
        _cleanup_(X509_freep) X509 *other = cert_new(&other_spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(other, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* The listener did send its intermediate: the root is what is missing, a trust problem. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 1, ANY });
        int code = find_problem(a, PROBLEM_CHAIN_UNVERIFIED)->verify_code;
        assert_true(IN_SET(code, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                           X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT));
        assert_false(problem_list_has(&a->problems, PROBLEM_INCOMPLETE_CHAIN));
}

static void test_wrong_intermediate_sent(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec other_spec = root_spec("other CA", KEY_OTHER_ROOT);
        _cleanup_(X509_freep) X509 *other = cert_new(&other_spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, other, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* A stale chain file: what is sent with the leaf did not issue it, so the issuer is missing. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_INCOMPLETE_CHAIN, STATUS_CRITICAL, 0,
                             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
                        { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 0,
                          X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY });
}

static void test_intermediate_not_ca(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = inter_spec(&pki);
        spec.ca = false;
        X509_free(pki.inter);
        X509_free(pki.leaf);
        pki.leaf = NULL;
        pki.inter = cert_new(&spec);
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, 1, X509_V_ERR_INVALID_CA });
}

/* --- dates ----------------------------------------------------------------------------------- */

static void test_expired_leaf(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.not_before = -100 * DAY;
        spec.not_after = -DAY;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* OpenSSL reports CERT_HAS_EXPIRED; that is a date finding, not distrust. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_EXPIRED, STATUS_CRITICAL, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_EXPIRED)->message, "\"CN=leaf\"");
        assert_contains(find_problem(a, PROBLEM_EXPIRED)->message, "2025-12-31T00:00:00Z");
        assert_near(certificate_days_left(a->chain[0].certificate, a->checked_at), -1);
        assert_near(a->days_left, -1);
}

static void test_not_yet_valid_leaf(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.not_before = DAY;
        spec.not_after = 90 * DAY;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_NOT_YET_VALID, STATUS_CRITICAL, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_NOT_YET_VALID)->message, "2026-01-02T00:00:00Z");
}

static void test_expired_intermediate(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = inter_spec(&pki);
        spec.not_before = -2 * YEAR;
        spec.not_after = -DAY;
        X509_free(pki.inter);
        X509_free(pki.leaf);
        pki.leaf = NULL;
        pki.inter = cert_new(&spec);
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_EXPIRED, STATUS_CRITICAL, 1, -1 });
        assert_contains(find_problem(a, PROBLEM_EXPIRED)->message, "\"CN=inter\"");
}

/* Let's Encrypt until 2024: leaf, R3, and "ISRG Root X1" cross-signed by the expired "DST Root CA X3"
 * for old Android. Clients that trust the self-signed ISRG Root X1 never use the cross-sign, so
 * its expiry must not count. */
static void test_lets_encrypt_cross_sign(void **state) {
        TestCertSpec isrg_spec = root_spec("ISRG Root X1", KEY_ROOT);
        TestCertSpec dst_spec = root_spec("DST Root CA X3", KEY_OTHER_ROOT);
        dst_spec.not_before = -20 * YEAR;
        dst_spec.not_after = -4 * YEAR;
        _cleanup_(X509_freep) X509 *isrg = cert_new(&isrg_spec);
        _cleanup_(X509_freep) X509 *dst = cert_new(&dst_spec);

        TestCertSpec cross_spec = isrg_spec;
        cross_spec.issuer = dst;
        cross_spec.issuer_key = ec_key(KEY_OTHER_ROOT);
        cross_spec.not_before = -5 * YEAR;
        cross_spec.not_after = -YEAR;
        _cleanup_(X509_freep) X509 *cross = cert_new(&cross_spec);

        _cleanup_(pki_clear) Pki pki = { .root = X509_dup(isrg) };
        assert_non_null(pki.root);
        pki_complete(&pki);

        _cleanup_(test_chain_freep) STACK_OF(X509) *served =
                test_chain_new(pki.leaf, pki.inter, cross, NULL);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(isrg, NULL);
        _cleanup_(X509_STORE_freep) X509_STORE *old_roots = test_store_new(isrg, dst, NULL);
        _cleanup_(report_freep) Report *report = NULL;
        _cleanup_(report_freep) Report *old_report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_no_problems(a);
        assert_int_equal(a->status, STATUS_OK);
        assert_int_equal(a->n_chain, 3);
        assert_string_equal(a->chain[2].certificate->subject, "CN=ISRG Root X1");
        assert_string_equal(a->chain[2].certificate->issuer, "CN=ISRG Root X1");
        assert_false(a->chain[2].sent);
        assert_near(a->days_left, 90);

        /* A store that still holds the expired DST root changes nothing: trusted-first wins. */
        a = check(&old_report, old_roots, served);
        assert_no_problems(a);
}

static AddressReport *check_leaf_expiring(Report **ret_report, long not_after, unsigned warn_days,
                                          unsigned crit_days) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.not_after = not_after;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);

        return check_full(ret_report, roots, served, "localhost", warn_days, crit_days);
}

static void test_expires_soon_warning(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_expiring(&report, 10 * DAY, 30, 7);
        assert_problems(a, { PROBLEM_EXPIRES_SOON, STATUS_WARNING, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_EXPIRES_SOON)->message, "10.0 days");
        assert_near(a->days_left, 10);
        assert_int_equal(a->status, STATUS_WARNING);
}

static void test_expires_soon_critical(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_expiring(&report, 3 * DAY, 30, 7);
        assert_problems(a, { PROBLEM_EXPIRES_SOON, STATUS_CRITICAL, 0, -1 });
        assert_int_equal(a->status, STATUS_CRITICAL);
}

static void test_expires_later_than_warn(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_expiring(&report, 10 * DAY, 5, 2);
        assert_no_problems(a);
        assert_near(a->days_left, 10);
}

/* The default policy on a real chain: a 6-day leaf (1 day before, 5 after now) is fine; with 20 hours
 * left it is critical, the message giving the floor and the lifetime; a 90-day one with 20 days left is
 * renewal_overdue, naming the lifetime and when renewal was due. */
static AddressReport *check_leaf_window(Report **ret_report, long not_before, long not_after) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.not_before = not_before;
        spec.not_after = not_after;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);

        return check_full(ret_report, roots, served, "localhost", UINT_MAX, UINT_MAX);
}

static void test_lifetime_policy_six_days(void **state) {
        _cleanup_(report_freep) Report *fresh = NULL, *late = NULL;
        const long HOUR = 3600;

        AddressReport *a = check_leaf_window(&fresh, -DAY, 5 * DAY);
        assert_no_problems(a);
        assert_int_equal(a->status, STATUS_OK);

        a = check_leaf_window(&late, -(6 * DAY - 20 * HOUR), 20 * HOUR);
        assert_problems(a, { PROBLEM_EXPIRES_SOON, STATUS_CRITICAL, 0, -1 });
        const char *message = find_problem(a, PROBLEM_EXPIRES_SOON)->message;
        assert_contains(message, "expires in 20.0 hours");
        assert_contains(message, "less than the 24.0 hours a renewal needs");
        assert_contains(message, "6.0 days lifetime");
}

static void test_lifetime_policy_renewal_overdue(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_window(&report, -70 * DAY, 20 * DAY);
        assert_problems(a, { PROBLEM_RENEWAL_OVERDUE, STATUS_WARNING, 0, -1 });
        const char *message = find_problem(a, PROBLEM_RENEWAL_OVERDUE)->message;
        assert_contains(message, "expires in 20.0 days");
        assert_contains(message, "22% of its 90.0 days lifetime left");
        /* Renewal was due at a third of 90 days left: 30 days before notAfter (2026-01-21). */
        assert_contains(message, "should have renewed it by 2025-12-22T00:00:00Z (33% left)");
        assert_int_equal(a->status, STATUS_WARNING);
}

/* CA certificates are judged by the fixed days also under the default policy: an intermediate with 5
 * days left is critical although the fresh leaf is fine. */
static void test_lifetime_policy_intermediate_by_days(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = inter_spec(&pki);
        spec.not_after = 5 * DAY;
        X509_free(pki.inter);
        X509_free(pki.leaf);
        pki.leaf = NULL;
        pki.inter = cert_new(&spec);
        spec = leaf_spec(&pki);
        spec.not_after = 4 * DAY;
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_full(&report, roots, served, "localhost", UINT_MAX, UINT_MAX);
        assert_problems(a, { PROBLEM_EXPIRES_SOON, STATUS_CRITICAL, 1, -1 });
}

static void test_intermediate_expires_first(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = inter_spec(&pki);
        spec.not_after = 5 * DAY;
        X509_free(pki.inter);
        X509_free(pki.leaf);
        pki.leaf = NULL;
        pki.inter = cert_new(&spec);
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* The whole path expires with its earliest certificate, whichever that is. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_EXPIRES_SOON, STATUS_CRITICAL, 1, -1 });
        assert_near(a->days_left, 5);
}

/* --- names ----------------------------------------------------------------------------------- */

static AddressReport *check_leaf_names(Report **ret_report, const char *const *dns, const char *const *ips,
                                       const char *server_name) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.dns = dns;
        spec.ips = ips;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);

        return check_full(ret_report, roots, served, server_name, 30, 7);
}

static void test_hostname_mismatch(void **state) {
        static const char *const wrong[] = { "wrong.example", NULL };
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_names(&report, wrong, NULL, "localhost");
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message, "wrong.example");
        assert_contains(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message, "\"localhost\"");
}

static void test_hostname_not_checked(void **state) {
        static const char *const wrong[] = { "wrong.example", NULL };
        _cleanup_(report_freep) Report *report = NULL;
        _cleanup_(report_freep) Report *report_empty = NULL;

        assert_no_problems(check_leaf_names(&report, wrong, NULL, NULL));
        assert_no_problems(check_leaf_names(&report_empty, wrong, NULL, ""));
}

static void test_hostname_ip(void **state) {
        static const char *const v4[] = { "127.0.0.1", NULL };
        static const char *const v6[] = { "::1", NULL };
        _cleanup_(report_freep) Report *r1 = NULL;
        _cleanup_(report_freep) Report *r2 = NULL;
        _cleanup_(report_freep) Report *r3 = NULL;
        _cleanup_(report_freep) Report *r4 = NULL;
        _cleanup_(report_freep) Report *r5 = NULL;
        _cleanup_(report_freep) Report *r6 = NULL;
        AddressReport *a;

        assert_no_problems(check_leaf_names(&r1, localhost_names, v4, "127.0.0.1"));
        assert_no_problems(check_leaf_names(&r2, localhost_names, v6, "::1"));
        assert_no_problems(check_leaf_names(&r3, localhost_names, v6, "0:0:0:0:0:0:0:1"));

        a = check_leaf_names(&r4, localhost_names, loopback_ips, "127.0.0.2");
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message, "localhost, 127.0.0.1, ::1");

        /* An IPv4 address in an IPv6 SAN is a different address. */
        a = check_leaf_names(&r5, localhost_names, v6, "127.0.0.1");
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });

        /* An address is checked against iPAddress entries only, never against a dNSName that spells it
         * (RFC 6125 6.2.1). */
        static const char *const dns_spelling_ip[] = { "127.0.0.1", NULL };
        a = check_leaf_names(&r6, dns_spelling_ip, NULL, "127.0.0.1");
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
}

static void test_hostname_wildcard(void **state) {
        static const char *const wildcard[] = { "*.example.com", NULL };
        _cleanup_(report_freep) Report *r1 = NULL;
        _cleanup_(report_freep) Report *r2 = NULL;
        _cleanup_(report_freep) Report *r3 = NULL;

        assert_no_problems(check_leaf_names(&r1, wildcard, NULL, "a.example.com"));
        /* A wildcard covers exactly one label (RFC 6125 6.4.3). */
        assert_problems(check_leaf_names(&r2, wildcard, NULL, "example.com"),
                        { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        assert_problems(check_leaf_names(&r3, wildcard, NULL, "a.b.example.com"),
                        { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
}

static void test_hostname_case_insensitive(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        /* DNS names compare without regard to case (RFC 4343). */
        assert_no_problems(check_leaf_names(&report, localhost_names, NULL, "LocalHost"));
}

static void test_hostname_no_san(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_names(&report, NULL, NULL, "example.org");
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message, "no DNS or IP names");
}

/* A leaf with this CN and these subjectAltName entries (none: no extension at all), checked for
 * `server_name` with the name_only_in_cn severity `choice`. */
static AddressReport *check_leaf_cn(Report **ret_report, const char *cn, const char *const *dns,
                                    const char *const *ips, const char *server_name, SeverityChoice choice) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.subject_cn = cn;
        spec.dns = dns;
        spec.ips = ips;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        /* The case is about the extension's absence: make sure the factory left it out. */
        if (!dns && !ips)
                assert_int_equal(X509_get_ext_by_NID(pki.leaf, NID_subject_alt_name, -1), -1);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);

        return check_full_choice(ret_report, roots, served, server_name, 30, 7, choice);
}

static void test_name_only_in_cn(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        /* OpenSSL matches "localhost" through the CN; the report says it is the CN alone, a warning. */
        AddressReport *a =
                check_leaf_cn(&report, "localhost", NULL, NULL, "localhost", SEVERITY_CHOICE_DEFAULT);
        assert_problems(a, { PROBLEM_NAME_ONLY_IN_CN, STATUS_WARNING, 0, -1 });
        assert_int_equal(a->status, STATUS_WARNING);
        const char *message = find_problem(a, PROBLEM_NAME_ONLY_IN_CN)->message;
        assert_contains(message, "\"localhost\" is only in the certificate's subject CN");
        /* It names who refuses it, and the fix. */
        assert_contains(message, "Chrome");
        assert_contains(message, "Go 1.15");
        assert_contains(message, "rustls");
        assert_contains(message, "reissue it with subjectAltName DNS:localhost");
        /* Identity is proven (OpenSSL's own clients accept it): the MQTT password still goes. */
        assert_true(cert_check_identity_verified(&a->problems));
}

static void test_name_only_in_cn_cases(void **state) {
        static const char *const other[] = { "other.example", NULL };
        static const char *const v4[] = { "127.0.0.1", NULL };
        _cleanup_(report_freep) Report *r1 = NULL;
        _cleanup_(report_freep) Report *r2 = NULL;
        _cleanup_(report_freep) Report *r3 = NULL;
        _cleanup_(report_freep) Report *r4 = NULL;
        _cleanup_(report_freep) Report *r5 = NULL;
        _cleanup_(report_freep) Report *r6 = NULL;
        _cleanup_(report_freep) Report *r7 = NULL;

        /* The name in subjectAltName too: nothing to say. */
        assert_no_problems(check_leaf_cn(&r1, "localhost", localhost_names, NULL, "localhost",
                                         SEVERITY_CHOICE_DEFAULT));
        /* A subjectAltName with only IP addresses holds no DNS name: OpenSSL still falls back to the CN. */
        assert_problems(check_leaf_cn(&r2, "localhost", NULL, v4, "localhost", SEVERITY_CHOICE_DEFAULT),
                        { PROBLEM_NAME_ONLY_IN_CN, STATUS_WARNING, 0, -1 });
        /* With a DNS name in subjectAltName, OpenSSL ignores the CN: a mismatch, as for every client. */
        assert_problems(check_leaf_cn(&r3, "localhost", other, NULL, "localhost", SEVERITY_CHOICE_DEFAULT),
                        { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        /* A CN wildcard matches one label, through the CN alone too. */
        assert_problems(check_leaf_cn(&r4, "*.example.com", NULL, NULL, "a.example.com",
                                      SEVERITY_CHOICE_DEFAULT),
                        { PROBLEM_NAME_ONLY_IN_CN, STATUS_WARNING, 0, -1 });
        /* An IP address is never matched against the CN, by OpenSSL or anyone: a mismatch. */
        assert_problems(check_leaf_cn(&r5, "127.0.0.1", NULL, NULL, "127.0.0.1", SEVERITY_CHOICE_DEFAULT),
                        { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        /* A CN that is not the name: a mismatch, not name_only_in_cn. */
        assert_problems(check_leaf_cn(&r6, "elsewhere.example", NULL, NULL, "localhost",
                                      SEVERITY_CHOICE_DEFAULT),
                        { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        /* No name to check: nothing. */
        assert_no_problems(check_leaf_cn(&r7, "localhost", NULL, NULL, NULL, SEVERITY_CHOICE_DEFAULT));
}

static void test_name_only_in_cn_severity(void **state) {
        _cleanup_(report_freep) Report *r1 = NULL;
        _cleanup_(report_freep) Report *r2 = NULL;
        _cleanup_(report_freep) Report *r3 = NULL;
        AddressReport *a;

        /* NameOnlyInCN=note: listed, and the status stays ok. */
        a = check_leaf_cn(&r1, "localhost", NULL, NULL, "localhost", SEVERITY_CHOICE_NOTE);
        assert_problems(a, { PROBLEM_NAME_ONLY_IN_CN, STATUS_OK, 0, -1 });
        assert_int_equal(a->status, STATUS_OK);
        assert_int_equal(r1->status, STATUS_OK);
        a = check_leaf_cn(&r2, "localhost", NULL, NULL, "localhost", SEVERITY_CHOICE_CRITICAL);
        assert_problems(a, { PROBLEM_NAME_ONLY_IN_CN, STATUS_CRITICAL, 0, -1 });
        assert_int_equal(r2->status, STATUS_CRITICAL);
        a = check_leaf_cn(&r3, "localhost", NULL, NULL, "localhost", SEVERITY_CHOICE_WARNING);
        assert_problems(a, { PROBLEM_NAME_ONLY_IN_CN, STATUS_WARNING, 0, -1 });
}

/* --- strength -------------------------------------------------------------------------------- */

static AddressReport *check_leaf_key(Report **ret_report, EVP_PKEY *key, const EVP_MD *digest) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.key = key;
        spec.digest = digest;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);

        return check(ret_report, roots, served);
}

static void test_weak_rsa_key(void **state) {
        EVP_PKEY *key = test_key(TEST_KEY_RSA, 1024, 0);
        _cleanup_(report_freep) Report *report = NULL;

        assert_non_null(key);
        AddressReport *a = check_leaf_key(&report, key, NULL);
        assert_problems(a, { PROBLEM_WEAK_KEY, STATUS_WARNING, 0, -1 });
        assert_contains(find_problem(a, PROBLEM_WEAK_KEY)->message, "\"CN=leaf\"");
        assert_contains(find_problem(a, PROBLEM_WEAK_KEY)->message, "1024");
        assert_string_equal(a->chain[0].certificate->key_type, "RSA");
        assert_int_equal(a->chain[0].certificate->key_bits, 1024);
}

static void test_rsa_2048_key(void **state) {
        EVP_PKEY *key = test_key(TEST_KEY_RSA, 2048, 0);
        _cleanup_(report_freep) Report *report = NULL;

        assert_non_null(key);
        AddressReport *a = check_leaf_key(&report, key, NULL);
        assert_no_problems(a);
        assert_string_equal(a->chain[0].certificate->key_type, "RSA");
        assert_int_equal(a->chain[0].certificate->key_bits, 2048);
}

static void test_sha1_leaf(void **state) {
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_key(&report, ec_key(KEY_LEAF), EVP_sha1());
        assert_problems(a, { PROBLEM_WEAK_SIGNATURE, STATUS_WARNING, 0, -1 });
        assert_string_equal(a->chain[0].certificate->signature_algorithm, "ecdsa-with-SHA1");
        assert_contains(find_problem(a, PROBLEM_WEAK_SIGNATURE)->message, "ecdsa-with-SHA1");
}

static void test_sha1_intermediate(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = inter_spec(&pki);
        spec.digest = EVP_sha1();
        X509_free(pki.inter);
        X509_free(pki.leaf);
        pki.leaf = NULL;
        pki.inter = cert_new(&spec);
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_WEAK_SIGNATURE, STATUS_WARNING, 1, -1 });
}

static void test_sha1_trusted_root(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        TestCertSpec spec = root_spec("root", KEY_ROOT);
        spec.digest = EVP_sha1();
        pki.root = cert_new(&spec);
        pki_complete(&pki);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* A trust anchor's self-signature is never relied on. */
        AddressReport *a = check(&report, roots, served);
        assert_no_problems(a);
        assert_string_equal(a->chain[2].certificate->signature_algorithm, "ecdsa-with-SHA1");
}

/* --- degenerate and hostile input ------------------------------------------------------------ */

static void test_no_peer_certificate(void **state) {
        _cleanup_(test_chain_freep) STACK_OF(X509) *empty = sk_X509_new_null();
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(NULL);
        _cleanup_(report_freep) Report *report_null = NULL;
        _cleanup_(report_freep) Report *report_empty = NULL;
        AddressReport *a;

        assert_non_null(empty);
        assert_non_null(roots);

        a = check(&report_null, roots, NULL);
        assert_problems(a, { PROBLEM_NO_PEER_CERTIFICATE, STATUS_CRITICAL, -1, -1 });
        assert_int_equal(a->n_chain, 0);
        assert_false(a->has_days_left);

        a = check(&report_empty, roots, empty);
        assert_problems(a, { PROBLEM_NO_PEER_CERTIFICATE, STATUS_CRITICAL, -1, -1 });
        assert_int_equal(a->n_chain, 0);
        assert_false(a->has_days_left);
}

static void test_huge_subject(void **state) {
        const size_t size = 64 * 1024;
        _cleanup_free_ char *huge_a = malloc(size + 1);
        _cleanup_free_ char *huge_b = malloc(size + 1);

        assert_non_null(huge_a);
        assert_non_null(huge_b);
        memset(huge_a, 'A', size);
        huge_a[size] = 0;
        memset(huge_b, 'B', size);
        huge_b[size] = 0;

        _cleanup_(pki_clear) Pki pki = {};
        TestCertSpec root = root_spec("root", KEY_ROOT);
        pki.root = cert_new(&root);
        TestCertSpec inter = inter_spec(&pki);
        inter.subject_cn = huge_b;
        pki.inter = cert_new(&inter);
        TestCertSpec leaf = leaf_spec(&pki);
        leaf.subject_cn = huge_a;
        leaf.not_before = -100 * DAY;
        leaf.not_after = -DAY;
        pki.leaf = cert_new(&leaf);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        /* Expired, so a message quotes the subject too. */
        AddressReport *a = check(&report, roots, served);
        assert_problems(a, { PROBLEM_EXPIRED, STATUS_CRITICAL, 0, -1 });
        assert_int_equal(a->n_chain, 3);
        for (size_t i = 0; i < 2; i++) {
                assert_true(strlen(a->chain[i].certificate->subject) <= 512);
                assert_true(strlen(a->chain[i].certificate->issuer) <= 512);
        }
        assert_true(strncmp(a->chain[0].certificate->subject, "CN=AAAA", 7) == 0);
        assert_true(strncmp(a->chain[0].certificate->issuer, "CN=BBBB", 7) == 0);
        assert_true(strncmp(a->chain[1].certificate->subject, "CN=BBBB", 7) == 0);
        assert_string_equal(a->chain[1].certificate->issuer, "CN=root");
        assert_true(strlen(a->problems.items[0].message) < 1024);
}

static void test_san_with_nul(void **state) {
        static const char nul_name[] = "evil.example\0.localhost";
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.dns = NULL;
        spec.ips = NULL;
        spec.raw_dns = nul_name;
        spec.raw_dns_length = sizeof(nul_name) - 1;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *r1 = NULL;
        _cleanup_(report_freep) Report *r2 = NULL;
        static const char tail[] = "or probe the name clients use";

        AddressReport *a = check_full(&r1, roots, served, "localhost", 30, 7);
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
        const char *message = find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message;
        /* The whole message is before the first NUL: nothing in the name cut it short. */
        size_t length = strlen(message);
        assert_true(length > strlen(tail));
        assert_string_equal(message + length - strlen(tail), tail);
        assert_contains(message, "evil.example");

        /* Nor does the part before the NUL match: OpenSSL refuses such names outright. */
        a = check_full(&r2, roots, served, "evil.example", 30, 7);
        assert_problems(a, { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1 });
}

static void test_name_is_ip(void **state) {
        assert_true(cert_check_name_is_ip("127.0.0.1"));
        assert_true(cert_check_name_is_ip("::1"));
        assert_true(cert_check_name_is_ip("2001:db8::1"));
        assert_false(cert_check_name_is_ip("localhost"));
        assert_false(cert_check_name_is_ip("1.2.3"));
        assert_false(cert_check_name_is_ip(""));
        assert_false(cert_check_name_is_ip("[::1]"));
        assert_false(cert_check_name_is_ip("127.0.0.1.example"));
}

/* --- regressions: each of these once failed ------------------------------------------------ */

/* Trusted-first chain building takes an intermediate from the store even when the listener sends one.
 * If the store's copy is another issue of the same CA certificate (same name and key, other validity:
 * a CA file bundling its intermediate, renewed since), the path holds the store's copy, chain_contains()
 * compares DER, and the listener is told it does not send an intermediate it does send. */
static void test_regression_store_has_other_issue_of_sent_intermediate(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = inter_spec(&pki);
        spec.not_before = -2 * DAY;
        spec.not_after = 3 * YEAR;
        _cleanup_(X509_freep) X509 *renewed_inter = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, renewed_inter, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_no_problems(a);
}

/* A dNSName is cut to MIN(length, 64) but lands in a 54-byte item buffer, so a name of 54 to 64
 * characters is silently shown cut short, without a mark that it was. */
static void test_regression_long_san_cut(void **state) {
        /* 60 characters, under the 63 of one DNS label. */
        static const char *const long_name[] = {
                "abcdefghijklmnopqrstuvwxyz0123456789abcdefghij.example.com",
                NULL,
        };
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check_leaf_names(&report, long_name, NULL, "localhost");
        assert_contains(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message, long_name[0]);
}

/* An empty subject (RFC 5280 4.1.2.6 allows one when subjectAltName carries the names) prints nothing,
 * so the memory BIO has no buffer and name_to_string() calls strndup(NULL, 0): undefined behaviour,
 * which --enable-sanitizers (-fno-sanitize-recover) turns into an abort of the whole program. It
 * passes without UBSan: glibc happens to survive the call. */
static void test_regression_empty_subject(void **state) {
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.subject_cn = NULL;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_no_problems(a);
        assert_string_equal(a->chain[0].certificate->subject, "");
        assert_string_equal(a->chain[0].certificate->issuer, "CN=inter");
}

/* subject_alt_names_to_string() means to show a NUL inside a dNSName as '?', but "%.*s" stops at the
 * NUL first, so "evil.example\0.localhost" is shown as "evil.example": the report names a host the
 * certificate does not cover. */
static void test_regression_san_nul_shown(void **state) {
        static const char nul_name[] = "evil.example\0.localhost";
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.dns = NULL;
        spec.ips = NULL;
        spec.raw_dns = nul_name;
        spec.raw_dns_length = sizeof(nul_name) - 1;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_contains(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message,
                        "it names evil.example?.localhost:");
}

/* name_to_string() cuts at 512 bytes, which can fall inside a multi-byte UTF-8 sequence; jansson then
 * refuses the subject and the whole report fails to serialise. */
static void test_regression_subject_cut_inside_utf8(void **state) {
        /* "CN=" + 'x' puts every two-byte 'é' at an even offset, so byte 509 is the middle of one. */
        char cn[1 + 2 * 300 + 1] = "x";
        for (size_t i = 0; i < 300; i++)
                memcpy(cn + 1 + 2 * i, "\xc3\xa9", 2);
        cn[sizeof(cn) - 1] = 0;

        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.subject_cn = cn;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_true(strlen(a->chain[0].certificate->subject) <= 512);
        assert_true(utf8_valid(a->chain[0].certificate->subject));
}

/* Only bytes below 0x20 are masked in a dNSName; a hostile name with bytes >= 0x80 reaches the message
 * as invalid UTF-8, with the same JSON failure. */
static void test_regression_san_high_bytes(void **state) {
        static const char high_name[] = "bad\xff\xfe.example";
        _cleanup_(pki_clear) Pki pki = {};
        pki_complete(&pki);
        TestCertSpec spec = leaf_spec(&pki);
        spec.dns = NULL;
        spec.ips = NULL;
        spec.raw_dns = high_name;
        spec.raw_dns_length = sizeof(high_name) - 1;
        X509_free(pki.leaf);
        pki.leaf = cert_new(&spec);
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *served = test_chain_new(pki.leaf, pki.inter, NULL);
        _cleanup_(report_freep) Report *report = NULL;

        AddressReport *a = check(&report, roots, served);
        assert_true(utf8_valid(find_problem(a, PROBLEM_HOSTNAME_MISMATCH)->message));
}

static int group_teardown(void **state) {
        test_keys_free();
        return 0;
}

/* Which findings mean the listener did not prove who it is, so that no password may be sent to it. */
static void test_identity_verified(void **state) {
        static const struct {
                ProblemCode code;
                Status severity;
                bool verified;
        } cases[] = {
                { PROBLEM_EXPIRED, STATUS_CRITICAL, true },
                { PROBLEM_EXPIRES_SOON, STATUS_WARNING, true },
                { PROBLEM_WEAK_KEY, STATUS_WARNING, true },
                { PROBLEM_INCOMPLETE_CHAIN, STATUS_WARNING, true },
                { PROBLEM_INCOMPLETE_CHAIN, STATUS_CRITICAL, false },
                { PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, false },
                { PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, false },
                { PROBLEM_NO_PEER_CERTIFICATE, STATUS_CRITICAL, false },
        };
        ProblemList empty = {};

        assert_true(cert_check_identity_verified(&empty));
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                ProblemList list = {};

                assert_int_equal(problem_list_add(&list, PROBLEM_OLD_TLS_VERSION, STATUS_WARNING, -1, -1, "old"), 0);
                assert_int_equal(problem_list_add(&list, cases[i].code, cases[i].severity, 0, -1, "finding"), 0);
                assert_int_equal(cert_check_identity_verified(&list), cases[i].verified);
                problem_list_clear(&list);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_chain),
                cmocka_unit_test(test_identity_verified),
                cmocka_unit_test(test_leaf_issued_by_root),
                cmocka_unit_test(test_incomplete_chain_unknown_intermediate),
                cmocka_unit_test(test_incomplete_chain_store_has_intermediate),
                cmocka_unit_test(test_self_signed_leaf),
                cmocka_unit_test(test_untrusted_root_sent),
                cmocka_unit_test(test_unknown_root_not_sent),
                cmocka_unit_test(test_wrong_intermediate_sent),
                cmocka_unit_test(test_intermediate_not_ca),
                cmocka_unit_test(test_expired_leaf),
                cmocka_unit_test(test_not_yet_valid_leaf),
                cmocka_unit_test(test_expired_intermediate),
                cmocka_unit_test(test_lets_encrypt_cross_sign),
                cmocka_unit_test(test_expires_soon_warning),
                cmocka_unit_test(test_expires_soon_critical),
                cmocka_unit_test(test_expires_later_than_warn),
                cmocka_unit_test(test_intermediate_expires_first),
                cmocka_unit_test(test_lifetime_policy_six_days),
                cmocka_unit_test(test_lifetime_policy_renewal_overdue),
                cmocka_unit_test(test_lifetime_policy_intermediate_by_days),
                cmocka_unit_test(test_hostname_mismatch),
                cmocka_unit_test(test_hostname_not_checked),
                cmocka_unit_test(test_hostname_ip),
                cmocka_unit_test(test_hostname_wildcard),
                cmocka_unit_test(test_hostname_case_insensitive),
                cmocka_unit_test(test_hostname_no_san),
                cmocka_unit_test(test_name_only_in_cn),
                cmocka_unit_test(test_name_only_in_cn_cases),
                cmocka_unit_test(test_name_only_in_cn_severity),
                cmocka_unit_test(test_weak_rsa_key),
                cmocka_unit_test(test_rsa_2048_key),
                cmocka_unit_test(test_sha1_leaf),
                cmocka_unit_test(test_sha1_intermediate),
                cmocka_unit_test(test_sha1_trusted_root),
                cmocka_unit_test(test_no_peer_certificate),
                cmocka_unit_test(test_huge_subject),
                cmocka_unit_test(test_san_with_nul),
                cmocka_unit_test(test_name_is_ip),
                cmocka_unit_test(test_regression_store_has_other_issue_of_sent_intermediate),
                cmocka_unit_test(test_regression_long_san_cut),
                cmocka_unit_test(test_regression_san_nul_shown),
                cmocka_unit_test(test_regression_subject_cut_inside_utf8),
                cmocka_unit_test(test_regression_san_high_bytes),
                cmocka_unit_test(test_regression_empty_subject),
        };

        return cmocka_run_group_tests(tests, NULL, group_teardown);
}
