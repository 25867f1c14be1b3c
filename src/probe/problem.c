/* SPDX-License-Identifier: MIT */
/* String tables for problem codes and statuses. Each table must hold exactly the names documented
 * in tlswatchctl(1); test-problem checks that none is missing. */
#include "problem.h"
#include "string-table.h"

static const char *const problem_code_table[_PROBLEM_CODE_MAX] = {
        [PROBLEM_DNS_FAILED] = "dns_failed",
        [PROBLEM_CONNECT_FAILED] = "connect_failed",
        [PROBLEM_TIMEOUT] = "timeout",
        [PROBLEM_TLS_HANDSHAKE_FAILED] = "tls_handshake_failed",
        [PROBLEM_NO_PEER_CERTIFICATE] = "no_peer_certificate",
        [PROBLEM_CLIENT_CERTIFICATE_REQUIRED] = "client_certificate_required",
        [PROBLEM_CHAIN_UNVERIFIED] = "chain_unverified",
        [PROBLEM_INCOMPLETE_CHAIN] = "incomplete_chain",
        [PROBLEM_HOSTNAME_MISMATCH] = "hostname_mismatch",
        [PROBLEM_EXPIRED] = "expired",
        [PROBLEM_NOT_YET_VALID] = "not_yet_valid",
        [PROBLEM_EXPIRES_SOON] = "expires_soon",
        [PROBLEM_WEAK_KEY] = "weak_key",
        [PROBLEM_WEAK_SIGNATURE] = "weak_signature",
        [PROBLEM_OLD_TLS_VERSION] = "old_tls_version",
        [PROBLEM_PROTOCOL_FAILED] = "protocol_failed",
        [PROBLEM_KEY_MISMATCH] = "key_mismatch",
        [PROBLEM_CERTFILE_ORDER] = "certfile_order",
        [PROBLEM_ROOT_IN_CERTFILE] = "root_in_certfile",
        [PROBLEM_CACERTFILE_NOT_CA] = "cacertfile_not_ca",
        [PROBLEM_CACERTFILE_NOT_ROOT] = "cacertfile_not_root",
        [PROBLEM_KEY_PERMISSIONS] = "key_permissions",
        [PROBLEM_STALE_CERTIFICATE] = "stale_certificate",
        [PROBLEM_NAME_ONLY_IN_CN] = "name_only_in_cn",
        [PROBLEM_RENEWAL_OVERDUE] = "renewal_overdue",
        [PROBLEM_REVOKED] = "revoked",
        [PROBLEM_REVOCATION_UNKNOWN] = "revocation_unknown",
        [PROBLEM_PIN_MISMATCH] = "pin_mismatch",
        [PROBLEM_INTERMEDIATE_CHANGED] = "intermediate_changed",
        [PROBLEM_CLIENT_AUTH_DROPPED] = "client_auth_dropped",
        [PROBLEM_NODES_DIFFER] = "nodes_differ",
};

DEFINE_STRING_TABLE_LOOKUP(problem_code, ProblemCode, _PROBLEM_CODE_MAX);

static const char *const status_table[_STATUS_MAX] = {
        [STATUS_OK] = "ok",
        [STATUS_WARNING] = "warning",
        [STATUS_UNKNOWN] = "unknown",
        [STATUS_CRITICAL] = "critical",
};

DEFINE_STRING_TABLE_LOOKUP(status, Status, _STATUS_MAX);

static const char *const severity_choice_table[_SEVERITY_CHOICE_MAX] = {
        [SEVERITY_CHOICE_DEFAULT] = "default",
        [SEVERITY_CHOICE_NOTE] = "note",
        [SEVERITY_CHOICE_WARNING] = "warning",
        [SEVERITY_CHOICE_CRITICAL] = "critical",
};

DEFINE_STRING_TABLE_LOOKUP(severity_choice, SeverityChoice, _SEVERITY_CHOICE_MAX);

Status severity_choice_apply(SeverityChoice choice, Status fallback) {
        switch (choice) {
        case SEVERITY_CHOICE_NOTE:
                return STATUS_OK; /* a problem at STATUS_OK is a note: listed, the status unchanged */
        case SEVERITY_CHOICE_WARNING:
                return STATUS_WARNING;
        case SEVERITY_CHOICE_CRITICAL:
                return STATUS_CRITICAL;
        default:
                return fallback;
        }
}

const char *status_to_label(Status status) {
        static const char *const labels[_STATUS_MAX] = {
                [STATUS_OK] = "OK",
                [STATUS_WARNING] = "WARNING",
                [STATUS_UNKNOWN] = "UNKNOWN",
                [STATUS_CRITICAL] = "CRITICAL",
        };

        if ((int) status < 0 || status >= _STATUS_MAX)
                return "UNKNOWN";
        return labels[status];
}

int status_to_exit_code(Status status) {
        switch (status) {
        case STATUS_OK:
                return 0;
        case STATUS_WARNING:
                return 1;
        case STATUS_CRITICAL:
                return 2;
        default:
                return 3;
        }
}
