/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition of the daemon's status: the names the blackbox exporter's users already
 * alert on (probe_success, probe_ssl_earliest_cert_expiry, ...) plus tlswatch_* for what only we know.
 * Pure: it formats the targets' state and last reports, which the caller hands over one by one. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "report.h"
#include "target.h"

typedef struct MetricsTarget {
        const char *name;
        const char *protocol;
        const TargetState *state;
        const Report *report; /* the last probe's, NULL before the first */
} MetricsTarget;

/* Fills *ret with target number `i` and returns true, or returns false past the last one. Called once
 * per target and family, so it must be cheap (an array lookup). */
typedef bool (*metrics_target_func)(void *userdata, size_t i, MetricsTarget *ret);

/* Writes every target's metrics, and every webhook's (the array `webhooks` answers, may be NULL), as
 * exposition text to `f`. Returns 0 or -EIO. */
int metrics_write(FILE *f, metrics_target_func get, void *userdata, json_t *webhooks);

/* The same into a new string. Returns 0 or -ENOMEM. */
int metrics_format(metrics_target_func get, void *userdata, json_t *webhooks, char **ret);
