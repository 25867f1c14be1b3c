/* SPDX-License-Identifier: MIT */
/* Fuzzes the CRL path with arbitrary bytes: crl_parse() as for a distribution point's answer (DER or
 * PEM) and crl_judge() of a fixed leaf by it; then the same CRL renamed to the leaf's issuer and signed
 * again with its key, so that the checks behind the signature (dates, delta, serial lookup, reason
 * codes) see the fuzzer's input too. The bytes are also read as a certificate for its distribution
 * points and as a stapled OCSP response, the other inputs that come from outside. */
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crl.h"
#include "fuzz.h"
#include "test-certs.h"

#define NOW ((time_t) 1767225600) /* 2026-01-01T00:00:00Z */

static X509 *ca, *leaf;

static void setup(void) {
        TestCertSpec spec = { .subject_cn = "fuzz CA",
                              .key = test_key(TEST_KEY_EC, 256, 0),
                              .now = NOW,
                              .not_before = -86400,
                              .not_after = 86400 * 365,
                              .ca = true };

        if (ca || !spec.key || test_cert_new(&spec, &ca) < 0)
                return;
        spec = (TestCertSpec){ .subject_cn = "fuzz leaf",
                               .key = test_key(TEST_KEY_EC, 256, 1),
                               .issuer = ca,
                               .issuer_key = test_key(TEST_KEY_EC, 256, 0),
                               .now = NOW,
                               .not_before = -86400,
                               .not_after = 86400 * 90 };
        if (!spec.key || test_cert_new(&spec, &leaf) < 0)
                abort();
}

static void distribution_points(const uint8_t *data, size_t size) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long) size);
        char **urls = NULL;
        size_t n;

        if (!x) {
                BIO *bio = BIO_new_mem_buf(data, (int) size);
                x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
                BIO_free(bio);
        }
        if (!x)
                return;
        if (crl_distribution_points(x, &urls, &n) == 0) {
                if (n > CRL_URLS_MAX)
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (!urls[i] || strncasecmp(urls[i], "http://", 7) != 0)
                                abort(); /* only http:// URLs ever reach libcurl */
        }
        crl_urls_free(urls);
        X509_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        X509_CRL *crl = NULL;
        CrlVerdict verdict;

        setup();
        if (!ca || !leaf || size > INT32_MAX)
                return 0;
        distribution_points(data, size);

        STACK_OF(X509) *path = test_chain_new(leaf, ca, (X509 *) NULL);
        OcspStaple staple;
        if (!path || crl_ocsp_staple(data, size, path, NOW, &staple) < 0)
                abort();
        if (staple.verified && !staple.present)
                abort();
        test_chain_free(path);

        if (crl_parse(data, size, &crl) < 0)
                return 0;

        crl_judge(crl, leaf, ca, NOW, NULL, &verdict);
        if (verdict.status == REVOCATION_REVOKED || verdict.status == REVOCATION_GOOD)
                abort(); /* nobody but the CA's key signs a CRL that counts */
        (void) crl_reason_to_string(verdict.reason);

        if (X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) == 1 &&
            X509_CRL_sign(crl, test_key(TEST_KEY_EC, 256, 0), EVP_sha256()) > 0) {
                CrlSignatureMemo memo = {};
                CrlVerdict again;

                crl_judge(crl, leaf, ca, NOW, &memo, &verdict);
                if (verdict.status == REVOCATION_NOT_CHECKED)
                        abort();
                crl_judge(crl, leaf, ca, NOW, &memo, &again); /* from the memo: the same verdict */
                if (again.status != verdict.status || again.reason != verdict.reason)
                        abort();
                (void) crl_reason_to_string(verdict.reason);
                (void) revocation_to_string(verdict.status);
        }
        X509_CRL_free(crl);
        return 0;
}
