/* SPDX-License-Identifier: MIT */
/* Webhook bodies. The json body is the event document itself; slack gets one readable line; the
 * Alertmanager v2 API gets one alert per target and problem code, with the labels routes split on,
 * held for a few intervals by each resend and resolved by an explicit endsAt. */
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

/* The shortest time a firing alert holds at Alertmanager without a resend. */
#define ALERT_HORIZON_FLOOR_USEC (10 * USEC_PER_SEC)
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
                         const char *hostname, const char *vantage) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o*, s:s}", "schema", WEBHOOK_SCHEMA, "event",
                              type, "id", id, "target", target, "address", address, "protocol", protocol,
                              "old_status", status_to_string(old_status), "status", status_to_string(status),
                              "problems", problems, "monitor", hostname);
        if (o && json_object_set_time(o, "time", (int64_t) (now_usec / 1000000)) < 0)
                o = (json_decref(o), NULL);
        if (o && vantage && json_object_set_new(o, "vantage", json_string(vantage)) < 0)
                o = (json_decref(o), NULL);
        return o;
}

/* The renewal diff as the document's "changes": one object per change, in the diff's order. */
static json_t *changes_to_json(const CertDiff *diff) {
        json_t *array = json_array();

        for (size_t i = 0; array && i < diff->n_changes; i++) {
                const CertChange *c = &diff->changes[i];
                char clause[2600];

                cert_change_describe(c, clause, sizeof(clause));
                json_t *o = json_pack("{s:s, s:s}", "change", cert_change_kind_to_string(c->kind), "message",
                                      clause);
                json_t *names = c->n_names > 0 ? json_array() : NULL;
                for (size_t j = 0; names && j < c->n_names; j++)
                        if (json_array_append_new(names, json_string(c->names[j])) < 0)
                                names = (json_decref(names), NULL);
                if (!o || (c->old_value && json_object_set_new(o, "old", json_string(c->old_value)) < 0) ||
                    (c->new_value && json_object_set_new(o, "new", json_string(c->new_value)) < 0) ||
                    (c->n_names > 0 && json_object_set_new(o, "names", names) < 0) ||
                    json_array_append_new(array, o) < 0) {
                        if (c->n_names > 0 && !o)
                                json_decref(names);
                        json_decref(array);
                        return NULL;
                }
        }
        return array;
}

json_t *webhook_event_new(const TargetConfig *config, const TargetState *state, const TargetEvent *event,
                          const char *id, const char *hostname, const char *vantage, uint64_t now_usec) {
        char address[300], instance[300];

        assert(config && state && event && id && hostname);

        const char *host = event->address ?: config->probe.host;
        snprintf(address, sizeof(address), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, config->probe.port);
        /* The listener as configured, as the metrics' instance label has it. */
        snprintf(instance, sizeof(instance), strchr(config->probe.host, ':') ? "[%s]:%u" : "%s:%u",
                 config->probe.host, config->probe.port);

        json_t *o = alert_new(target_event_type_to_string(event->type), id, now_usec, config->name, address,
                              protocol_to_string(config->probe.protocol), event->old_status, event->new_status,
                              problems_to_json(&state->problems), hostname, vantage);
        if (!o)
                return NULL;
        int64_t not_after = parse_timestamp_rfc3339(state->not_after);
        int64_t old_not_after = parse_timestamp_rfc3339(event->old_not_after);
        if (json_object_set_new(o, "instance", json_string(instance)) < 0 ||
            (event->problem && json_object_set_new(o, "problem", problem_to_json(event->problem)) < 0) ||
            (state->has_days_left && json_object_set_new(o, "days_left", json_real(state->days_left)) < 0) ||
            (not_after >= 0 && json_object_set_time(o, "not_after", not_after) < 0) ||
            (state->subject && json_object_set_new(o, "subject", json_string(state->subject)) < 0) ||
            (state->issuer && json_object_set_new(o, "issuer", json_string(state->issuer)) < 0) ||
            (state->sha256[0] && json_object_set_new(o, "sha256", json_string(state->sha256)) < 0) ||
            (event->old_sha256 &&
             json_object_set_new(o, "old_sha256", json_string(event->old_sha256)) < 0) ||
            (old_not_after >= 0 && json_object_set_time(o, "old_not_after", old_not_after) < 0) ||
            (event->diff &&
             (json_object_set_new(o, "changes", changes_to_json(event->diff)) < 0 ||
              json_object_set_new(o, "diff_partial", json_boolean(event->diff->partial)) < 0)) ||
            (event->change_problems &&
             json_object_set_new(o, "change_problems", problems_to_json(event->change_problems)) < 0)) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *webhook_test_event_new(const char *id, const char *hostname, const char *vantage, uint64_t now_usec) {
        assert(id && hostname);

        json_t *o = alert_new("test", id, now_usec, "tlswatch-test", "localhost:0", "tls", STATUS_OK, STATUS_OK,
                              json_array(), hostname, vantage);
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

        if (strcmp(type, "certificate_changed") == 0) {
                char changes[1200] = "";
                size_t used = 0, i;
                json_t *change;
                json_array_foreach(json_object_get(event, "changes"), i, change) {
                        int k = snprintf(changes + used, sizeof(changes) - used, "%s%s", used ? "; " : ": ",
                                         string_of(change, "message"));
                        if (k < 0 || (size_t) k >= sizeof(changes) - used) {
                                changes[used] = '\0';
                                break;
                        }
                        used += (size_t) k;
                }
                snprintf(text, sizeof(text), "%s *%s* (%s) serves a new certificate: not after %s%s", icon,
                         string_of(event, "target"), string_of(event, "address"),
                         string_of(event, "not_after"), changes);
        } else if (problem)
                snprintf(text, sizeof(text), "%s *%s* (%s) %s %s: %s — %s", icon, string_of(event, "target"),
                         string_of(event, "address"), strcmp(type, "recovery") == 0 ? "recovered from" : type,
                         string_of(problem, "code"), string_of(event, "status"), string_of(problem, "message"));
        else
                snprintf(text, sizeof(text), "%s *%s* (%s) is now %s (was %s)", icon, string_of(event, "target"),
                         string_of(event, "address"), string_of(event, "status"), string_of(event, "old_status"));

        /* Which site saw it, when a fleet's instances share one channel. */
        if (json_is_string(json_object_get(event, "vantage"))) {
                size_t used = strlen(text);
                snprintf(text + used, sizeof(text) - used, " [from %s]", string_of(event, "vantage"));
        }
        /* snprintf may have cut the last character in half: JSON needs valid UTF-8. */
        utf8_cut_incomplete_tail(text);
        json_t *body = json_pack("{s:s}", "text", text);
        char *result = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        return result;
}

usec_t webhook_alert_horizon(usec_t interval_usec) {
        /* Prometheus's own rule: an alert it sends holds for four resend intervals (rules/alerting.go,
         * ValidUntil), so that three lost resends do not end it. We resend at every probe, Interval= apart
         * (a probe's Timeout= never exceeds it); the floor covers a short Interval= against the time a
         * request takes and clocks that differ by a little. */
        return MAX(4 * interval_usec, ALERT_HORIZON_FLOOR_USEC);
}

/* "expires_soon" -> "TLSWatchExpiresSoon": an alertname per problem code, as Prometheus rules name
 * the condition they check, so that routes, silences and inhibitions can name one kind of problem. */
static void alert_name(const char *code, char *ret, size_t size) {
        size_t n = (size_t) snprintf(ret, size, "TLSWatch");
        bool upper = true;

        for (const char *c = code; *c && n + 1 < size; c++) {
                if (*c == '_') {
                        upper = true;
                        continue;
                }
                /* ASCII only: codes are [a-z_]; a conditional would promote both sides to int. */
                char letter = *c;
                if (upper && letter >= 'a' && letter <= 'z')
                        letter = (char) (letter - ('a' - 'A'));
                ret[n++] = letter;
                upper = false;
        }
        ret[n] = '\0';
}

static int set_string(json_t *o, const char *key, const char *value) {
        return json_object_set_new(o, key, json_string(value));
}

static json_t *alert_labels(json_t *event, json_t *problem, bool test, const AlertSettings *settings) {
        const char *code = string_of(problem, "code");
        const char *severity = string_of(problem, "severity");
        char name[128];

        if (test)
                snprintf(name, sizeof(name), "TLSWatchTest");
        else
                alert_name(code, name, sizeof(name));
        /* A webhook-test alert is "info", which no sensible route pages anyone for. */
        if (test || (strcmp(severity, "critical") != 0 && strcmp(severity, "warning") != 0))
                severity = "info";
        /* An event spooled by an older tlswatchd has no instance: its address was the target's then. */
        const char *instance = json_is_string(json_object_get(event, "instance"))
                                       ? string_of(event, "instance")
                                       : string_of(event, "address");
        json_t *labels = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "alertname", name, "severity", severity,
                                   "instance", instance, "target", string_of(event, "target"), "code", code,
                                   "job", "tlswatch");
        if (!labels)
                return NULL;
        /* By choice only: with the vantage a label, each site's view of a problem is an alert of its own. */
        if (settings && settings->vantage_label && json_is_string(json_object_get(event, "vantage")) &&
            set_string(labels, "vantage", string_of(event, "vantage")) < 0) {
                json_decref(labels);
                return NULL;
        }
        /* Label= may replace job; config.c refuses the names above. */
        for (size_t i = 0; settings && settings->labels && i < settings->labels->n; i++) {
                const char *item = settings->labels->items[i];
                const char *equals = strchr(item, '=');
                char key[256];
                if (!equals || (size_t) (equals - item) >= sizeof(key))
                        continue;
                snprintf(key, sizeof(key), "%.*s", (int) (equals - item), item);
                if (set_string(labels, key, equals + 1) < 0) {
                        json_decref(labels);
                        return NULL;
                }
        }
        return labels;
}

static json_t *alert_annotations(json_t *event, json_t *problem, bool test, const AlertSettings *settings) {
        const char *code = string_of(problem, "code");
        char summary[1024], description[2048], runbook[2200];

        snprintf(summary, sizeof(summary), "%s: %s", string_of(event, "target"),
                 string_of(problem, "message"));
        utf8_cut_incomplete_tail(summary);
        int n = snprintf(description, sizeof(description),
                         "tlswatchd on %s found %s (%s) on target %s, listener %s (%s), seen at %s.",
                         string_of(event, "monitor"), code, string_of(problem, "severity"),
                         string_of(event, "target"),
                         json_is_string(json_object_get(event, "instance")) ? string_of(event, "instance")
                                                                            : string_of(event, "address"),
                         string_of(event, "protocol"), string_of(event, "address"));
        if (n > 0 && (size_t) n < sizeof(description) && json_is_string(json_object_get(event, "not_after")))
                snprintf(description + n, sizeof(description) - (size_t) n,
                         " The certificate chain's earliest notAfter is %s.", string_of(event, "not_after"));
        utf8_cut_incomplete_tail(description);

        json_t *annotations = json_pack("{s:s, s:s, s:s, s:s}", "summary", summary, "description",
                                        description, "address", string_of(event, "address"), "monitor",
                                        string_of(event, "monitor"));
        if (!annotations)
                return NULL;
        /* By default an annotation: it does not split the alert identity, so Alertmanager deduplicates
         * the same problem seen from two sites (the last sender's annotations show). */
        if (json_is_string(json_object_get(event, "vantage")) && !(settings && settings->vantage_label) &&
            set_string(annotations, "vantage", string_of(event, "vantage")) < 0) {
                json_decref(annotations);
                return NULL;
        }
        if (!test) {
                snprintf(runbook, sizeof(runbook), "%s#%s",
                         settings && settings->runbook_url ? settings->runbook_url
                                                           : WEBHOOK_DEFAULT_RUNBOOK_URL,
                         code);
                if (set_string(annotations, "runbook_url", runbook) < 0) {
                        json_decref(annotations);
                        return NULL;
                }
        }
        return annotations;
}

json_t *webhook_alertmanager_alert(json_t *event, const AlertSettings *settings, int *ret_r) {
        const char *type = string_of(event, "event");
        json_t *problem = json_object_get(event, "problem");
        char starts[32], ends[32];

        /* Alerts are per target and problem code; a status or certificate change is no alert. A test
         * event (tlswatchctl webhook-test) is an alert of its own name that resolves by itself. A
         * reminder is how a resend is captured: the alert still firing, its time the alert's start. */
        bool test = strcmp(type, "test") == 0, resolve = strcmp(type, "recovery") == 0;
        if (!problem ||
            !(strcmp(type, "problem") == 0 || resolve || strcmp(type, "reminder") == 0 || test)) {
                *ret_r = -ENODATA;
                return NULL;
        }
        json_t *time_unix = json_object_get(event, "time_unix");
        if (!json_is_integer(time_unix)) {
                *ret_r = -EINVAL;
                return NULL;
        }
        int64_t at = (int64_t) json_integer_value(time_unix);
        int64_t now = settings ? (int64_t) (settings->now_usec / USEC_PER_SEC) : at;
        usec_t horizon = settings && settings->horizon_usec ? settings->horizon_usec
                                                            : ALERT_HORIZON_FLOOR_USEC;
        format_timestamp_rfc3339(starts, sizeof(starts), at);
        if (test)
                format_timestamp_rfc3339(ends, sizeof(ends), at + TEST_ALERT_SECONDS);
        else if (resolve)
                format_timestamp_rfc3339(ends, sizeof(ends), at);
        else
                /* Firing: it holds for a few intervals from when it is sent, and the next probe's
                 * resend carries it further; once tlswatchd stops, Alertmanager resolves it by itself. */
                format_timestamp_rfc3339(ends, sizeof(ends),
                                         MAX(now, at) + (int64_t) (horizon / USEC_PER_SEC));

        /* The labels identify the alert and must not change while it lasts: what may (the address of
         * the node that showed it, the words) is an annotation. A severity that changes makes another
         * alert, as a second Prometheus rule would; webhook.c resolves the first. */
        json_t *alert = json_object();
        if (!alert || json_object_set_new(alert, "labels", alert_labels(event, problem, test, settings)) < 0 ||
            json_object_set_new(alert, "annotations", alert_annotations(event, problem, test, settings)) < 0 ||
            set_string(alert, "endsAt", ends) < 0 ||
            /* Alertmanager 0.25 takes a missing startsAt as endsAt and replaces the alert; a resend's
             * start merges into the running alert, which keeps the earliest. */
            (!resolve && set_string(alert, "startsAt", starts) < 0)) {
                json_decref(alert);
                *ret_r = -ENOMEM;
                return NULL;
        }
        if (!test && settings && settings->generator_url) {
                _cleanup_free_ char *url = NULL;
                if (asprintf(&url, "%s/api/status?target=%s", settings->generator_url,
                             string_of(event, "target")) < 0 ||
                    set_string(alert, "generatorURL", url) < 0) {
                        json_decref(alert);
                        *ret_r = -ENOMEM;
                        return NULL;
                }
        }
        *ret_r = 0;
        return alert;
}

json_t *webhook_alerts_step(json_t *firing, const ProblemList *problems, int64_t now, json_t *changes) {
        json_t *current = json_object();

        if (!current)
                return NULL;
        for (size_t i = 0; i < problems->n; i++) {
                const Problem *p = &problems->items[i];
                const char *code = problem_code_to_string(p->code);
                const char *severity = problem_severity_to_string(p->severity);
                json_t *was = firing ? json_object_get(firing, code) : NULL;
                const char *sent = was ? json_string_value(json_object_get(was, "severity")) : NULL;
                bool same = sent && strcmp(sent, severity) == 0;
                json_int_t starts = same ? json_integer_value(json_object_get(was, "starts")) : now;
                int r = 0;

                if (!code || json_object_get(current, code))
                        continue; /* one alert per code */
                if (!same && was)
                        /* The severity is a label: another severity is another alert, as a second
                         * Prometheus rule would make, and the first one ends now. */
                        r = json_array_append_new(
                                changes, json_pack("{s:s, s:s, s:O, s:O}", "change", "end", "code", code,
                                                   "severity", json_object_get(was, "severity"), "message",
                                                   json_object_get(was, "message")));
                if (r >= 0)
                        r = json_array_append_new(changes, json_pack("{s:s, s:s, s:s, s:s, s:I}", "change",
                                                                     same ? "firing" : "start", "code", code,
                                                                     "severity", severity, "message",
                                                                     p->message ?: "", "starts", starts));
                if (r >= 0)
                        r = json_object_set_new(current, code,
                                                json_pack("{s:s, s:I, s:s}", "severity", severity, "starts",
                                                          starts, "message", p->message ?: ""));
                if (r < 0) {
                        json_decref(current);
                        return NULL;
                }
        }

        const char *code;
        json_t *was;
        json_object_foreach(firing, code, was) {
                if (json_object_get(current, code))
                        continue;
                if (json_array_append_new(changes, json_pack("{s:s, s:s, s:O, s:O}", "change", "end", "code",
                                                             code, "severity", json_object_get(was, "severity"),
                                                             "message", json_object_get(was, "message"))) < 0) {
                        json_decref(current);
                        return NULL;
                }
        }
        return current;
}

static int render_alertmanager(json_t *event, const AlertSettings *settings, char **ret) {
        int r;
        json_t *alert = webhook_alertmanager_alert(event, settings, &r);

        if (!alert)
                return r;
        json_t *body = json_pack("[o]", alert);
        *ret = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        return *ret ? 0 : -ENOMEM;
}

int webhook_render(WebhookFormat format, json_t *event, const AlertSettings *settings, char **ret) {
        switch (format) {
        case WEBHOOK_FORMAT_SLACK:
                *ret = render_slack(event);
                return *ret ? 0 : -ENOMEM;
        case WEBHOOK_FORMAT_ALERTMANAGER:
                return render_alertmanager(event, settings, ret);
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
