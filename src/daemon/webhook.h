/* SPDX-License-Identifier: MIT */
/* Webhook delivery that loses nothing: each event is written to the spool before the first attempt and
 * removed only after a 2xx; retries back off exponentially (honouring Retry-After) until RetryMax=,
 * then the event goes to a dead-letter file. One request in flight per webhook keeps events in order. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "sink.h"
#include "target.h"

typedef struct WebhookManager WebhookManager;

/* `spool_directory` NULL: no durable spool, events live in memory only. `host` (may be NULL) gives the
 * saved states of the targets at the first configuration, for the alerts firing at Alertmanager. */
int webhook_manager_new(sd_event *event, const char *spool_directory, const SinkHost *host,
                        WebhookManager **ret);
WebhookManager *webhook_manager_free(WebhookManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(WebhookManager *, webhook_manager_free);

/* Loads secrets and prepares every webhook of `config` aside, changing nothing. Returns 0 or -EINVAL
 * with a sentence naming file:line in *ret_error. */
int webhook_manager_configure(WebhookManager *m, const Config *config, char **ret_error);
/* apply: the prepared webhooks take over (`config` must outlive the next configure), picking up what
 * the spool holds, and a webhook that keeps its name keeps its counters; else they are dropped. */
void webhook_manager_commit(WebhookManager *m, bool apply);

/* Queues an event for every webhook that wants it. */
void webhook_manager_dispatch(WebhookManager *m, const TargetConfig *config, const TargetState *state,
                              const TargetEvent *event);

/* Alertmanager webhooks: after each probe, the target's alerts that start, end or change severity are
 * spooled, and those still firing are resent (in memory, batched) with an endsAt a few intervals ahead. */
void webhook_manager_probe_done(WebhookManager *m, const SinkTarget *target);
/* A target gone from the configuration: its firing alerts are resolved. */
void webhook_manager_target_removed(WebhookManager *m, const TargetConfig *config);

/* Queues a test event for the webhook `name` (every peer of it). */
int webhook_manager_test(WebhookManager *m, const char *name, char **ret_error);

/* Per webhook: name, url, format, pending, oldest_pending_seconds, failures_total, dead_letters,
 * last_success (Unix seconds or null), last_error. Secrets never appear. */
json_t *webhook_manager_status(WebhookManager *m);

/* How long an event whose first attempt was recorded in an earlier boot has been tried, by the wall
 * clock (CLOCK_REALTIME, microseconds): `first_attempt` as saved, `spooled` and `recorded` the mtimes
 * of its spool file and of the record. A saved time the files' mtimes rule out counts from the
 * record's mtime, a time ahead of `now` as 0: an implausible difference never shortens RetryMax=. */
usec_t webhook_tried_across_reboot(usec_t first_attempt, usec_t spooled, usec_t recorded, usec_t now);

/* The sink: events go to the webhooks that want them. Its instance is the WebhookManager. */
extern const SinkType sink_webhook;
