/* SPDX-License-Identifier: MIT */
/* The stable vocabulary of a probe's findings: problem codes, their default severities, and the
 * overall status. Names here are a public contract (JSON, journal, man page): never rename one. */
#pragma once

#include <errno.h>
#include <stdbool.h>

typedef enum ProblemCode {
        PROBLEM_DNS_FAILED,
        PROBLEM_CONNECT_FAILED,
        PROBLEM_TIMEOUT,
        PROBLEM_TLS_HANDSHAKE_FAILED,
        PROBLEM_NO_PEER_CERTIFICATE,
        PROBLEM_CLIENT_CERTIFICATE_REQUIRED,
        PROBLEM_CHAIN_UNVERIFIED,
        PROBLEM_INCOMPLETE_CHAIN,
        PROBLEM_HOSTNAME_MISMATCH,
        PROBLEM_EXPIRED,
        PROBLEM_NOT_YET_VALID,
        PROBLEM_EXPIRES_SOON,
        PROBLEM_WEAK_KEY,
        PROBLEM_WEAK_SIGNATURE,
        PROBLEM_OLD_TLS_VERSION,
        PROBLEM_PROTOCOL_FAILED,
        /* Findings about the files behind a listener (tlswatchctl lint, CertFile=/KeyFile=). */
        PROBLEM_KEY_MISMATCH,
        PROBLEM_CERTFILE_ORDER,
        PROBLEM_ROOT_IN_CERTFILE,
        PROBLEM_CACERTFILE_NOT_CA,
        PROBLEM_CACERTFILE_NOT_ROOT,
        PROBLEM_KEY_PERMISSIONS,
        PROBLEM_STALE_CERTIFICATE,
        PROBLEM_NAME_ONLY_IN_CN, /* the name matched through OpenSSL's subject CN fallback alone */
        /* Past the point of its lifetime where its ACME client renews it (expiry-policy.h). */
        PROBLEM_RENEWAL_OVERDUE,
        /* Revocation by CRL (Revocation=crl). */
        PROBLEM_REVOKED,
        PROBLEM_REVOCATION_UNKNOWN,
        /* Renewals that break devices, and clusters that disagree (issue 16). */
        PROBLEM_PIN_MISMATCH,
        PROBLEM_INTERMEDIATE_CHANGED,
        PROBLEM_CLIENT_AUTH_DROPPED,
        PROBLEM_NODES_DIFFER,
        _PROBLEM_CODE_MAX,
        _PROBLEM_CODE_INVALID = -EINVAL,
} ProblemCode;

/* Ordered by how bad they are, so the worst of several is their maximum. UNKNOWN means the probe
 * itself could not run (an internal failure), which is worse than a warning but, for alerting,
 * not as definite as a critical finding. */
typedef enum Status {
        STATUS_OK,
        STATUS_WARNING,
        STATUS_UNKNOWN,
        STATUS_CRITICAL,
        _STATUS_MAX,
        _STATUS_INVALID = -EINVAL,
} Status;

const char *problem_code_to_string(ProblemCode code);
ProblemCode problem_code_from_string(const char *s);

const char *status_to_string(Status status);
Status status_from_string(const char *s);

/* Upper-case form for human and Nagios-style output ("OK", "WARNING", ...). */
const char *status_to_label(Status status);

/* The exit code of a one-shot check, in the Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN. */
int status_to_exit_code(Status status);

/* The severity an operator chose for a finding that lets them choose (NameOnlyInCN=): the zero value
 * keeps the code's default, so settings built without it behave as documented. */
typedef enum SeverityChoice {
        SEVERITY_CHOICE_DEFAULT,
        SEVERITY_CHOICE_NOTE,
        SEVERITY_CHOICE_WARNING,
        SEVERITY_CHOICE_CRITICAL,
        _SEVERITY_CHOICE_MAX,
        _SEVERITY_CHOICE_INVALID = -EINVAL,
} SeverityChoice;

/* "note", "warning" or "critical" ("default" too, for the table's sake). */
const char *severity_choice_to_string(SeverityChoice choice);
SeverityChoice severity_choice_from_string(const char *s);

/* The severity to report: the choice, or `fallback` for SEVERITY_CHOICE_DEFAULT (or a bad value). */
Status severity_choice_apply(SeverityChoice choice, Status fallback);

static inline Status status_worst(Status a, Status b) {
        return a > b ? a : b;
}
