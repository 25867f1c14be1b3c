/* SPDX-License-Identifier: MIT */
/* The status document: what `tlswatchctl status --json` shows of each target, built from the target's
 * state and its last report with the vocabulary of report-json.c. One target at a time, so the control
 * socket streams a fleet's status without ever holding all of it. Documented in tlswatchctl(1). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "report.h"
#include "target.h"

/* The status answer's schema; bumped when a member changes form or meaning. */
#define STATUS_JSON_SCHEMA "tlswatch.status/2"

typedef struct StatusTarget {
        const char *name;
        const char *address; /* "host:port", an IPv6 literal in brackets */
        const char *protocol;
        const TargetState *state;
        const Report *report;   /* the last probe's, NULL before the first */
        usec_t next_probe_usec; /* CLOCK_REALTIME, 0 if none */
        bool probing;           /* a probe is in flight */
        const char *shard;      /* Shard= as "I/N", NULL when not set */
} StatusTarget;

/* One element of the status answer's "targets"; a new object or NULL. */
json_t *status_json_target(const StatusTarget *t);
