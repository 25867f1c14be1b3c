/* SPDX-License-Identifier: MIT */
/* What the daemon knows about one listener, and how a new probe report changes it: confirmation of
 * network failures, problems that appear or clear, a certificate that was swapped, reminders. Pure
 * logic: events go to a handler, so the rules are tested without a journal or a clock. */
#pragma once

#include <stdbool.h>

#include "cert-diff.h"
#include "config.h"
#include "report.h"
#include "time-util.h"

typedef struct TargetState {
        Status status;            /* confirmed status; STATUS_UNKNOWN before the first probe */
        ProblemList problems;     /* the confirmed problems */
        char sha256[65];          /* leaf fingerprint last served, "" if none */
        char not_after[32];       /* earliest notAfter on the path */
        Certificate *leaf;        /* the leaf last served (a reference, shared with the reports), or NULL */
        const char *subject;      /* the leaf's, inside `leaf`; NULL if none */
        const char *issuer;
        Certificate *intermediate; /* the path's issuing CA and root last served (references), or NULL */
        Certificate *root;
        unsigned certificate_changes; /* since the start: tlswatch_certificate_changes_total */
        unsigned change_counts[_CERT_CHANGE_KIND_MAX];
        bool has_days_left;
        double days_left;
        usec_t last_probe_usec;   /* CLOCK_REALTIME */
        usec_t last_duration_usec;
        usec_t last_announced_usec; /* CLOCK_REALTIME of the last problem entry, for reminders */
        /* CLOCK_BOOTTIME of the same, 0 if it was announced in an earlier run (the state file): the
         * reminder's RepeatInterval= is measured on it, so a step of the wall clock neither silences
         * reminders (a step back) nor hurries them. */
        usec_t last_announced_boot_usec;
        unsigned consecutive_failures;
        unsigned probes;
} TargetState;

typedef enum TargetEventType {
        TARGET_EVENT_STATUS_CHANGED,
        TARGET_EVENT_PROBLEM_APPEARED,
        TARGET_EVENT_PROBLEM_CLEARED,
        TARGET_EVENT_CERTIFICATE_CHANGED,
        TARGET_EVENT_REMINDER,
        _TARGET_EVENT_TYPE_MAX,
        _TARGET_EVENT_TYPE_INVALID = -EINVAL,
} TargetEventType;

typedef struct TargetEvent {
        TargetEventType type;
        Status old_status;
        Status new_status;
        const Problem *problem;  /* appeared, cleared, or the worst one for status changes and reminders */
        const char *address;     /* where the problem was seen, NULL if not address-specific */
        const char *old_sha256;  /* certificate changes */
        const char *old_not_after;
        const CertDiff *diff;    /* certificate changes: what changed */
        const ProblemList *change_problems; /* certificate changes: intermediate_changed, client_auth_dropped */
} TargetEvent;

typedef void (*target_event_handler_t)(const TargetConfig *config, const TargetState *state,
                                       const TargetEvent *event, void *userdata);

/* The event's name in every document and journal field: status_changed, problem, recovery,
 * certificate_changed, reminder. */
const char *target_event_type_to_string(TargetEventType type);
TargetEventType target_event_type_from_string(const char *s);

/* Applies a finished probe at `now_usec` (CLOCK_REALTIME) and `boot_usec` (CLOCK_BOOTTIME). Returns the
 * delay until the next probe: the interval, or the retry interval while a network failure waits for
 * confirmation. */
usec_t target_apply_report(const TargetConfig *config, TargetState *state, const Report *report, usec_t now_usec,
                           usec_t boot_usec, target_event_handler_t handler, void *userdata);

/* Emits a reminder if the target has an ongoing problem not announced within RepeatInterval: measured
 * on CLOCK_BOOTTIME since an announcement of this run; since one of an earlier run by the wall clock,
 * a time ahead of now (a clock stepped back, a damaged state file) counting as long past. */
void target_remind(const TargetConfig *config, TargetState *state, usec_t now_usec, usec_t boot_usec,
                   target_event_handler_t handler, void *userdata);

void target_state_clear(TargetState *state);
