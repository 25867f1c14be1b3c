/* SPDX-License-Identifier: MIT */
/* The pure CRL path on CRLs and certificates built in memory: distribution points (http:// kept, others
 * skipped), DER and PEM parsing and its size bound, and each verdict of crl_judge() (good, revoked with
 * reason and date, wrong signer, wrong issuer, stale, not yet valid, delta) at a fixed clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "test-certs.h"

/* 2026-01-01T00:00:00Z. */
#define NOW ((time_t) 1767225600)
#define DAY 86400L

enum { KEY_CA, KEY_LEAF, KEY_OTHER };

typedef struct Fixture {
        X509 *ca;
        X509 *leaf;
        X509 *other_ca; /* the same name as `ca`, another key */
} Fixture;

static EVP_PKEY *key(unsigned slot) {
        EVP_PKEY *k = test_key(TEST_KEY_EC, 256, slot);
        assert_non_null(k);
        return k;
}

/* Adds a crlDistributionPoints extension in openssl.cnf syntax and signs the certificate again. */
static void add_cdp(X509 *x, const char *value, EVP_PKEY *issuer_key) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_crl_distribution_points, value);

        assert_non_null(ext);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        X509_EXTENSION_free(ext);
        assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        TestCertSpec ca = { .subject_cn = "CRL CA",
                            .key = key(KEY_CA),
                            .now = NOW,
                            .not_before = -DAY,
                            .not_after = 365 * DAY,
                            .ca = true };
        TestCertSpec other = ca;

        assert_non_null(f);
        assert_int_equal(test_cert_new(&ca, &f->ca), 0);
        other.key = key(KEY_OTHER);
        assert_int_equal(test_cert_new(&other, &f->other_ca), 0);
        TestCertSpec leaf = { .subject_cn = "leaf",
                              .key = key(KEY_LEAF),
                              .issuer = f->ca,
                              .issuer_key = key(KEY_CA),
                              .now = NOW,
                              .not_before = -DAY,
                              .not_after = 90 * DAY };
        assert_int_equal(test_cert_new(&leaf, &f->leaf), 0);
        add_cdp(f->leaf,
                "URI:ldap://ldap.example/cn=crl,URI:http://crl.example/ca.crl,URI:https://x.example/c.crl",
                key(KEY_CA));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        X509_free(f->ca);
        X509_free(f->leaf);
        X509_free(f->other_ca);
        free(f);
        test_keys_free();
        return 0;
}

typedef struct CrlSpec {
        X509 *issuer;
        EVP_PKEY *key;
        long this_update;            /* seconds from NOW */
        long next_update;            /* seconds from NOW; 0: no nextUpdate */
        const ASN1_INTEGER *revoked; /* a serial to list, or NULL */
        int reason;                  /* its CRLReason, -1 none */
        bool delta;
} CrlSpec;

static X509_CRL *crl_new(const CrlSpec *spec) {
        X509_CRL *crl = X509_CRL_new();
        ASN1_TIME *t = ASN1_TIME_new();

        assert_non_null(crl);
        assert_non_null(t);
        assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
        assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(spec->issuer)), 1);
        assert_non_null(X509_time_adj_ex(t, 0, spec->this_update, (time_t[]){ NOW }));
        assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
        if (spec->next_update) {
                assert_non_null(X509_time_adj_ex(t, 0, spec->next_update, (time_t[]){ NOW }));
                assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
        }
        if (spec->revoked) {
                X509_REVOKED *r = X509_REVOKED_new();
                assert_non_null(r);
                assert_int_equal(X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *) spec->revoked), 1);
                assert_non_null(X509_time_adj_ex(t, 0, -3600, (time_t[]){ NOW }));
                assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
                if (spec->reason >= 0) {
                        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
                        assert_int_equal(ASN1_ENUMERATED_set(e, spec->reason), 1);
                        assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0), 1);
                        ASN1_ENUMERATED_free(e);
                }
                assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
        }
        if (spec->delta) {
                ASN1_INTEGER *n = ASN1_INTEGER_new();
                assert_int_equal(ASN1_INTEGER_set(n, 1), 1);
                assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, n, 1, 0), 1);
                ASN1_INTEGER_free(n);
        }
        assert_int_equal(X509_CRL_sort(crl), 1);
        assert_true(X509_CRL_sign(crl, spec->key, EVP_sha256()) > 0);
        ASN1_TIME_free(t);
        return crl;
}

static CrlVerdict judge(Fixture *f, const CrlSpec *spec) {
        X509_CRL *crl = crl_new(spec);
        CrlVerdict v;

        crl_judge(crl, f->leaf, f->ca, NOW, NULL, &v);
        X509_CRL_free(crl);
        return v;
}

static void test_distribution_points(void **state) {
        Fixture *f = *state;
        char **urls = NULL;
        size_t n = 99;

        assert_int_equal(crl_distribution_points(f->leaf, &urls, &n), 0);
        assert_int_equal(n, 1); /* ldap:// and https:// are skipped */
        assert_string_equal(urls[0], "http://crl.example/ca.crl");
        assert_null(urls[1]);
        crl_urls_free(urls);

        assert_int_equal(crl_distribution_points(f->ca, &urls, &n), 0);
        assert_int_equal(n, 0);
        assert_null(urls);
}

static void test_parse(void **state) {
        Fixture *f = *state;
        X509_CRL *crl = crl_new(&(CrlSpec){ .issuer = f->ca,
                                            .key = key(KEY_CA),
                                            .this_update = -DAY,
                                            .next_update = DAY,
                                            .reason = -1 });
        unsigned char *der = NULL;
        int der_size = i2d_X509_CRL(crl, &der);
        X509_CRL *parsed = NULL;

        assert_true(der_size > 0);
        assert_int_equal(crl_parse(der, (size_t) der_size, &parsed), 0);
        assert_int_equal(X509_CRL_cmp(parsed, crl), 0);
        X509_CRL_free(parsed);

        BIO *bio = BIO_new(BIO_s_mem());
        char *pem;
        assert_int_equal(PEM_write_bio_X509_CRL(bio, crl), 1);
        long pem_size = BIO_get_mem_data(bio, &pem);
        assert_int_equal(crl_parse(pem, (size_t) pem_size, &parsed), 0);
        X509_CRL_free(parsed);
        BIO_free(bio);

        assert_int_equal(crl_parse("not a CRL", 9, &parsed), -EBADMSG);
        assert_null(parsed);
        assert_int_equal(crl_parse(der, (size_t) der_size - 1, &parsed), -EBADMSG); /* truncated */
        assert_int_equal(crl_parse("", 0, &parsed), -EBADMSG);
        assert_int_equal(crl_parse(der, (size_t) CRL_SIZE_MAX + 1, &parsed), -EFBIG); /* not read at all */
        assert_int_equal(crl_next_update(crl), (int64_t) NOW + DAY);

        OPENSSL_free(der);
        X509_CRL_free(crl);
}

static void test_good_and_revoked(void **state) {
        Fixture *f = *state;
        CrlSpec spec = {
                .issuer = f->ca, .key = key(KEY_CA), .this_update = -DAY, .next_update = DAY, .reason = -1
        };
        CrlVerdict v = judge(f, &spec);

        assert_int_equal(v.status, REVOCATION_GOOD);
        assert_int_equal(v.next_update, (int64_t) NOW + DAY);

        spec.revoked = X509_get0_serialNumber(f->leaf);
        spec.reason = 1;
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_REVOKED);
        assert_int_equal(v.reason, 1);
        assert_string_equal(crl_reason_to_string(v.reason), "keyCompromise");
        assert_int_equal(v.revoked_at, (int64_t) NOW - 3600);

        spec.reason = -1; /* an entry without a reason code */
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_REVOKED);
        assert_int_equal(v.reason, -1);

        /* Another serial listed: the leaf is still good. */
        ASN1_INTEGER *other = ASN1_INTEGER_new();
        assert_int_equal(ASN1_INTEGER_set(other, 424242), 1);
        spec.revoked = other;
        assert_int_equal(judge(f, &spec).status, REVOCATION_GOOD);
        ASN1_INTEGER_free(other);

        /* Without nextUpdate (allowed by X.509, not by RFC 5280): judged, good. */
        spec.revoked = NULL;
        spec.next_update = 0;
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_GOOD);
        assert_int_equal(v.next_update, 0);
}

static void test_unknown(void **state) {
        Fixture *f = *state;
        CrlSpec spec = { .issuer = f->ca,
                         .key = key(KEY_OTHER),
                         .this_update = -DAY,
                         .next_update = DAY,
                         .revoked = X509_get0_serialNumber(f->leaf),
                         .reason = 1 };
        CrlVerdict v;

        /* The issuer's name, another key: a forged CRL must not revoke (or clear) anything. */
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_non_null(strstr(v.detail, "signature"));

        /* A CRL of another issuer name. */
        spec.key = key(KEY_LEAF);
        spec.issuer = f->leaf;
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_non_null(strstr(v.detail, "another name"));

        spec.issuer = f->ca;
        spec.key = key(KEY_CA);
        spec.this_update = -3 * DAY;
        spec.next_update = -DAY;
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_non_null(strstr(v.detail, "stale"));

        spec.this_update = DAY; /* beyond the allowed skew */
        spec.next_update = 2 * DAY;
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_non_null(strstr(v.detail, "future"));

        spec.this_update = CRL_CLOCK_SKEW_SEC / 2; /* within it: used */
        assert_int_equal(judge(f, &spec).status, REVOCATION_REVOKED);

        spec.this_update = -DAY;
        spec.delta = true;
        v = judge(f, &spec);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_non_null(strstr(v.detail, "delta"));
}

/* The memo saves the signature check for the key it was made with, and only for that one. */
static void test_signature_memo(void **state) {
        Fixture *f = *state;
        X509_CRL *crl = crl_new(&(CrlSpec){ .issuer = f->ca,
                                            .key = key(KEY_CA),
                                            .this_update = -DAY,
                                            .next_update = DAY,
                                            .revoked = X509_get0_serialNumber(f->leaf),
                                            .reason = 1 });
        CrlSignatureMemo memo = {};
        CrlVerdict v;

        crl_judge(crl, f->leaf, f->ca, NOW, &memo, &v);
        assert_int_equal(v.status, REVOCATION_REVOKED);
        assert_true(memo.set);
        crl_judge(crl, f->leaf, f->ca, NOW, &memo, &v);
        assert_int_equal(v.status, REVOCATION_REVOKED);

        /* The issuer's name with another key: the memo does not vouch for it. */
        crl_judge(crl, f->leaf, f->other_ca, NOW, &memo, &v);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_non_null(strstr(v.detail, "signature"));

        /* A memo that does not match this CRL's signer (a CRL replaced without resetting it would be
         * a bug of the owner; a wrong key's memo never passes a good CRL as forged or the reverse). */
        X509_CRL *forged = crl_new(&(CrlSpec){ .issuer = f->ca,
                                               .key = key(KEY_OTHER),
                                               .this_update = -DAY,
                                               .next_update = DAY,
                                               .reason = -1 });
        CrlSignatureMemo fresh = {};
        crl_judge(forged, f->leaf, f->ca, NOW, &fresh, &v);
        assert_int_equal(v.status, REVOCATION_UNKNOWN);
        assert_false(fresh.set);
        X509_CRL_free(forged);
        X509_CRL_free(crl);
}

static void test_names(void **state) {
        (void) state;
        assert_string_equal(crl_reason_to_string(0), "unspecified");
        assert_string_equal(crl_reason_to_string(4), "superseded");
        assert_string_equal(crl_reason_to_string(7), "unspecified"); /* not used by RFC 5280 */
        assert_string_equal(crl_reason_to_string(10), "aACompromise");
        assert_string_equal(crl_reason_to_string(-1), "unspecified");
        assert_string_equal(crl_reason_to_string(11), "unspecified");
        for (int i = 0; i < _REVOCATION_MAX; i++)
                assert_int_equal(revocation_from_string(revocation_to_string(i)), i);
        assert_string_equal(revocation_to_string(REVOCATION_REVOKED), "revoked");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_distribution_points), cmocka_unit_test(test_parse),
                cmocka_unit_test(test_good_and_revoked),    cmocka_unit_test(test_unknown),
                cmocka_unit_test(test_signature_memo),      cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
