/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition of the daemon's status: the names the blackbox exporter's users already
 * alert on (probe_success, probe_ssl_earliest_cert_expiry, ...) plus tlswatch_* for what only we know.
 * Pure: it formats the targets' state and last reports, which the caller hands over one by one. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "target.h"
#include "time-util.h"

typedef struct MetricsTarget {
        const char *name;
        const char *protocol;
        const char *host; /* the configured host (an IPv6 literal without brackets); NULL: no instance label */
        uint16_t port;
        const TargetState *state;
        const Report *report; /* the last probe's, NULL before the first */
        const char *vantage;  /* Vantage=: a "vantage" label on each sample; NULL: none */
} MetricsTarget;

/* Fills *ret with target number `i` and returns true, or returns false past the last one. Called once
 * per target and family, so it must be cheap (an array lookup). */
typedef bool (*metrics_target_func)(void *userdata, size_t i, MetricsTarget *ret);

/* What the exposition says about itself: tlswatch_build_info and tlswatch_metrics_timestamp_seconds. */
typedef struct MetricsInfo {
        const char *version;         /* tlswatch's */
        const char *openssl_version; /* the library's at run time, as OpenSSL_version() says it */
        usec_t now_usec;             /* CLOCK_REALTIME: when the exposition is made */
        /* The shared CRL cache's counters since the start (Revocation=); all 0 while no CRL is asked for. */
        uint64_t crl_fetches, crl_fetch_failures, crl_cache_hits;
        const char *vantage;         /* Vantage=: on the daemon's and webhooks' samples too; NULL: none */
} MetricsInfo;

/* Writes every target's metrics, and every webhook's (the array `webhooks` answers, may be NULL), then
 * the daemon's own (`info`), as exposition text to `f`. Returns 0 or -EIO. */
int metrics_write(FILE *f, metrics_target_func get, void *userdata, json_t *webhooks, const MetricsInfo *info);

/* The same into a new string. Returns 0 or -ENOMEM. */
int metrics_format(metrics_target_func get, void *userdata, json_t *webhooks, const MetricsInfo *info,
                   char **ret);

/* One target as the blackbox exporter's /probe answers: the probe_* families (and tlswatch_target_status,
 * tlswatch_problem, tlswatch_last_probe_timestamp_seconds) without the instance, target, protocol and
 * address labels, which Prometheus sets by relabeling (vantage stays, when set); one sample per family,
 * the worst address's (the earliest expiry, the address of the worst status). `target->report` must be
 * set. Returns 0 or -ENOMEM. */
int metrics_format_probe(const MetricsTarget *target, char **ret);
