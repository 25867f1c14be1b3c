/* SPDX-License-Identifier: MIT */
/* Building and freeing the probe result model. Statuses are never stored by hand: report_finalize()
 * derives them from the problems, so a report cannot say "ok" while carrying a critical finding. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

Status problem_code_default_severity(ProblemCode code) {
        switch (code) {
        case PROBLEM_INCOMPLETE_CHAIN:
        case PROBLEM_EXPIRES_SOON:
        case PROBLEM_WEAK_KEY:
        case PROBLEM_WEAK_SIGNATURE:
        case PROBLEM_OLD_TLS_VERSION:
        case PROBLEM_CACERTFILE_NOT_ROOT:
        case PROBLEM_KEY_PERMISSIONS:
        case PROBLEM_STALE_CERTIFICATE:
                return STATUS_WARNING;
        case PROBLEM_ROOT_IN_CERTFILE:
                return STATUS_OK; /* a note: harmless, clients simply ignore the extra root */
        default:
                return STATUS_CRITICAL;
        }
}

/* A probe can only find a bounded number of distinct things; a hostile peer must not be able to
 * grow this list without limit. */
#define PROBLEMS_MAX 64

int problem_list_add(ProblemList *list, ProblemCode code, Status severity, int depth, int verify_code,
                     const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        if (list->n >= PROBLEMS_MAX)
                return 0;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        Problem *items = realloc(list->items, (list->n + 1) * sizeof(Problem));
        if (!items)
                return -ENOMEM;
        list->items = items;
        list->items[list->n++] = (Problem) {
                .code = code,
                .severity = severity,
                .message = TAKE_PTR(message),
                .depth = depth,
                .verify_code = verify_code,
        };
        return 0;
}

bool problem_list_has(const ProblemList *list, ProblemCode code) {
        for (size_t i = 0; i < list->n; i++)
                if (list->items[i].code == code)
                        return true;
        return false;
}

void problem_list_clear(ProblemList *list) {
        for (size_t i = 0; i < list->n; i++)
                free(list->items[i].message);
        free(list->items);
        *list = (ProblemList) {};
}

Status problem_list_worst(const ProblemList *list) {
        Status worst = STATUS_OK;

        for (size_t i = 0; i < list->n; i++)
                worst = status_worst(worst, list->items[i].severity);
        return worst;
}

void certificate_info_clear(CertificateInfo *info) {
        free(info->subject);
        free(info->issuer);
        free(info->key);
        free(info->signature_algorithm);
        free(info->subject_alt_names);
        *info = (CertificateInfo) {};
}

/* An upper bound on the addresses probed per target; a name that resolves to more is cut here. */
#define ADDRESSES_MAX 32

AddressReport *report_add_address(Report *report, const char *address) {
        if (report->n_addresses >= ADDRESSES_MAX)
                return NULL;

        AddressReport *addresses = realloc(report->addresses, (report->n_addresses + 1) * sizeof(AddressReport));
        if (!addresses)
                return NULL;
        report->addresses = addresses;

        AddressReport *a = &report->addresses[report->n_addresses];
        *a = (AddressReport) {};
        a->address = strdup(address);
        if (!a->address)
                return NULL;
        report->n_addresses++;
        return a;
}

static bool problem_equal(const Problem *a, const Problem *b) {
        return a->code == b->code && a->severity == b->severity && a->depth == b->depth &&
                a->verify_code == b->verify_code && strcmp(a->message, b->message) == 0;
}

int report_finalize(Report *report) {
        int r;

        report->status = problem_list_worst(&report->problems);

        /* Addresses of one cluster usually fail the same way; list each distinct finding once. */
        for (size_t i = 0; i < report->n_addresses; i++) {
                AddressReport *a = &report->addresses[i];

                a->status = problem_list_worst(&a->problems);
                if (a->internal_error)
                        a->status = status_worst(a->status, STATUS_UNKNOWN);
                report->status = status_worst(report->status, a->status);

                for (size_t j = 0; j < a->problems.n; j++) {
                        const Problem *p = &a->problems.items[j];
                        bool seen = false;

                        for (size_t k = 0; k < report->problems.n && !seen; k++)
                                seen = problem_equal(&report->problems.items[k], p);
                        if (seen)
                                continue;

                        r = problem_list_add(&report->problems, p->code, p->severity, p->depth, p->verify_code,
                                             "%s", p->message);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static void address_report_clear(AddressReport *a) {
        free(a->address);
        problem_list_clear(&a->problems);
        free(a->tls_version);
        free(a->cipher);
        for (size_t i = 0; i < a->n_chain; i++)
                certificate_info_clear(&a->chain[i]);
        free(a->chain);
        free(a->protocol_detail);
        free(a->internal_error);
}

Report *report_free(Report *report) {
        if (!report)
                return NULL;

        free(report->target);
        free(report->server_name);
        free(report->protocol);
        problem_list_clear(&report->problems);
        for (size_t i = 0; i < report->n_addresses; i++)
                address_report_clear(&report->addresses[i]);
        free(report->addresses);
        free(report);
        return NULL;
}
