/* SPDX-License-Identifier: MIT */
/* The renewal diff on real certificates: each change kind made by the factory (another intermediate,
 * the same or a new key, a SAN dropped, clientAuth dropped, another lifetime), a diff against a leaf
 * rebuilt from the state file (partial), and the pins and nodes_differ the probe reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cert-check.h"
#include "cert-diff.h"
#include "report.h"
#include "test-certs.h"

#define NOW ((time_t) 1790000000)
#define DAY 86400L

typedef struct Pki {
        X509 *root;
        X509 *intermediate;  /* "R10", key 1 */
        X509 *intermediate2; /* "YR1", key 2 */
} Pki;

static Pki pki;

static X509 *make(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long days, bool ca,
                  const char *const *dns, const char *eku) {
        X509 *x = NULL;
        assert_int_equal(test_cert_new(&(TestCertSpec){ .subject_cn = cn,
                                                        .key = key,
                                                        .issuer = issuer,
                                                        .issuer_key = issuer_key,
                                                        .now = NOW,
                                                        .not_before = -DAY,
                                                        .not_after = days * DAY - DAY,
                                                        .ca = ca,
                                                        .dns = dns,
                                                        .extended_key_usage = eku },
                                       &x),
                         0);
        return x;
}

static int setup(void **state) {
        pki.root = make("Root", test_key(TEST_KEY_EC, 256, 0), NULL, NULL, 3650, true, NULL, NULL);
        pki.intermediate = make("R10", test_key(TEST_KEY_EC, 256, 1), pki.root,
                                test_key(TEST_KEY_EC, 256, 0), 1000, true, NULL, NULL);
        pki.intermediate2 = make("YR1", test_key(TEST_KEY_EC, 256, 2), pki.root,
                                 test_key(TEST_KEY_EC, 256, 0), 1000, true, NULL, NULL);
        return 0;
}

static int teardown(void **state) {
        X509_free(pki.root);
        X509_free(pki.intermediate);
        X509_free(pki.intermediate2);
        test_keys_free();
        return 0;
}

static Certificate *describe(X509 *x) {
        Certificate *c = NULL;
        assert_int_equal(cert_check_describe(x, &c), 0);
        return c;
}

/* A leaf under `intermediate` (the first or the second) with key `slot`. */
typedef struct Leaf {
        Certificate *leaf, *intermediate, *root;
} Leaf;

static Leaf leaf_new(unsigned slot, bool second_intermediate, long days, const char *const *dns,
                     const char *eku) {
        X509 *ca = second_intermediate ? pki.intermediate2 : pki.intermediate;
        EVP_PKEY *ca_key = test_key(TEST_KEY_EC, 256, second_intermediate ? 2 : 1);
        _cleanup_(X509_freep) X509 *x = make("broker", test_key(TEST_KEY_EC, 256, slot), ca, ca_key, days,
                                             false, dns, eku);
        return (Leaf){ describe(x), describe(ca), describe(pki.root) };
}

static void leaf_free(Leaf *l) {
        certificate_unref(l->leaf);
        certificate_unref(l->intermediate);
        certificate_unref(l->root);
}

static CertPath path_of(const Leaf *l) {
        return (CertPath){ .leaf = l->leaf, .intermediate = l->intermediate, .root = l->root };
}

static const CertChange *find(const CertDiff *d, CertChangeKind kind) {
        for (size_t i = 0; i < d->n_changes; i++)
                if (d->changes[i].kind == kind)
                        return &d->changes[i];
        return NULL;
}

static const char *const names_ab[] = { "a.example", "b.example", NULL };
static const char *const names_a[] = { "a.example", NULL };
static const char *const names_ac[] = { "a.example", "c.example", NULL };

static void test_same_key_renewal(void **state) {
        Leaf o = leaf_new(3, false, 90, names_ab, "serverAuth,clientAuth");
        Leaf n = leaf_new(3, false, 90, names_ab, "serverAuth,clientAuth");
        _cleanup_(cert_diff_clear) CertDiff d = {};

        assert_int_equal(cert_diff(&(CertPath){ path_of(&o).leaf, o.intermediate, o.root },
                                   &(CertPath){ n.leaf, n.intermediate, n.root }, &d),
                         0);
        /* Only the key's reuse: names, CA, EKU and lifetime are the same. */
        assert_false(d.partial);
        assert_int_equal(d.n_changes, 1);
        assert_int_equal(d.changes[0].kind, CERT_CHANGE_KEY_REUSED);
        char text[512];
        cert_diff_describe(&d, text, sizeof(text));
        assert_non_null(strstr(text, "key reused"));
        leaf_free(&o);
        leaf_free(&n);
}

static void test_new_intermediate_new_key(void **state) {
        Leaf o = leaf_new(3, false, 90, names_ab, NULL);
        Leaf n = leaf_new(4, true, 90, names_ab, NULL);
        _cleanup_(cert_diff_clear) CertDiff d = {};
        CertPath op = path_of(&o), np = path_of(&n);

        assert_int_equal(cert_diff(&op, &np, &d), 0);
        const CertChange *c = find(&d, CERT_CHANGE_INTERMEDIATE);
        assert_non_null(c);
        /* Named by subject and key id, the two things a device pins or ships. */
        assert_non_null(strstr(c->old_value, "CN=R10 (key id "));
        assert_non_null(strstr(c->new_value, "CN=YR1 (key id "));
        assert_non_null(find(&d, CERT_CHANGE_KEY_ROTATED));
        assert_null(find(&d, CERT_CHANGE_KEY_REUSED));
        assert_null(find(&d, CERT_CHANGE_ROOT));   /* the same root */
        assert_null(find(&d, CERT_CHANGE_ISSUER)); /* said by the intermediate change */
        leaf_free(&o);
        leaf_free(&n);
}

static void test_sans_eku_lifetime(void **state) {
        Leaf o = leaf_new(3, false, 90, names_ab, "serverAuth,clientAuth");
        Leaf n = leaf_new(3, false, 6, names_ac, "serverAuth");
        _cleanup_(cert_diff_clear) CertDiff d = {};
        CertPath op = path_of(&o), np = path_of(&n);

        assert_int_equal(cert_diff(&op, &np, &d), 0);
        const CertChange *removed = find(&d, CERT_CHANGE_SAN_REMOVED),
                         *added = find(&d, CERT_CHANGE_SAN_ADDED);
        assert_non_null(removed);
        assert_int_equal(removed->n_names, 1);
        assert_string_equal(removed->names[0], "b.example");
        assert_non_null(added);
        assert_string_equal(added->names[0], "c.example");
        assert_non_null(find(&d, CERT_CHANGE_CLIENT_AUTH_DROPPED));
        const CertChange *life = find(&d, CERT_CHANGE_LIFETIME);
        assert_non_null(life);
        assert_string_equal(life->old_value, "90 days");
        assert_string_equal(life->new_value, "6 days");
        leaf_free(&o);
        leaf_free(&n);
}

static void test_eku_absent_allows_client_auth(void **state) {
        /* No EKU extension at all allows every use: going from none to serverAuth drops clientAuth. */
        Leaf o = leaf_new(3, false, 90, names_a, NULL);
        Leaf n = leaf_new(3, false, 90, names_a, "serverAuth");
        Leaf back = leaf_new(3, false, 90, names_a, "clientAuth,serverAuth");
        _cleanup_(cert_diff_clear) CertDiff d = {};
        _cleanup_(cert_diff_clear) CertDiff d2 = {};
        CertPath op = path_of(&o), np = path_of(&n), bp = path_of(&back);

        assert_true(certificate_allows_client_auth(o.leaf));
        assert_false(certificate_allows_client_auth(n.leaf));
        assert_int_equal(cert_diff(&op, &np, &d), 0);
        assert_non_null(find(&d, CERT_CHANGE_CLIENT_AUTH_DROPPED));
        assert_int_equal(cert_diff(&np, &bp, &d2), 0);
        assert_non_null(find(&d2, CERT_CHANGE_CLIENT_AUTH_ADDED));
        leaf_free(&o);
        leaf_free(&n);
        leaf_free(&back);
}

static void test_partial_after_restart(void **state) {
        /* What the state file rebuilds: fingerprint and names, nothing else. */
        Leaf n = leaf_new(4, true, 90, names_ab, NULL);
        uint8_t digest[32] = { 1 };
        _cleanup_(certificate_unrefp) Certificate *saved = NULL;
        _cleanup_(cert_diff_clear) CertDiff d = {};

        assert_int_equal(
                certificate_new(digest, 0, 0, NULL, 0, NULL, "CN=broker", "CN=R10", NULL, 0, &saved), 0);
        CertPath op = { .leaf = saved }, np = path_of(&n);
        assert_int_equal(cert_diff(&op, &np, &d), 0);
        assert_true(d.partial);
        /* The issuer's name is known, so its change is; the key's reuse is not invented. */
        assert_non_null(find(&d, CERT_CHANGE_INTERMEDIATE));
        assert_null(find(&d, CERT_CHANGE_KEY_REUSED));
        assert_null(find(&d, CERT_CHANGE_KEY_ROTATED));
        assert_null(find(&d, CERT_CHANGE_SAN_ADDED));
        leaf_free(&n);
}

static void test_path_of(void **state) {
        Leaf l = leaf_new(3, false, 90, names_a, NULL);
        ChainLink three[] = { { .certificate = l.leaf, .sent = true },
                              { .certificate = l.intermediate, .sent = true },
                              { .certificate = l.root } };
        ChainLink two[] = { { .certificate = l.intermediate, .sent = true }, { .certificate = l.root } };

        CertPath p = cert_path_of(three, 3);
        assert_ptr_equal(p.leaf, l.leaf);
        assert_ptr_equal(p.intermediate, l.intermediate);
        assert_ptr_equal(p.root, l.root);
        p = cert_path_of(two, 2); /* a leaf straight under its root */
        assert_null(p.intermediate);
        assert_ptr_equal(p.root, l.root);
        p = cert_path_of(three, 2); /* a path that did not reach a root */
        assert_ptr_equal(p.intermediate, l.intermediate);
        assert_null(p.root);
        leaf_free(&l);
}

static void test_change_names(void **state) {
        for (int k = 0; k < _CERT_CHANGE_KIND_MAX; k++) {
                assert_non_null(cert_change_kind_to_string(k));
                assert_int_equal(cert_change_kind_from_string(cert_change_kind_to_string(k)), k);
        }
        assert_string_equal(cert_change_kind_to_string(CERT_CHANGE_INTERMEDIATE), "intermediate_changed");
        assert_string_equal(cert_change_kind_to_string(CERT_CHANGE_CLIENT_AUTH_DROPPED),
                            "client_auth_dropped");
}

static void test_parse_pins(void **state) {
        uint8_t pins[CERT_CHECK_PINS_MAX][32];
        size_t n = 0;
        const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        /* The same 32 bytes in base64, with curl's prefix. */
        const char *b64 = "sha256//ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=";
        char both[200];

        snprintf(both, sizeof(both), "%s, %s", hex, b64);
        assert_int_equal(cert_check_parse_pins(both, pins, CERT_CHECK_PINS_MAX, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(pins[0], pins[1], 32);
        assert_int_equal(pins[0][1], 0x11);
        assert_int_equal(cert_check_parse_pins("", NULL, 16, NULL), -EINVAL);
        assert_int_equal(cert_check_parse_pins("abc", NULL, 16, NULL), -EINVAL);
        assert_int_equal(cert_check_parse_pins("sha256//short=", NULL, 16, NULL), -EINVAL);
        assert_int_equal(cert_check_parse_pins(hex, NULL, 0, NULL), -EINVAL); /* too many */
}

static void check_with_pins(X509 *leaf, const char *pins, ProblemList *ret) {
        _cleanup_(test_chain_freep)
                STACK_OF(X509) *served = test_chain_new(leaf, pki.intermediate, (X509 *) NULL);
        _cleanup_(test_chain_freep) STACK_OF(X509) *verified = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *roots = test_store_new(pki.root, (X509 *) NULL);
        VerifyError errors[VERIFY_ERRORS_MAX];
        size_t n_errors = 0;
        AddressReport a = {};

        assert_int_equal(test_verify(roots, served, NOW, &verified, errors, &n_errors), 0);
        CertCheckInput input = { .served = served, .verified = verified, .errors = errors, .n_errors = n_errors,
                                 .server_name = "a.example", .now = NOW,
                                 .expiry = { .days_set = true, .warn_days = 30, .crit_days = 7 }, .pins = pins };
        assert_int_equal(cert_check(&input, &a), 0);
        *ret = a.problems;
        a.problems = (ProblemList){};
        address_report_clear(&a);
}

static void test_pins(void **state) {
        _cleanup_(X509_freep) X509 *leaf = make("broker", test_key(TEST_KEY_EC, 256, 3), pki.intermediate,
                                                test_key(TEST_KEY_EC, 256, 1), 90, false, names_a, NULL);
        uint8_t leaf_pin[32], ca_pin[32];
        char leaf_hex[65], ca_hex[65], other[65], text[200];
        ProblemList problems;

        assert_int_equal(cert_check_spki_sha256(leaf, leaf_pin), 0);
        assert_int_equal(cert_check_spki_sha256(pki.intermediate, ca_pin), 0);
        certificate_hex(leaf_pin, 32, leaf_hex);
        certificate_hex(ca_pin, 32, ca_hex);
        memset(other, 'a', 64);
        other[64] = '\0';

        check_with_pins(leaf, leaf_hex, &problems); /* the leaf's key */
        assert_false(problem_list_has(&problems, PROBLEM_PIN_MISMATCH));
        problem_list_clear(&problems);
        snprintf(text, sizeof(text), "%s %s", other, ca_hex); /* the CA's key, beside a stale pin */
        check_with_pins(leaf, text, &problems);
        assert_false(problem_list_has(&problems, PROBLEM_PIN_MISMATCH));
        problem_list_clear(&problems);
        check_with_pins(leaf, other, &problems);
        assert_true(problem_list_has(&problems, PROBLEM_PIN_MISMATCH));
        assert_int_equal(problems.items[0].severity, STATUS_WARNING);
        assert_non_null(strstr(problems.items[0].message, leaf_hex)); /* the key to pin instead */
        problem_list_clear(&problems);
        check_with_pins(leaf, NULL, &problems); /* no pins, no finding */
        assert_false(problem_list_has(&problems, PROBLEM_PIN_MISMATCH));
        problem_list_clear(&problems);
}

static void test_nodes_differ(void **state) {
        Leaf one = leaf_new(3, false, 90, names_a, NULL), two = leaf_new(4, false, 30, names_a, NULL);
        Report *report = calloc(1, sizeof(Report));

        assert_non_null(report);
        report->server_name = strdup("broker.example");
        AddressReport *a = report_add_address(report, "192.0.2.1");
        AddressReport *b = report_add_address(report, "192.0.2.2");
        assert_non_null(a);
        assert_non_null(b);
        a = &report->addresses[0];
        a->chain = calloc(1, sizeof(ChainLink));
        a->chain[0].certificate = certificate_ref(one.leaf);
        a->n_chain = 1;
        b = &report->addresses[1];
        b->chain = calloc(1, sizeof(ChainLink));
        b->chain[0].certificate = certificate_ref(one.leaf);
        b->n_chain = 1;
        /* The same leaf on both: nothing to say. */
        assert_int_equal(report_finalize(report), 0);
        assert_false(problem_list_has(&report->problems, PROBLEM_NODES_DIFFER));

        certificate_unref(b->chain[0].certificate);
        b->chain[0].certificate = certificate_ref(two.leaf);
        assert_int_equal(report_finalize(report), 0);
        assert_true(problem_list_has(&report->problems, PROBLEM_NODES_DIFFER));
        assert_int_equal(report->status, STATUS_WARNING);
        const Problem *p = &report->problems.items[0];
        char sha_a[65], sha_b[65], needle[100];
        certificate_sha256_hex(one.leaf, sha_a);
        certificate_sha256_hex(two.leaf, sha_b);
        snprintf(needle, sizeof(needle), "192.0.2.1 serves sha256 %.16s", sha_a);
        assert_non_null(strstr(p->message, needle));
        snprintf(needle, sizeof(needle), "192.0.2.2 serves sha256 %.16s", sha_b);
        assert_non_null(strstr(p->message, needle));
        assert_non_null(strstr(p->message, "not after "));
        /* Finalized again (the daemon adds its file findings and finalizes once more): still one. */
        assert_int_equal(report_finalize(report), 0);
        size_t count = 0;
        for (size_t i = 0; i < report->problems.n; i++)
                count += report->problems.items[i].code == PROBLEM_NODES_DIFFER;
        assert_int_equal(count, 1);
        report_free(report);
        leaf_free(&one);
        leaf_free(&two);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_key_renewal),
                cmocka_unit_test(test_new_intermediate_new_key),
                cmocka_unit_test(test_sans_eku_lifetime),
                cmocka_unit_test(test_eku_absent_allows_client_auth),
                cmocka_unit_test(test_partial_after_restart),
                cmocka_unit_test(test_path_of),
                cmocka_unit_test(test_change_names),
                cmocka_unit_test(test_parse_pins),
                cmocka_unit_test(test_pins),
                cmocka_unit_test(test_nodes_differ),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
