/* SPDX-License-Identifier: MIT */
/* The result model of one probe: what each address served (TLS parameters, the certificate path)
 * and every problem found. The engine fills it; printers, the daemon and webhooks only read it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "problem.h"

typedef struct Problem {
        ProblemCode code;
        Status severity; /* STATUS_WARNING or STATUS_CRITICAL */
        char *message;
        int depth;       /* position in the chain, -1 where it does not apply */
        int verify_code; /* OpenSSL X509_V_ERR_* value, -1 where it does not apply */
} Problem;

typedef struct ProblemList {
        Problem *items;
        size_t n;
} ProblemList;

/* One certificate as reports describe it: immutable once built and shared by reference, since most
 * of what a fleet serves is the same few intermediates and roots (and a cluster's one leaf). One
 * allocation holds the struct and its strings; names OpenSSL keeps static are not copied. Times are
 * Unix seconds; what a reader sees (RFC 3339, days left) is rendered from them. */
#define CERTIFICATE_KEY_ID_MAX 32 /* key ids are SHA-1 (20 bytes) or truncated SHA-256 in practice */

typedef struct Certificate {
        unsigned n_ref;
        struct CertificateCache *cache;  /* where it is interned (not owned), NULL if nowhere */
        struct Certificate *cache_next;  /* the cache's bucket list */
        uint8_t sha256[32];              /* of the DER encoding */
        int64_t not_before;
        int64_t not_after;
        const char *key_type;            /* static: "RSA", "EC", "ED25519", ...; "unknown" */
        int key_bits;
        const char *signature_algorithm; /* static: OpenSSL's long name */
        const char *subject;             /* RFC 2253, sanitised; inside the block */
        const char *issuer;
        /* What a renewal diff and a pin compare. All zero for a certificate the state file rebuilt
         * from its fingerprint and names alone (has_details false). */
        bool has_details;
        uint8_t spki_sha256[32];         /* of the DER SubjectPublicKeyInfo: pins, "key reused" */
        uint8_t n_subject_key_id;        /* bytes used; 0: no subjectKeyIdentifier */
        uint8_t n_authority_key_id;
        uint8_t subject_key_id[CERTIFICATE_KEY_ID_MAX];
        uint8_t authority_key_id[CERTIFICATE_KEY_ID_MAX];
        uint32_t extended_key_usage;     /* OpenSSL's XKU_* bits; UINT32_MAX: no extension, any use */
        size_t n_subject_alt_names;
        const char *subject_alt_names[]; /* DNS names and IP addresses, all of them, in the order served */
} Certificate;

/* Builds a certificate from its parts; the strings are copied into the one block. Returns 0 or -ENOMEM. */
int certificate_new(const uint8_t sha256[32], int64_t not_before, int64_t not_after, const char *key_type,
                    int key_bits, const char *signature_algorithm, const char *subject, const char *issuer,
                    char *const *subject_alt_names, size_t n_subject_alt_names, Certificate **ret);
Certificate *certificate_ref(Certificate *c);
Certificate *certificate_unref(Certificate *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Certificate *, certificate_unref);

/* Days from `at` (Unix seconds) to notAfter, negative once expired. */
double certificate_days_left(const Certificate *c, int64_t at);

/* "hex" form of the fingerprint, 64 digits and a NUL. */
void certificate_sha256_hex(const Certificate *c, char ret[65]);
/* Lower-case hex of `n` bytes into ret (2n+1 bytes). */
void certificate_hex(const uint8_t *bytes, size_t n, char *ret);
/* Whether the certificate may authenticate a TLS client (no EKU extension, or clientAuth in it). */
bool certificate_allows_client_auth(const Certificate *c);

/* Certificates seen by many reports, each kept once: interned by fingerprint. The cache holds no
 * reference; a certificate leaves it when its last report lets it go. */
typedef struct CertificateCache CertificateCache;
int certificate_cache_new(CertificateCache **ret);
CertificateCache *certificate_cache_free(CertificateCache *cache);
DEFINE_TRIVIAL_CLEANUP_FUNC(CertificateCache *, certificate_cache_free);
/* Replaces *c by the cached certificate of the same fingerprint (unreferencing *c), or adds *c. */
void certificate_cache_intern(CertificateCache *cache, Certificate **c);
size_t certificate_cache_size(const CertificateCache *cache);

/* The revocation state of one certificate of a path (Revocation=crl), as reports and JSON give it. */
typedef enum Revocation {
        REVOCATION_NOT_CHECKED, /* off, the root, no http:// distribution point, or no verified path */
        REVOCATION_GOOD,
        REVOCATION_REVOKED,
        REVOCATION_UNKNOWN,
        _REVOCATION_MAX,
        _REVOCATION_INVALID = -EINVAL,
} Revocation;

const char *revocation_to_string(Revocation r);
Revocation revocation_from_string(const char *s);

/* One position of a chain. Depth is the index. */
typedef struct ChainLink {
        Certificate *certificate; /* owned reference */
        bool sent;                /* false: the listener did not send it, the local trust store had it */
        Revocation revocation;
        int revocation_reason;    /* revoked: RFC 5280 CRLReason, -1 when the CRL entry gives none */
        int64_t revoked_at;       /* revoked: Unix seconds */
        int64_t crl_next_update;  /* good/revoked: the CRL's nextUpdate, 0 when it has none */
} ChainLink;

/* What the application behind TLS answered (mqtt, wss, https). */
typedef struct ApplicationReport {
        bool present;
        int http_status;           /* -1: none */
        int connack;               /* -1: none */
        int mqtt_version;          /* -1: none, 4 (3.1.1) or 5 */
        const char *connack_text;  /* static */
        char websocket_protocol[64];
        uint64_t duration_usec;    /* from the end of the handshake to the decision */
        uint64_t first_byte_usec;  /* from the end of the handshake to the answer's first byte; 0: none */
} ApplicationReport;

/* The OCSP response the listener stapled (Revocation= on), for information: never a problem. */
typedef struct OcspStaple {
        bool present;
        bool verified;         /* signed for the leaf's issuer and chained to the path's trust anchor */
        Revocation status;     /* REVOCATION_GOOD, _REVOKED or _UNKNOWN (what the responder said) */
        int reason;            /* revoked: the CRLReason, -1 none */
        int64_t this_update;   /* Unix seconds */
        int64_t next_update;   /* Unix seconds; 0: none given */
} OcspStaple;

typedef struct AddressReport {
        char address[46]; /* numeric form, without brackets (INET6_ADDRSTRLEN) */
        Status status;
        ProblemList problems;
        const char *tls_version; /* static (OpenSSL's); NULL when no handshake completed */
        const char *cipher;      /* static (OpenSSL's) */
        char group[32];          /* the key-exchange group negotiated ("X25519", "P-256"); "": none */
        ChainLink *chain;        /* the verified path when there is one, else what was served */
        size_t n_chain;
        int64_t checked_at;      /* Unix seconds the chain was judged at: days_left counts from here */
        bool has_days_left;
        double days_left;        /* to the earliest notAfter on the path */
        char *protocol_detail;  /* what the MQTT/HTTP exchange answered, for information */
        char *internal_error;   /* set when the probe itself failed (out of memory, ...): status unknown */
        ApplicationReport application;
        OcspStaple ocsp_staple;
        uint64_t handshake_usec; /* connect and TLS handshake */
        uint64_t duration_usec;
} AddressReport;

typedef struct Report {
        char *target;       /* "host:port" as given */
        char *server_name;  /* the name checked (SNI too, unless it is an IP literal); the host by default */
        char *protocol;
        Status status;
        ProblemList problems; /* target-level findings (dns_failed) plus every address's, merged */
        AddressReport *addresses;
        size_t n_addresses;
        uint64_t duration_usec;
        bool packed;          /* report_pack()'s form: one block, read-only */
} Report;

/* The severity a code has unless the analysis decides otherwise (expires_soon, incomplete_chain). */
Status problem_code_default_severity(ProblemCode code);

int problem_list_add(ProblemList *list, ProblemCode code, Status severity, int depth, int verify_code,
                     const char *format, ...) _printf_(6, 7);
bool problem_list_has(const ProblemList *list, ProblemCode code);
void problem_list_clear(ProblemList *list);
Status problem_list_worst(const ProblemList *list);
/* The first problem of the highest severity, or NULL for an empty list. */
const Problem *problem_list_worst_item(const ProblemList *list);

/* The form a report is kept in once finished: one allocation holding the report, its addresses,
 * chains, problems and strings (the certificates stay shared, by reference). Consumes *report and
 * replaces it; on failure (-ENOMEM) *report is left as it was. A packed report is read-only. */
int report_pack(Report **report);

/* Lets every certificate of the report be shared through `cache`. */
void report_intern_certificates(Report *report, CertificateCache *cache);

/* What the compact form of a report takes on the heap, certificates counted once each (shared ones
 * too: an upper bound for one report). For the benchmark's per-target figure. */
size_t report_heap_size(const Report *report, size_t *ret_certificates);

void address_report_clear(AddressReport *a);

/* Appends a zero-initialised address and returns it, or NULL when out of memory. */
AddressReport *report_add_address(Report *report, const char *address);

/* Derives every status from the problems and merges the addresses' problems into the report's. */
int report_finalize(Report *report);

Report *report_free(Report *report);
DEFINE_TRIVIAL_CLEANUP_FUNC(Report *, report_free);
