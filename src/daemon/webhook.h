/* SPDX-License-Identifier: MIT */
/* Webhook delivery that loses nothing: each event is written to the spool before the first attempt and
 * removed only after a 2xx; retries back off exponentially (honouring Retry-After) until RetryMax=,
 * then the event goes to a dead-letter file. One request in flight per webhook keeps events in order. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "target.h"

typedef struct WebhookManager WebhookManager;

/* `spool_directory` NULL: no durable spool, events live in memory only. */
int webhook_manager_new(sd_event *event, const char *spool_directory, WebhookManager **ret);
WebhookManager *webhook_manager_free(WebhookManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(WebhookManager *, webhook_manager_free);

/* Loads secrets and prepares every webhook of `config` (which must outlive the next call), picking up
 * what the spool holds. Checks everything before changing anything: on error the old setup stays.
 * Returns 0 or -EINVAL with a sentence naming file:line in *ret_error. */
int webhook_manager_configure(WebhookManager *m, const Config *config, char **ret_error);

/* Queues an event for every webhook that wants it. */
void webhook_manager_dispatch(WebhookManager *m, const TargetConfig *config, const TargetState *state,
                              const TargetEvent *event);

/* Queues a test event for the webhook `name`. */
int webhook_manager_test(WebhookManager *m, const char *name, char **ret_error);

/* Per webhook: name, url, format, pending, oldest_pending_seconds, failures_total, dead_letters,
 * last_success (Unix seconds or null), last_error. Secrets never appear. */
json_t *webhook_manager_status(WebhookManager *m);
