/* SPDX-License-Identifier: MIT */
/* Target state transitions. Network faults (timeout, refused, DNS) must repeat ConfirmFailures times
 * before they count, so one lost packet pages nobody; certificate faults count at once. Problems are
 * compared by code: a new code appears, a missing one clears. */
#include <string.h>

#include "string-table.h"
#include "target.h"

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

static const Problem *worst_problem(const ProblemList *list) {
        const Problem *worst = NULL;

        for (size_t i = 0; i < list->n; i++)
                if (!worst || list->items[i].severity > worst->severity)
                        worst = &list->items[i];
        return worst;
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

static void replace_string(char **field, const char *value) {
        free(*field);
        *field = value ? strdup(value) : NULL;
}

static void record_certificate(TargetState *state, const Report *report) {
        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];
                if (a->n_chain == 0)
                        continue;
                snprintf(state->sha256, sizeof(state->sha256), "%s", a->chain[0].sha256);
                replace_string(&state->subject, a->chain[0].subject);
                replace_string(&state->issuer, a->chain[0].issuer);
                state->has_days_left = a->has_days_left;
                state->days_left = a->days_left;
                /* The notAfter that matters is the earliest on the path, as days_left is. */
                size_t earliest = 0;
                for (size_t j = 1; j < a->n_chain; j++)
                        if (a->chain[j].days_left < a->chain[earliest].days_left)
                                earliest = j;
                snprintf(state->not_after, sizeof(state->not_after), "%s", a->chain[earliest].not_after);
                return;
        }
}

usec_t target_apply_report(const TargetConfig *config, TargetState *state, const Report *report, usec_t now_usec,
                           target_event_handler_t handler, void *userdata) {
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
        record_certificate(state, report);
        if (old_sha256[0] && state->sha256[0] && strcmp(old_sha256, state->sha256) != 0)
                handler(config, state,
                        &(TargetEvent) { .type = TARGET_EVENT_CERTIFICATE_CHANGED, .old_status = state->status,
                                         .new_status = report->status, .old_sha256 = old_sha256,
                                         .old_not_after = old_not_after },
                        userdata);

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
                const Problem *worst = worst_problem(&state->problems);
                handler(config, state,
                        &(TargetEvent) { .type = TARGET_EVENT_STATUS_CHANGED, .old_status = old_status,
                                         .new_status = state->status, .problem = worst,
                                         .address = worst ? address_of(report, worst->code) : NULL },
                        userdata);
                announced = true;
        }
        if (announced && state->status != STATUS_OK)
                state->last_announced_usec = now_usec;

        problem_list_clear(&old_problems);
        target_remind(config, state, now_usec, handler, userdata);
        return config->interval_usec;
}

void target_remind(const TargetConfig *config, TargetState *state, usec_t now_usec, target_event_handler_t handler,
                   void *userdata) {
        if (state->status == STATUS_OK || state->status == STATUS_UNKNOWN || state->problems.n == 0)
                return;
        if (state->last_announced_usec != 0 && now_usec < state->last_announced_usec + config->repeat_interval_usec)
                return;

        handler(config, state,
                &(TargetEvent) { .type = TARGET_EVENT_REMINDER, .old_status = state->status,
                                 .new_status = state->status, .problem = worst_problem(&state->problems) },
                userdata);
        state->last_announced_usec = now_usec;
}

void target_state_clear(TargetState *state) {
        problem_list_clear(&state->problems);
        free(state->subject);
        free(state->issuer);
        *state = (TargetState) { .status = STATUS_UNKNOWN };
}

json_t *target_state_to_json(const TargetState *state) {
        json_t *problems = json_array();

        for (size_t i = 0; problems && i < state->problems.n; i++) {
                const Problem *p = &state->problems.items[i];
                if (json_array_append_new(problems, json_pack("{s:s, s:s, s:s, s:i, s:i}", "code",
                                                              problem_code_to_string(p->code), "severity",
                                                              status_to_string(p->severity), "message", p->message,
                                                              "depth", p->depth, "verify_code", p->verify_code)) < 0) {
                        json_decref(problems);
                        return NULL;
                }
        }

        json_t *o = json_pack("{s:s, s:o, s:s, s:s, s:s*, s:s*, s:I, s:I, s:I, s:i, s:i}", "status",
                              status_to_string(state->status), "problems", problems, "sha256", state->sha256,
                              "not_after", state->not_after, "subject", state->subject, "issuer", state->issuer,
                              "last_probe_usec", (json_int_t) state->last_probe_usec, "last_duration_usec",
                              (json_int_t) state->last_duration_usec, "last_announced_usec",
                              (json_int_t) state->last_announced_usec, "consecutive_failures",
                              (int) state->consecutive_failures, "probes", (int) state->probes);
        if (o && state->has_days_left && json_object_set_new(o, "days_left", json_real(state->days_left)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int target_state_from_json(json_t *o, TargetState *ret) {
        TargetState state = { .status = STATUS_UNKNOWN };
        const char *status = NULL, *sha256 = "", *not_after = "", *subject = NULL, *issuer = NULL;
        json_int_t last_probe = 0, last_duration = 0, last_announced = 0;
        int failures = 0, probes = 0;
        json_t *problems = NULL, *days_left = NULL;
        size_t i;
        json_t *item;

        if (json_unpack(o, "{s:s, s:o, s?s, s?s, s?s, s?s, s?I, s?I, s?I, s?i, s?i, s?o}", "status", &status,
                        "problems", &problems, "sha256", &sha256, "not_after", &not_after, "subject", &subject,
                        "issuer", &issuer, "last_probe_usec", &last_probe, "last_duration_usec", &last_duration,
                        "last_announced_usec", &last_announced, "consecutive_failures", &failures, "probes", &probes,
                        "days_left", &days_left) < 0 ||
            !json_is_array(problems) || strlen(sha256) >= sizeof(state.sha256) ||
            strlen(not_after) >= sizeof(state.not_after) || failures < 0 || probes < 0 ||
            (days_left && !json_is_number(days_left)))
                return -EBADMSG;

        state.status = status_from_string(status);
        if (state.status < 0)
                return -EBADMSG;

        json_array_foreach(problems, i, item) {
                const char *code = NULL, *severity = NULL, *message = NULL;
                int depth = -1, verify_code = -1;

                if (json_unpack(item, "{s:s, s:s, s:s, s?i, s?i}", "code", &code, "severity", &severity, "message",
                                &message, "depth", &depth, "verify_code", &verify_code) < 0 ||
                    problem_code_from_string(code) < 0 || status_from_string(severity) < 0 ||
                    problem_list_add(&state.problems, problem_code_from_string(code), status_from_string(severity),
                                     depth, verify_code, "%s", message) < 0) {
                        target_state_clear(&state);
                        return -EBADMSG;
                }
        }

        snprintf(state.sha256, sizeof(state.sha256), "%s", sha256);
        snprintf(state.not_after, sizeof(state.not_after), "%s", not_after);
        state.subject = subject ? strdup(subject) : NULL;
        state.issuer = issuer ? strdup(issuer) : NULL;
        state.has_days_left = json_is_number(days_left);
        state.days_left = state.has_days_left ? json_number_value(days_left) : 0;
        state.last_probe_usec = (usec_t) last_probe;
        state.last_duration_usec = (usec_t) last_duration;
        state.last_announced_usec = (usec_t) last_announced;
        state.consecutive_failures = (unsigned) failures;
        state.probes = (unsigned) probes;
        *ret = state;
        return 0;
}
