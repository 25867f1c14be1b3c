/* SPDX-License-Identifier: MIT */
/* Pure certificate analysis: given what a listener served, the path OpenSSL built and the verify
 * errors it recorded, decide every problem and describe the chain. No sockets, no clock of its
 * own, so it can be unit-tested and fuzzed with any chain. */
#pragma once

#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

#include "expiry-policy.h"
#include "report.h"

typedef struct VerifyError {
        int depth;
        int code; /* X509_V_ERR_* */
} VerifyError;

/* The verify callback keeps at most this many errors; later ones add nothing an operator can act on. */
#define VERIFY_ERRORS_MAX 16

typedef struct CertCheckInput {
        STACK_OF(X509) *served;   /* as sent by the listener, leaf first; NULL or empty: none */
        STACK_OF(X509) *verified; /* the path OpenSSL built, leaf first, possibly partial; may be NULL */
        const VerifyError *errors;
        size_t n_errors;
        const char *server_name; /* checked against the leaf's SANs; NULL: no check */
        time_t now;
        ExpiryPolicy expiry;
        bool from_file; /* `served` is a certfile on disk (lint), not what a listener sent */
        SeverityChoice name_only_in_cn; /* a name matched through the subject CN alone; default: warning */
        const char *pins; /* PinSHA256=: SPKI SHA-256 pins, one of which the path must hold; NULL: none */
} CertCheckInput;

#define CERT_CHECK_PINS_MAX 16

/* Parses a pin list: words separated by blanks or commas, each 64 hex digits, base64 of 32 bytes, or
 * curl's "sha256//BASE64". Fills `pins` (may be NULL: only check) with at most `max`. Returns 0, or
 * -EINVAL for a malformed word, too many, or none. */
int cert_check_parse_pins(const char *text, uint8_t (*pins)[32], size_t max, size_t *ret_n);

/* SHA-256 of the DER SubjectPublicKeyInfo, as pins have it. Returns 0 or -EIO. */
int cert_check_spki_sha256(X509 *x, uint8_t ret[32]);

/* Appends the problems to report->problems and the analysed path to report->chain. Returns 0, or
 * -ENOMEM; a bad certificate is a finding, never an error. */
int cert_check(const CertCheckInput *input, AddressReport *report);

/* Describes one certificate as a report shows it (subject, issuer, dates, key, signature, names,
 * fingerprint). Returns 0 and a new reference, or -ENOMEM / -EIO. */
int cert_check_describe(X509 *x, Certificate **ret);

/* True unless the problems found show that the listener did not prove who it is: no certificate, a
 * chain that does not verify to a trust anchor, or a name the certificate does not cover. An expired
 * certificate still proves identity, so a probe may send it what only the real listener may see (an
 * MQTT password). */
bool cert_check_identity_verified(const ProblemList *problems);

/* True if `name` is an IPv4 or IPv6 literal (without brackets). */
bool cert_check_name_is_ip(const char *name);
