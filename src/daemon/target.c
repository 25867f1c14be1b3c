/* SPDX-License-Identifier: MIT */
/* Target state transitions. Network faults (timeout, refused, DNS) must repeat ConfirmFailures times
 * before they count, so one lost packet pages nobody; certificate faults count at once. Problems are
 * compared by code: a new code appears, a missing one clears. */
#include <stdio.h>
#include <string.h>

#include "string-table.h"
#include "target.h"
#include "time-util.h"

static const char *const target_event_type_table[_TARGET_EVENT_TYPE_MAX] = {
        [TARGET_EVENT_STATUS_CHANGED] = "status_changed",
        [TARGET_EVENT_PROBLEM_APPEARED] = "problem",
        [TARGET_EVENT_PROBLEM_CLEARED] = "recovery",
        [TARGET_EVENT_CERTIFICATE_CHANGED] = "certificate_changed",
        [TARGET_EVENT_REMINDER] = "reminder",
};

DEFINE_STRING_TABLE_LOOKUP(target_event_type, TargetEventType, _TARGET_EVENT_TYPE_MAX);

static bool problem_is_network(ProblemCode code) {
        return IN_SET(code, PROBLEM_TIMEOUT, PROBLEM_CONNECT_FAILED, PROBLEM_DNS_FAILED);
}

/* Only network faults, nothing about the certificate: the kind of failure that needs confirming. */
static bool report_is_network_failure(const Report *report) {
        if (report->problems.n == 0)
                return false;
        for (size_t i = 0; i < report->problems.n; i++)
                if (!problem_is_network(report->problems.items[i].code))
                        return false;
        return true;
}

static const Problem *find_code(const ProblemList *list, ProblemCode code) {
        for (size_t i = 0; i < list->n; i++)
                if (list->items[i].code == code)
                        return &list->items[i];
        return NULL;
}

static const char *address_of(const Report *report, ProblemCode code) {
        for (size_t i = 0; report && i < report->n_addresses; i++)
                if (problem_list_has(&report->addresses[i].problems, code))
                        return report->addresses[i].address;
        return NULL;
}

static int copy_problems(const ProblemList *from, ProblemList *to) {
        ProblemList copy = {};

        for (size_t i = 0; i < from->n; i++) {
                const Problem *p = &from->items[i];
                /* One entry per code is what the state tracks; the first is the most telling. */
                if (problem_list_has(&copy, p->code))
                        continue;
                if (problem_list_add(&copy, p->code, p->severity, p->depth, p->verify_code, "%s", p->message) < 0) {
                        problem_list_clear(&copy);
                        return -ENOMEM;
                }
        }
        problem_list_clear(to);
        *to = copy;
        return 0;
}

/* The address whose leaf the state follows: the one still serving the leaf known so far if any does,
 * so that a cluster whose nodes differ (nodes_differ) does not flip between its certificates at every
 * probe; the change is announced once no node serves the old one. Else the first with a chain. */
static const AddressReport *followed_address(const TargetState *state, const Report *report) {
        const AddressReport *first = NULL;

        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];
                if (a->n_chain == 0)
                        continue;
                if (!first)
                        first = a;
                if (state->leaf && memcmp(a->chain[0].certificate->sha256, state->leaf->sha256,
                                          sizeof(state->leaf->sha256)) == 0)
                        return a;
        }
        return first;
}

static void record_certificate(TargetState *state, const Report *report) {
        const AddressReport *a = followed_address(state, report);
        if (a) {
                const Certificate *leaf = a->chain[0].certificate;
                certificate_sha256_hex(leaf, state->sha256);
                /* A reference, not copies: the fleet's state costs no memory for names already held. */
                certificate_unref(state->leaf);
                state->leaf = certificate_ref((Certificate *) leaf);
                state->subject = leaf->subject;
                state->issuer = leaf->issuer;
                CertPath path = cert_path_of(a->chain, a->n_chain);
                certificate_unref(state->intermediate);
                state->intermediate = certificate_ref((Certificate *) path.intermediate);
                certificate_unref(state->root);
                state->root = certificate_ref((Certificate *) path.root);
                state->has_days_left = a->has_days_left;
                state->days_left = a->days_left;
                /* The notAfter that matters is the earliest on the path, as days_left is. */
                int64_t earliest = leaf->not_after;
                for (size_t j = 1; j < a->n_chain; j++)
                        earliest = MIN(earliest, a->chain[j].certificate->not_after);
                format_timestamp_rfc3339(state->not_after, sizeof(state->not_after), earliest);
        }
}

/* The problems a renewal can cause devices, as the event carries them. */
static int change_problems(const TargetConfig *config, const CertDiff *diff, const CertPath *old_path,
                           const CertPath *new_path, ProblemList *ret) {
        int r;

        for (size_t i = 0; i < diff->n_changes; i++) {
                const CertChange *c = &diff->changes[i];
                if (c->kind == CERT_CHANGE_INTERMEDIATE) {
                        r = problem_list_add(
                                ret, PROBLEM_INTERMEDIATE_CHANGED, STATUS_WARNING, 1, -1,
                                "the renewal changed the issuing CA from \"%s\" to \"%s\": devices that "
                                "pin or ship the old intermediate fail; update their CA bundle or pins",
                                c->old_value, c->new_value);
                        if (r < 0)
                                return r;
                } else if (c->kind == CERT_CHANGE_CLIENT_AUTH_DROPPED) {
                        r = problem_list_add(
                                ret, PROBLEM_CLIENT_AUTH_DROPPED,
                                config->expect_client_auth ? STATUS_WARNING : STATUS_OK, 0, -1,
                                "the new certificate \"%s\" lacks the clientAuth extended key usage "
                                "that \"%s\" had: bridges and mTLS clients that present it fail",
                                new_path->leaf->subject, old_path->leaf->subject);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static void announce_certificate_change(const TargetConfig *config, TargetState *state, const Report *report,
                                        const CertPath *old_path, const char *old_sha256,
                                        const char *old_not_after, target_event_handler_t handler,
                                        void *userdata) {
        _cleanup_(cert_diff_clear) CertDiff diff = {};
        _cleanup_(problem_list_clear) ProblemList problems = {};
        CertPath new_path = { .leaf = state->leaf,
                              .intermediate = state->intermediate,
                              .root = state->root };

        /* Out of memory: the change is still announced, without its diff. */
        if (old_path->leaf && cert_diff(old_path, &new_path, &diff) == 0)
                (void) change_problems(config, &diff, old_path, &new_path, &problems);
        else
                diff.partial = true;

        state->certificate_changes++;
        for (size_t i = 0; i < diff.n_changes; i++)
                if (diff.changes[i].kind >= 0 && diff.changes[i].kind < _CERT_CHANGE_KIND_MAX)
                        state->change_counts[diff.changes[i].kind]++;

        handler(config, state,
                &(TargetEvent){ .type = TARGET_EVENT_CERTIFICATE_CHANGED,
                                .old_status = state->status,
                                .new_status = report->status,
                                .old_sha256 = old_sha256,
                                .old_not_after = old_not_after,
                                .diff = &diff,
                                .change_problems = &problems,
                                .problem = problem_list_worst_item(&problems) },
                userdata);
}

usec_t target_apply_report(const TargetConfig *config, TargetState *state, const Report *report, usec_t now_usec,
                           usec_t boot_usec, target_event_handler_t handler, void *userdata) {
        state->probes++;
        state->last_probe_usec = now_usec;
        state->last_duration_usec = report->duration_usec;

        if (report_is_network_failure(report))
                state->consecutive_failures++;
        else
                state->consecutive_failures = 0;

        if (report_is_network_failure(report) && state->consecutive_failures < config->confirm_failures)
                return config->retry_interval_usec;

        /* Certificate change: only between two served certificates, never on the first sight. */
        char old_sha256[65], old_not_after[32];
        snprintf(old_sha256, sizeof(old_sha256), "%s", state->sha256);
        snprintf(old_not_after, sizeof(old_not_after), "%s", state->not_after);
        /* The old path's certificates stay alive while the new one replaces them in the state. */
        CertPath old_path = { .leaf = certificate_ref(state->leaf),
                              .intermediate = certificate_ref(state->intermediate),
                              .root = certificate_ref(state->root) };
        record_certificate(state, report);
        if (old_sha256[0] && state->sha256[0] && strcmp(old_sha256, state->sha256) != 0)
                announce_certificate_change(config, state, report, &old_path, old_sha256, old_not_after,
                                            handler, userdata);
        certificate_unref((Certificate *) old_path.leaf);
        certificate_unref((Certificate *) old_path.intermediate);
        certificate_unref((Certificate *) old_path.root);

        Status old_status = state->status;
        ProblemList old_problems = state->problems;
        state->problems = (ProblemList) {};
        if (copy_problems(&report->problems, &state->problems) < 0) {
                state->problems = old_problems;
                return config->retry_interval_usec;
        }
        state->status = report->status;

        for (size_t i = 0; i < old_problems.n; i++)
                if (!find_code(&state->problems, old_problems.items[i].code))
                        handler(config, state,
                                &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_CLEARED, .old_status = old_status,
                                                 .new_status = state->status, .problem = &old_problems.items[i] },
                                userdata);

        bool announced = false;
        for (size_t i = 0; i < state->problems.n; i++) {
                const Problem *p = &state->problems.items[i];
                if (find_code(&old_problems, p->code))
                        continue;
                handler(config, state,
                        &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED, .old_status = old_status,
                                         .new_status = state->status, .problem = p,
                                         .address = address_of(report, p->code) },
                        userdata);
                announced = true;
        }

        if (old_status != state->status) {
                const Problem *worst = problem_list_worst_item(&state->problems);
                handler(config, state,
                        &(TargetEvent) { .type = TARGET_EVENT_STATUS_CHANGED, .old_status = old_status,
                                         .new_status = state->status, .problem = worst,
                                         .address = worst ? address_of(report, worst->code) : NULL },
                        userdata);
                announced = true;
        }
        if (announced && state->status != STATUS_OK) {
                state->last_announced_usec = now_usec;
                state->last_announced_boot_usec = boot_usec;
        }

        problem_list_clear(&old_problems);
        target_remind(config, state, now_usec, boot_usec, handler, userdata);
        return config->interval_usec;
}

static bool reminder_due(const TargetConfig *config, const TargetState *state, usec_t now_usec, usec_t boot_usec) {
        if (state->last_announced_boot_usec != 0 && boot_usec != 0)
                return boot_usec >= usec_add(state->last_announced_boot_usec, config->repeat_interval_usec);
        if (state->last_announced_usec == 0 || now_usec < state->last_announced_usec)
                return true;
        return now_usec >= usec_add(state->last_announced_usec, config->repeat_interval_usec);
}

void target_remind(const TargetConfig *config, TargetState *state, usec_t now_usec, usec_t boot_usec,
                   target_event_handler_t handler, void *userdata) {
        if (state->status == STATUS_OK || state->status == STATUS_UNKNOWN || state->problems.n == 0)
                return;
        if (!reminder_due(config, state, now_usec, boot_usec))
                return;

        handler(config, state,
                &(TargetEvent) { .type = TARGET_EVENT_REMINDER, .old_status = state->status,
                                 .new_status = state->status, .problem = problem_list_worst_item(&state->problems) },
                userdata);
        state->last_announced_usec = now_usec;
        state->last_announced_boot_usec = boot_usec;
}

void target_state_clear(TargetState *state) {
        problem_list_clear(&state->problems);
        certificate_unref(state->leaf);
        certificate_unref(state->intermediate);
        certificate_unref(state->root);
        *state = (TargetState) { .status = STATUS_UNKNOWN };
}
