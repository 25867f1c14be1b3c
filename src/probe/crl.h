/* SPDX-License-Identifier: MIT */
/* Revocation by CRL, the pure part: where a certificate's CRLs are published (its http:// distribution
 * points), reading a CRL as fetched (DER or PEM), and the verdict on one certificate from its issuer's
 * CRL: signature, issuer name, thisUpdate/nextUpdate against `now`, then the serial. No I/O, no clock. */
#pragma once

#include <errno.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "macro.h"
#include "report.h"

/* What a CRL may weigh; a larger answer is refused (revocation_unknown), not parsed. */
#define CRL_SIZE_MAX (10U * 1024U * 1024U)
/* At most this many distribution point URLs of one certificate are tried. */
#define CRL_URLS_MAX 4
/* How far a CRL's thisUpdate may lie in the future before it is not believed (clock skew). */
#define CRL_CLOCK_SKEW_SEC 300

/* RFC 5280 §5.3.1 CRLReason names ("keyCompromise", ...); "unspecified" for an unknown value. */
const char *crl_reason_to_string(int reason);

typedef struct CrlVerdict {
        Revocation status;
        int reason;          /* revoked: the CRLReason, -1 when the entry names none */
        int64_t revoked_at;  /* revoked: the revocation date, Unix seconds */
        int64_t next_update; /* the CRL's nextUpdate, Unix seconds; 0: none given */
        char detail[160];    /* unknown: why, for the message ("the CRL's signature does not verify ...") */
} CrlVerdict;

/* The http:// URLs of `cert`'s CRL distribution points (full names only; ldap:// and others skipped),
 * at most CRL_URLS_MAX, in the certificate's order. *ret_urls is a NULL-terminated array of strings
 * (free with crl_urls_free()), NULL with *ret_n == 0 when there are none. Returns 0 or -ENOMEM. */
int crl_distribution_points(X509 *cert, char ***ret_urls, size_t *ret_n);
void crl_urls_free(char **urls);

/* Reads a CRL as a distribution point serves it: DER (RFC 5280 §4.2.1.13), or PEM as some servers do.
 * Returns 0 and the CRL, or -EBADMSG when `data` is neither, -EFBIG beyond CRL_SIZE_MAX. */
int crl_parse(const void *data, size_t size, X509_CRL **ret);

/* Which issuer key a CRL's signature was found good with, kept beside the CRL by its owner (the cache):
 * one CRL is judged for every probe of every target, its signature need be checked once per key. */
typedef struct CrlSignatureMemo {
        bool set;
        uint8_t key_sha256[32]; /* X509_pubkey_digest() of the issuer */
} CrlSignatureMemo;

/* Judges `cert` by `crl`, which must be issued and signed by `issuer` (direct CRLs only), at `now`.
 * `memo` (NULL: none) belongs to this CRL object alone and is reset whenever the CRL changes.
 * Never fails: what does not check out is REVOCATION_UNKNOWN with the reason in ret->detail. */
void crl_judge(X509_CRL *crl, X509 *cert, X509 *issuer, time_t now, CrlSignatureMemo *memo, CrlVerdict *ret);

/* The CRL's nextUpdate as Unix seconds, 0 when it has none or it cannot be read. */
int64_t crl_next_update(X509_CRL *crl);

/* Reads the OCSP response a listener stapled (DER) for `leaf`, issued by the next certificate of the
 * verified `path` (leaf first, its trust anchor last), at `now`. Sets ret->present only for a
 * successful response about the leaf; ret->verified when its signature is the issuer's or a delegated
 * responder's that chains to the anchor. Returns 0, or -ENOMEM. */
int crl_ocsp_staple(const uint8_t *der, size_t size, STACK_OF(X509) * path, time_t now, OcspStaple *ret);

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_CRL *, X509_CRL_free);
