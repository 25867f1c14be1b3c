/* SPDX-License-Identifier: MIT */
/* Webhook bodies. The json body is the event document itself; slack gets one readable line; the
 * Alertmanager v2 API gets one alert per target and problem code, resolved by endsAt on recovery. */
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report-json.h"
#include "string-util.h"
#include "time-util.h"
#include "webhook-payload.h"

/* An event-driven source has no evaluation loop to keep an alert alive, so an open problem is sent
 * with an end this far away, renewed by each reminder, and ended explicitly by its recovery. */
#define ALERT_HORIZON_SECONDS (7 * 24 * 3600)
/* Long enough to see the test alert in Alertmanager's UI, short enough that nobody must silence it. */
#define TEST_ALERT_SECONDS (5 * 60)

unsigned webhook_event_kind(const TargetEvent *event) {
        switch (event->type) {
        case TARGET_EVENT_PROBLEM_APPEARED:
                return WEBHOOK_EVENT_PROBLEM;
        case TARGET_EVENT_PROBLEM_CLEARED:
                return WEBHOOK_EVENT_RECOVERY;
        case TARGET_EVENT_STATUS_CHANGED:
                return event->new_status == STATUS_OK ? WEBHOOK_EVENT_RECOVERY : WEBHOOK_EVENT_CHANGE;
        case TARGET_EVENT_CERTIFICATE_CHANGED:
                return WEBHOOK_EVENT_CHANGE;
        default:
                return WEBHOOK_EVENT_REMINDER;
        }
}

/* The members every alert has, the test event's too: one place for the schema's core. */
static json_t *alert_new(const char *type, const char *id, uint64_t now_usec, const char *target, const char *address,
                         const char *protocol, Status old_status, Status status, json_t *problems,
                         const char *hostname) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o*, s:s}", "schema", WEBHOOK_SCHEMA, "event",
                              type, "id", id, "target", target, "address", address, "protocol", protocol,
                              "old_status", status_to_string(old_status), "status", status_to_string(status),
                              "problems", problems, "monitor", hostname);
        if (o && json_object_set_time(o, "time", (int64_t) (now_usec / 1000000)) < 0)
                o = (json_decref(o), NULL);
        return o;
}

json_t *webhook_event_new(const TargetConfig *config, const TargetState *state, const TargetEvent *event,
                          const char *id, const char *hostname, uint64_t now_usec) {
        char address[300];

        assert(config && state && event && id && hostname);

        const char *host = event->address ?: config->probe.host;
        snprintf(address, sizeof(address), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, config->probe.port);

        json_t *o = alert_new(target_event_type_to_string(event->type), id, now_usec, config->name, address,
                              protocol_to_string(config->probe.protocol), event->old_status, event->new_status,
                              problems_to_json(&state->problems), hostname);
        if (!o)
                return NULL;
        int64_t not_after = parse_timestamp_rfc3339(state->not_after);
        int64_t old_not_after = parse_timestamp_rfc3339(event->old_not_after);
        if ((event->problem && json_object_set_new(o, "problem", problem_to_json(event->problem)) < 0) ||
            (state->has_days_left && json_object_set_new(o, "days_left", json_real(state->days_left)) < 0) ||
            (not_after >= 0 && json_object_set_time(o, "not_after", not_after) < 0) ||
            (state->subject && json_object_set_new(o, "subject", json_string(state->subject)) < 0) ||
            (state->issuer && json_object_set_new(o, "issuer", json_string(state->issuer)) < 0) ||
            (state->sha256[0] && json_object_set_new(o, "sha256", json_string(state->sha256)) < 0) ||
            (event->old_sha256 && json_object_set_new(o, "old_sha256", json_string(event->old_sha256)) < 0) ||
            (old_not_after >= 0 && json_object_set_time(o, "old_not_after", old_not_after) < 0)) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *webhook_test_event_new(const char *id, const char *hostname, uint64_t now_usec) {
        assert(id && hostname);

        json_t *o = alert_new("test", id, now_usec, "tlswatch-test", "localhost:0", "tls", STATUS_OK, STATUS_OK,
                              json_array(), hostname);
        if (o && json_object_set_new(o, "problem",
                                     json_pack("{s:s, s:s, s:s}", "code", "test", "severity", "warning", "message",
                                               "a test event sent by tlswatchctl webhook-test")) < 0)
                o = (json_decref(o), NULL);
        return o;
}

static const char *string_of(json_t *event, const char *key) {
        return json_string_value(json_object_get(event, key)) ?: "";
}

static char *render_slack(json_t *event) {
        const char *type = string_of(event, "event");
        json_t *problem = json_object_get(event, "problem");
        char text[2048];
        const char *icon = strcmp(type, "recovery") == 0 || strcmp(string_of(event, "status"), "ok") == 0 ? ":white_check_mark:"
                           : strcmp(string_of(event, "status"), "critical") == 0                            ? ":rotating_light:"
                                                                                                             : ":warning:";

        if (strcmp(type, "certificate_changed") == 0)
                snprintf(text, sizeof(text), "%s *%s* (%s) serves a new certificate: not after %s", icon,
                         string_of(event, "target"), string_of(event, "address"), string_of(event, "not_after"));
        else if (problem)
                snprintf(text, sizeof(text), "%s *%s* (%s) %s %s: %s — %s", icon, string_of(event, "target"),
                         string_of(event, "address"), strcmp(type, "recovery") == 0 ? "recovered from" : type,
                         string_of(problem, "code"), string_of(event, "status"), string_of(problem, "message"));
        else
                snprintf(text, sizeof(text), "%s *%s* (%s) is now %s (was %s)", icon, string_of(event, "target"),
                         string_of(event, "address"), string_of(event, "status"), string_of(event, "old_status"));

        /* snprintf may have cut the last character in half: JSON needs valid UTF-8. */
        utf8_cut_incomplete_tail(text);
        json_t *body = json_pack("{s:s}", "text", text);
        char *result = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        return result;
}

static int render_alertmanager(json_t *event, char **ret) {
        const char *type = string_of(event, "event");
        json_t *problem = json_object_get(event, "problem");
        char ends[32];

        /* Alerts are per target and problem code; a status or certificate change is no alert. A test
         * event (tlswatchctl webhook-test) is an alert of its own name that resolves by itself. */
        bool test = strcmp(type, "test") == 0;
        if (!problem || !(strcmp(type, "problem") == 0 || strcmp(type, "recovery") == 0 ||
                          strcmp(type, "reminder") == 0 || test))
                return -ENODATA;

        const char *time_text = string_of(event, "time");
        json_t *time_unix = json_object_get(event, "time_unix");
        if (!json_is_integer(time_unix))
                return -EINVAL;
        int64_t at = (int64_t) json_integer_value(time_unix);
        if (test)
                at += TEST_ALERT_SECONDS;
        else if (strcmp(type, "recovery") != 0)
                at += ALERT_HORIZON_SECONDS;
        format_timestamp_rfc3339(ends, sizeof(ends), at);

        /* The labels identify the alert and must not change while it lasts: a severity that grows from
         * warning to critical, or the address of the node that showed it, are annotations, or the
         * recovery would resolve another alert than the one that fired. */
        json_t *alert = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:s}", "labels", "alertname",
                                  test ? "TLSWatchTest" : "TLSWatchProblem", "target", string_of(event, "target"), "code",
                                  string_of(problem, "code"), "annotations", "summary", string_of(problem, "message"),
                                  "severity", string_of(problem, "severity"), "address", string_of(event, "address"),
                                  "monitor", string_of(event, "monitor"), "endsAt", ends);
        if (!alert)
                return -ENOMEM;
        /* Alertmanager 0.25 takes a missing startsAt as endsAt and replaces the alert; a reminder's own
         * time merges into the running one and keeps its start. */
        if (strcmp(type, "recovery") != 0 && json_object_set_new(alert, "startsAt", json_string(time_text)) < 0) {
                json_decref(alert);
                return -ENOMEM;
        }
        json_t *body = json_pack("[o]", alert);
        *ret = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        return *ret ? 0 : -ENOMEM;
}

int webhook_render(WebhookFormat format, json_t *event, char **ret) {
        switch (format) {
        case WEBHOOK_FORMAT_SLACK:
                *ret = render_slack(event);
                return *ret ? 0 : -ENOMEM;
        case WEBHOOK_FORMAT_ALERTMANAGER:
                return render_alertmanager(event, ret);
        default:
                *ret = json_dumps(event, JSON_COMPACT | REPORT_JSON_DUMP_FLAGS);
                return *ret ? 0 : -ENOMEM;
        }
}

int webhook_signature(const char *secret, const char *timestamp, const char *body, char ret[72]) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned length = 0;
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256", 0),
                OSSL_PARAM_construct_end(),
        };
        size_t out = 0;
        int r = -EIO;

        if (ctx && EVP_MAC_init(ctx, (const unsigned char *) secret, strlen(secret), params) == 1 &&
            EVP_MAC_update(ctx, (const unsigned char *) timestamp, strlen(timestamp)) == 1 &&
            EVP_MAC_update(ctx, (const unsigned char *) ".", 1) == 1 &&
            EVP_MAC_update(ctx, (const unsigned char *) body, strlen(body)) == 1 &&
            EVP_MAC_final(ctx, digest, &out, sizeof(digest)) == 1 && out == 32) {
                length = (unsigned) out;
                memcpy(ret, "sha256=", sizeof("sha256="));
                for (unsigned i = 0; i < length; i++)
                        snprintf(ret + 7 + 2 * i, 3, "%02x", digest[i]);
                r = 0;
        }
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(mac);
        return r;
}

bool webhook_wants_target(const StringList *patterns, const char *target) {
        if (patterns->n == 0)
                return true;
        for (size_t i = 0; i < patterns->n; i++)
                if (fnmatch(patterns->items[i], target, 0) == 0)
                        return true;
        return false;
}

int webhook_url_redact(const char *url, char **ret) {
        CURLU *handle = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
        int r = -EINVAL;

        if (!handle)
                return -ENOMEM;
        if (curl_url_set(handle, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(handle, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(handle, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto finish;
        /* Absent parts are not errors: only the port the URL names, not the scheme's default. */
        (void) curl_url_get(handle, CURLUPART_PORT, &port, 0);
        (void) curl_url_get(handle, CURLUPART_PATH, &path, 0);
        (void) curl_url_get(handle, CURLUPART_QUERY, &query, 0);
        (void) curl_url_get(handle, CURLUPART_USER, &user, 0);

        bool hidden = (path && strcmp(path, "/") != 0) || query || user;
        if (asprintf(ret, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ?: "", hidden ? "/..." : "/") < 0)
                r = -ENOMEM;
        else
                r = 0;
finish:
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_free(query);
        curl_free(user);
        curl_url_cleanup(handle);
        return r;
}
