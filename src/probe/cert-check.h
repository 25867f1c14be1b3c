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
} CertCheckInput;

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
