/* SPDX-License-Identifier: MIT */
/* What a webhook sends. An event is captured once, as a document of the versioned schema
 * "tlswatch.alert/2" (the json format's body, kept in the spool); the slack and alertmanager bodies are
 * rendered from it at delivery. Pure: no clock, no network, so every body is unit-tested. */
#pragma once

#include <jansson.h>

#include "config.h"
#include "target.h"

/* 2: event names as everywhere (status_changed, certificate_changed), times as RFC 3339 beside
 * *_unix seconds, problems with depth and verify_code where they apply, "note" for a note. */
#define WEBHOOK_SCHEMA "tlswatch.alert/2"

/* The Events= kind this event belongs to (WEBHOOK_EVENT_*). */
unsigned webhook_event_kind(const TargetEvent *event);

/* Captures an event. `id` is its stable identity (32 hex digits), `now_usec` CLOCK_REALTIME, `vantage`
 * Vantage= (NULL: none, no "vantage" member). */
json_t *webhook_event_new(const TargetConfig *config, const TargetState *state, const TargetEvent *event,
                          const char *id, const char *hostname, const char *vantage, uint64_t now_usec);

/* The event `tlswatchctl webhook-test` sends: an alert of its own type "test" that names no target. */
json_t *webhook_test_event_new(const char *id, const char *hostname, const char *vantage, uint64_t now_usec);

/* What an Alertmanager alert takes besides the event: the webhook's settings and the moment of sending. */
typedef struct AlertSettings {
        const StringList *labels;  /* Label=: "name=value", NULL: none */
        const char *runbook_url;   /* RunbookURL=, NULL: WEBHOOK_DEFAULT_RUNBOOK_URL; "#code" is appended */
        const char *generator_url; /* [HTTP] ExternalURL=, NULL: no generatorURL */
        uint64_t now_usec;         /* CLOCK_REALTIME when sent: a firing alert's endsAt counts from here */
        usec_t horizon_usec;       /* webhook_alert_horizon() of the target's Interval= */
        bool vantage_label;        /* VantageLabel=: the event's vantage is a label, else an annotation */
} AlertSettings;

/* How long a firing alert holds at Alertmanager without a resend: four intervals, as Prometheus has it,
 * and at least 10 s. */
usec_t webhook_alert_horizon(usec_t interval_usec);

/* The one Alertmanager v2 alert (an object) for the event, or NULL with *ret_r = -ENODATA when it is
 * none (a status or certificate change), -EINVAL or -ENOMEM. Labels: alertname (TLSWatch and the code
 * in CamelCase), severity (critical, warning; info for a test), instance, target, code, job and
 * Label=; annotations summary, description, runbook_url, address, monitor; generatorURL with [HTTP].
 * The event's vantage is an annotation, so that two sites seeing one problem make one alert, or with
 * settings->vantage_label a label (one alert per site). */
json_t *webhook_alertmanager_alert(json_t *event, const AlertSettings *settings, int *ret_r);

/* One probe's step of a target's Alertmanager alerts. `firing` (NULL: none) is what was sent, code ->
 * {"severity", "starts" (Unix seconds), "message"}; returns the same for `problems` as they are now, and
 * appends to `changes` one {"change", "code", "severity", "message", "starts"} per alert: "start" (a new
 * code, or a code at a new severity, starting at `now`), "firing" (the same code and severity, from its
 * start), "end" (a code gone, or the old severity of one that changed). NULL: out of memory. */
json_t *webhook_alerts_step(json_t *firing, const ProblemList *problems, int64_t now, json_t *changes);

/* The body to POST in this format. `settings` matters to alertmanager only (NULL: the defaults, now =
 * the event's time). Returns 0 and a new string, -ENODATA when the format has nothing to say about
 * this event (alertmanager and a certificate change), or -ENOMEM. */
int webhook_render(WebhookFormat format, json_t *event, const AlertSettings *settings, char **ret);

/* X-Tlswatch-Signature's value: "sha256=" and the hex HMAC-SHA256, keyed with `secret`, of
 * "TIMESTAMP.BODY", so a receiver can check both the body and X-Tlswatch-Timestamp. */
int webhook_signature(const char *secret, const char *timestamp, const char *body, char ret[72]);

/* True if the target's name matches one of the glob patterns (an empty list matches all). */
bool webhook_wants_target(const StringList *patterns, const char *target);

/* The URL as status output may show it: scheme, host and port, and "/…" in place of a path, query or
 * user name, since services such as Slack put the webhook's secret token there. Returns 0 and a new
 * string, -EINVAL for a URL libcurl cannot parse, or -ENOMEM. */
int webhook_url_redact(const char *url, char **ret);
