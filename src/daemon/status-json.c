/* SPDX-License-Identifier: MIT */
/* One target's status document. The confirmed state (what alerts follow) comes first; the last report,
 * in the same form `tlswatchctl probe --json` prints, is "report". Times as everywhere: RFC 3339 and
 * Unix seconds side by side. */
#include <assert.h>
#include <string.h>
#include <time.h>

#include "report-json.h"
#include "status-json.h"

json_t *status_json_target(const StatusTarget *t) {
        assert(t);
        assert(t->name && t->address && t->protocol && t->state);

        const TargetState *state = t->state;
        json_t *report = NULL;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o*, s:f, s:b, s:i, s:i}", "name", t->name, "address",
                              t->address, "protocol", t->protocol, "status", status_to_string(state->status),
                              "problems", problems_to_json(&state->problems), "last_duration_seconds",
                              (double) state->last_duration_usec / USEC_PER_SEC, "probing", t->probing,
                              "consecutive_failures", (int) state->consecutive_failures, "probes",
                              (int) state->probes);
        if (!o)
                return NULL;

        /* Never probed, nothing scheduled: null, so a reader tests one member, not a sentinel word. */
        int64_t not_after = parse_timestamp_rfc3339(state->not_after);
        if ((state->last_probe_usec > 0
                     ? json_object_set_time(o, "last_probe",
                                            (int64_t) (state->last_probe_usec / USEC_PER_SEC))
                     : json_object_set_new(o, "last_probe", json_null())) < 0 ||
            (t->next_probe_usec > 0
                     ? json_object_set_time(o, "next_probe", (int64_t) (t->next_probe_usec / USEC_PER_SEC))
                     : json_object_set_new(o, "next_probe", json_null())) < 0 ||
            (state->has_days_left && json_object_set_new(o, "days_left", json_real(state->days_left)) < 0) ||
            (not_after >= 0 && json_object_set_time(o, "not_after", not_after) < 0) ||
            (state->sha256[0] && json_object_set_new(o, "sha256", json_string(state->sha256)) < 0) ||
            (state->subject && json_object_set_new(o, "subject", json_string(state->subject)) < 0) ||
            (state->issuer && json_object_set_new(o, "issuer", json_string(state->issuer)) < 0) ||
            (t->shard && json_object_set_new(o, "shard", json_string(t->shard)) < 0) ||
            (t->report && (report_to_json(t->report, &report) < 0 ||
                           json_object_set_new(report, "name", json_string(t->name)) < 0 ||
                           json_object_set_new(o, "report", report) < 0))) {
                json_decref(o);
                return NULL;
        }
        return o;
}
