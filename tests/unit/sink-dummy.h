/* SPDX-License-Identifier: MIT */
/* A sink that only records what the daemon gives it, for test-sink: added to the daemon by one row in
 * the test's own copy of the sink table, nowhere else. */
#pragma once

#include "sink.h"

typedef struct DummySinkLog {
        unsigned configures;
        unsigned refusals; /* configurations it refused */
        unsigned applied;  /* commits that put a configuration in force */
        unsigned dropped;  /* commits that dropped one */
        unsigned events[_TARGET_EVENT_TYPE_MAX];
        bool expires_soon_appeared;
        Status last_status; /* of the last status change */
        unsigned probes_done;
        bool probe_without_report; /* a probe_done whose view had no report */
        unsigned flushes;
        size_t targets_at_flush; /* what the host's view listed at the last flush */
        bool view_consistent;    /* every listed target had a config and a state */
        unsigned removed;
        char last_removed[64];
        const Config *running; /* the configuration last applied */

        /* Called after each of the above is recorded, with the operation's name: the test's script. */
        void (*step)(const char *operation, const char *target);
} DummySinkLog;

extern DummySinkLog dummy_sink_log;

/* Refuses any configuration with a target of this name. */
#define DUMMY_SINK_REFUSED_TARGET "refused"

extern const SinkType sink_dummy;
