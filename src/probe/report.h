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

typedef struct CertificateInfo {
        int depth;
        char *subject;
        char *issuer;
        char not_before[32]; /* ISO 8601, UTC */
        char not_after[32];
        double days_left;    /* negative once expired */
        char sha256[65];     /* hex fingerprint of the DER encoding */
        char *key;           /* key type and bits: "RSA 2048", "EC 256", ... */
        char *signature_algorithm;
        char *subject_alt_names; /* "a.example, 192.0.2.1", or a sentence when there are none */
        bool sent;           /* false: the listener did not send it, the local trust store had it */
} CertificateInfo;

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

typedef struct AddressReport {
        char *address; /* numeric form, without brackets */
        Status status;
        ProblemList problems;
        char *tls_version; /* NULL when no handshake completed */
        char *cipher;
        CertificateInfo *chain; /* the verified path when there is one, else what was served */
        size_t n_chain;
        bool has_days_left;
        double days_left;       /* to the earliest notAfter on the path */
        char *protocol_detail;  /* what the MQTT/HTTP exchange answered, for information */
        char *internal_error;   /* set when the probe itself failed (out of memory, ...): status unknown */
        ApplicationReport application;
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
} Report;

/* The severity a code has unless the analysis decides otherwise (expires_soon, incomplete_chain). */
Status problem_code_default_severity(ProblemCode code);

int problem_list_add(ProblemList *list, ProblemCode code, Status severity, int depth, int verify_code,
                     const char *format, ...) _printf_(6, 7);
bool problem_list_has(const ProblemList *list, ProblemCode code);
void problem_list_clear(ProblemList *list);
Status problem_list_worst(const ProblemList *list);

void certificate_info_clear(CertificateInfo *info);

/* Appends a zero-initialised address and returns it, or NULL when out of memory. */
AddressReport *report_add_address(Report *report, const char *address);

/* Derives every status from the problems and merges the addresses' problems into the report's. */
int report_finalize(Report *report);

Report *report_free(Report *report);
DEFINE_TRIVIAL_CLEANUP_FUNC(Report *, report_free);
