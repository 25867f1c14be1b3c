/* SPDX-License-Identifier: MIT */
/* An in-process certificate factory for unit tests: cached keys, X.509 certificates with exactly the
 * names, dates, extensions and digests a case needs, and a verification run that records what the
 * probe's verify callback would, so chain analysis is tested on what OpenSSL really builds. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cert-check.h"
#include "macro.h"

typedef enum TestKeyType {
        TEST_KEY_EC,  /* P-256; bits must be 256 */
        TEST_KEY_RSA,
} TestKeyType;

/* How many distinct keys of one type and size a test can ask for. */
#define TEST_KEY_SLOTS 8

/* Returns key number `slot` of this type and size, generated on first use and cached until
 * test_keys_free(): RSA generation dominates a test's run time otherwise. The cache owns the key;
 * NULL on failure. */
EVP_PKEY *test_key(TestKeyType type, unsigned bits, unsigned slot);
void test_keys_free(void);

typedef struct TestCertSpec {
        const char *subject_cn;      /* NULL: an empty subject name */
        EVP_PKEY *key;               /* the subject's key */
        X509 *issuer;                /* NULL: self-signed with `key` */
        EVP_PKEY *issuer_key;        /* the issuer's key, required with `issuer` */
        time_t now;
        long not_before;             /* seconds from `now`, negative for the past */
        long not_after;
        const char *const *dns;      /* NULL-terminated dNSNames for subjectAltName, or NULL */
        const char *const *ips;      /* NULL-terminated IPv4/IPv6 literals for subjectAltName, or NULL */
        const char *raw_dns;         /* one more dNSName taken byte for byte, NULs included */
        size_t raw_dns_length;
        bool ca;                     /* basicConstraints CA:TRUE, else CA:FALSE */
        const EVP_MD *digest;        /* NULL: EVP_sha256() */
        const char *extended_key_usage; /* "serverAuth,clientAuth" and the like; NULL: no extension */
} TestCertSpec;

/* Builds and signs a v3 certificate with subject and authority key identifiers (the latter only
 * when issued by another certificate). Returns 0 or -ENOMEM/-EINVAL/-EIO. */
int test_cert_new(const TestCertSpec *spec, X509 **ret);

/* A stack holding a reference to each certificate, in the order given; NULL-terminated list.
 * Free with test_chain_free(). Returns NULL when out of memory. */
STACK_OF(X509) *test_chain_new(X509 *first, ...);
void test_chain_free(STACK_OF(X509) *chain);

/* A store trusting exactly the certificates given (NULL-terminated). NULL when out of memory. */
X509_STORE *test_store_new(X509 *first, ...);

/* Verifies `served` (leaf first) against `roots` at `now` the way the probe's TLS handshake does:
 * purpose ssl_server, security level 0, the served certificates as untrusted, and a verify
 * callback that records up to VERIFY_ERRORS_MAX errors and carries on. *ret_verified is the path
 * OpenSSL built (free with test_chain_free()), or NULL when nothing was served. Returns 0 or
 * -ENOMEM/-EIO. */
int test_verify(X509_STORE *roots, STACK_OF(X509) *served, time_t now, STACK_OF(X509) **ret_verified,
                VerifyError errors[static VERIFY_ERRORS_MAX], size_t *ret_n_errors);

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(STACK_OF(X509) *, test_chain_free);
