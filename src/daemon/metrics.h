/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition of the daemon's status: the names the blackbox exporter's users already
 * alert on (probe_success, probe_ssl_earliest_cert_expiry, ...) plus tlswatch_* for what only we know.
 * Pure: it formats the status document the control socket serves. */
#pragma once

#include <jansson.h>

/* Formats the status of every target (the array `status` answers) and of every webhook (the array
 * `webhooks` answers, may be NULL) as exposition text. Returns 0 and a new string, or -ENOMEM. */
int metrics_format(json_t *targets, json_t *webhooks, char **ret);
