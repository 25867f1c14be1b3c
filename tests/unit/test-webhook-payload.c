/* SPDX-License-Identifier: MIT */
/* Webhook payloads: the tlswatch.alert/2 document of each event type with exactly its members, the
 * Events= kind of each event, the slack text, the Alertmanager v2 body (labels, startsAt, endsAt, and
 * nothing for status or certificate changes), the HMAC signature against vectors computed with
 * openssl dgst, and Targets= globs. Last, real target transitions are fed through the alert table's
 * steps and the Alertmanager renderer into a model of Alertmanager's alert identity (the label set),
 * which must end up with no alert left open once the target has recovered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "target.h"
#include "report-json.h"
#include "webhook-payload.h"
#include "webhook.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID "0123456789abcdef0123456789abcdef"
#define MONITOR "monitor.example.net"

/* 2024-06-01 00:00:00 UTC, an arbitrary realistic CLOCK_REALTIME. */
#define T0 ((usec_t) 1717200000ULL * USEC_PER_SEC)
#define T0_TEXT "2024-06-01T00:00:00Z"
#define T0_PLUS_7_DAYS_TEXT "2024-06-08T00:00:00Z"

static const TargetConfig config = {
        .name = (char *) "broker",
        .probe.host = (char *) "broker.example.com",
        .probe.port = 8883,
        .probe.protocol = &protocol_mqtt,
        .interval_usec = 300 * USEC_PER_SEC,
        .retry_interval_usec = 60 * USEC_PER_SEC,
        .probe.timeout_usec = 10 * USEC_PER_SEC,
        .repeat_interval_usec = 24 * USEC_PER_HOUR,
        .probe.warn_days = 30,
        .probe.crit_days = 7,
        .confirm_failures = 1,
};

static const Problem expired = {
        .code = PROBLEM_EXPIRED,
        .severity = STATUS_CRITICAL,
        .message = (char *) "the certificate expired on 2024-05-30",
        .depth = 0,
        .verify_code = -1,
};

static const Problem weak_key = {
        .code = PROBLEM_WEAK_KEY,
        .severity = STATUS_WARNING,
        .message = (char *) "RSA 1024 is weak",
        .depth = 0,
        .verify_code = -1,
};

/* A state holding `problems` and, with a certificate, what was served. */
static TargetState make_state(Status status, const Problem *problems, size_t n, bool certificate) {
        TargetState s = { .status = status, .problems = { .items = (Problem *) problems, .n = n } };

        if (certificate) {
                snprintf(s.sha256, sizeof(s.sha256), "%s", SHA_B);
                snprintf(s.not_after, sizeof(s.not_after), "%s", "2024-05-30T00:00:00Z");
                s.subject = (char *) "CN=broker.example.com";
                s.issuer = (char *) "CN=Example CA";
                s.has_days_left = true;
                s.days_left = -2.5;
        }
        return s;
}

static json_t *make_event(const TargetState *state, const TargetEvent *event) {
        json_t *o = webhook_event_new(&config, state, event, ID, MONITOR, NULL, T0);
        assert_non_null(o);
        return o;
}

/* The object has exactly these members (a NULL-terminated list), no more. */
static void check_members_at(json_t *o, const char *const *names, const char *file, int line) {
        size_t n = 0;

        _assert_true(json_is_object(o), "an object", file, line);
        for (; names[n]; n++)
                if (!json_object_get(o, names[n])) {
                        char *text = json_dumps(o, JSON_COMPACT);
                        print_error("member \"%s\" missing in %s\n", names[n], text);
                        free(text);
                        _fail(file, line);
                }
        if (json_object_size(o) != n) {
                char *text = json_dumps(o, JSON_COMPACT);
                print_error("expected %zu members, got %zu: %s\n", n, json_object_size(o), text);
                free(text);
                _fail(file, line);
        }
}
#define check_members(o, ...)                                                                               \
        check_members_at((o), (const char *const[]) { __VA_ARGS__, NULL }, __FILE__, __LINE__)

static const char *string_member(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        assert_true(json_is_string(v));
        return json_string_value(v);
}

static void check_problem_object(json_t *o, const Problem *p) {
        /* The one vocabulary's problem: position members only where they apply. */
        if (p->depth >= 0 && p->verify_code >= 0)
                check_members(o, "code", "severity", "message", "depth", "verify_code");
        else if (p->depth >= 0)
                check_members(o, "code", "severity", "message", "depth");
        else if (p->verify_code >= 0)
                check_members(o, "code", "severity", "message", "verify_code");
        else
                check_members(o, "code", "severity", "message");
        assert_string_equal(string_member(o, "code"), problem_code_to_string(p->code));
        assert_string_equal(string_member(o, "severity"), problem_severity_to_string(p->severity));
        assert_string_equal(string_member(o, "message"), p->message);
        if (p->depth >= 0)
                assert_int_equal(json_integer_value(json_object_get(o, "depth")), p->depth);
}

/* ---- event types and kinds --------------------------------------------------------------------------- */

static void test_event_type_and_kind(void **unused) {
        static const struct {
                TargetEventType type;
                Status new_status;
                const char *name;
                unsigned kind;
        } cases[] = {
                { TARGET_EVENT_PROBLEM_APPEARED, STATUS_CRITICAL, "problem", WEBHOOK_EVENT_PROBLEM },
                { TARGET_EVENT_PROBLEM_APPEARED, STATUS_WARNING, "problem", WEBHOOK_EVENT_PROBLEM },
                { TARGET_EVENT_PROBLEM_CLEARED, STATUS_OK, "recovery", WEBHOOK_EVENT_RECOVERY },
                /* A problem can clear while another remains: still a recovery of that problem. */
                { TARGET_EVENT_PROBLEM_CLEARED, STATUS_WARNING, "recovery", WEBHOOK_EVENT_RECOVERY },
                /* A status change to ok is what Events=recovery asks for; any other is a change. */
                { TARGET_EVENT_STATUS_CHANGED, STATUS_OK, "status_changed", WEBHOOK_EVENT_RECOVERY },
                { TARGET_EVENT_STATUS_CHANGED, STATUS_WARNING, "status_changed", WEBHOOK_EVENT_CHANGE },
                { TARGET_EVENT_STATUS_CHANGED, STATUS_CRITICAL, "status_changed", WEBHOOK_EVENT_CHANGE },
                { TARGET_EVENT_STATUS_CHANGED, STATUS_UNKNOWN, "status_changed", WEBHOOK_EVENT_CHANGE },
                { TARGET_EVENT_CERTIFICATE_CHANGED, STATUS_OK, "certificate_changed", WEBHOOK_EVENT_CHANGE },
                { TARGET_EVENT_REMINDER, STATUS_CRITICAL, "reminder", WEBHOOK_EVENT_REMINDER },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                TargetEvent event = { .type = cases[i].type,
                                      .old_status = STATUS_OK,
                                      .new_status = cases[i].new_status };
                assert_string_equal(target_event_type_to_string(event.type), cases[i].name);
                assert_int_equal(webhook_event_kind(&event), cases[i].kind);
        }
        /* Every kind is one bit of Events=all. */
        assert_int_equal(WEBHOOK_EVENT_PROBLEM | WEBHOOK_EVENT_RECOVERY | WEBHOOK_EVENT_CHANGE |
                                 WEBHOOK_EVENT_REMINDER,
                         WEBHOOK_EVENTS_ALL);
}

/* ---- the tlswatch.alert/2 document ------------------------------------------------------------------- */

static void test_document_problem(void **unused) {
        Problem problems[] = { expired, weak_key };
        TargetState state = make_state(STATUS_CRITICAL, problems, 2, true);
        TargetEvent event = { .type = TARGET_EVENT_PROBLEM_APPEARED,
                              .old_status = STATUS_OK,
                              .new_status = STATUS_CRITICAL,
                              .problem = &problems[0],
                              .address = "192.0.2.1" };
        json_t *o = make_event(&state, &event);

        check_members(o, "schema", "event", "id", "time", "time_unix", "target", "address", "instance", "protocol",
                      "old_status", "status", "problems", "problem", "days_left", "not_after", "not_after_unix", "subject", "issuer",
                      "sha256", "monitor");
        assert_string_equal(string_member(o, "schema"), "tlswatch.alert/2");
        assert_string_equal(string_member(o, "schema"), WEBHOOK_SCHEMA);
        assert_string_equal(string_member(o, "event"), "problem");
        assert_string_equal(string_member(o, "id"), ID);
        assert_string_equal(string_member(o, "time"), T0_TEXT);
        assert_int_equal(json_integer_value(json_object_get(o, "time_unix")), 1717200000);
        assert_int_equal(json_integer_value(json_object_get(o, "not_after_unix")), 1717027200);
        assert_string_equal(string_member(o, "target"), "broker");
        /* Where the problem was seen, with the target's port; the listener as configured. */
        assert_string_equal(string_member(o, "address"), "192.0.2.1:8883");
        assert_string_equal(string_member(o, "instance"), "broker.example.com:8883");
        assert_string_equal(string_member(o, "protocol"), "mqtt");
        assert_string_equal(string_member(o, "old_status"), "ok");
        assert_string_equal(string_member(o, "status"), "critical");
        assert_string_equal(string_member(o, "monitor"), MONITOR);
        check_problem_object(json_object_get(o, "problem"), &expired);

        json_t *list = json_object_get(o, "problems");
        assert_true(json_is_array(list));
        assert_int_equal(json_array_size(list), 2);
        check_problem_object(json_array_get(list, 0), &expired);
        check_problem_object(json_array_get(list, 1), &weak_key);

        assert_true(json_is_number(json_object_get(o, "days_left")));
        assert_true(json_number_value(json_object_get(o, "days_left")) == -2.5);
        assert_string_equal(string_member(o, "not_after"), "2024-05-30T00:00:00Z");
        assert_string_equal(string_member(o, "subject"), "CN=broker.example.com");
        assert_string_equal(string_member(o, "issuer"), "CN=Example CA");
        assert_string_equal(string_member(o, "sha256"), SHA_B);
        json_decref(o);
}

static void test_document_ipv6_address(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, false);
        TargetEvent event = { .type = TARGET_EVENT_PROBLEM_APPEARED,
                              .old_status = STATUS_OK,
                              .new_status = STATUS_CRITICAL,
                              .problem = &expired,
                              .address = "2001:db8::1" };
        json_t *o = make_event(&state, &event);

        assert_string_equal(string_member(o, "address"), "[2001:db8::1]:8883");
        json_decref(o);
}

static void test_document_recovery(void **unused) {
        TargetState state = make_state(STATUS_OK, NULL, 0, true);
        TargetEvent event = { .type = TARGET_EVENT_PROBLEM_CLEARED,
                              .old_status = STATUS_CRITICAL,
                              .new_status = STATUS_OK,
                              .problem = &expired };
        json_t *o = make_event(&state, &event);

        check_members(o, "schema", "event", "id", "time", "time_unix", "target", "address", "instance", "protocol",
                      "old_status", "status", "problems", "problem", "days_left", "not_after", "not_after_unix", "subject", "issuer",
                      "sha256", "monitor");
        assert_string_equal(string_member(o, "event"), "recovery");
        /* No address of its own: the target's. */
        assert_string_equal(string_member(o, "address"), "broker.example.com:8883");
        assert_string_equal(string_member(o, "old_status"), "critical");
        assert_string_equal(string_member(o, "status"), "ok");
        check_problem_object(json_object_get(o, "problem"), &expired);
        assert_int_equal(json_array_size(json_object_get(o, "problems")), 0);
        json_decref(o);
}

static void test_document_status_change_without_certificate(void **unused) {
        TargetState state = make_state(STATUS_OK, NULL, 0, false);
        TargetEvent event = { .type = TARGET_EVENT_STATUS_CHANGED,
                              .old_status = STATUS_UNKNOWN,
                              .new_status = STATUS_OK };
        json_t *o = make_event(&state, &event);

        /* Optional members are absent, not null. */
        check_members(o, "schema", "event", "id", "time", "time_unix", "target", "address", "instance", "protocol",
                      "old_status", "status", "problems", "monitor");
        assert_string_equal(string_member(o, "event"), "status_changed");
        assert_string_equal(string_member(o, "old_status"), "unknown");
        assert_string_equal(string_member(o, "status"), "ok");
        json_decref(o);
}

static void test_document_certificate_change(void **unused) {
        TargetState state = make_state(STATUS_OK, NULL, 0, true);
        TargetEvent event = { .type = TARGET_EVENT_CERTIFICATE_CHANGED,
                              .old_status = STATUS_OK,
                              .new_status = STATUS_OK,
                              .old_sha256 = SHA_A,
                              .old_not_after = "2024-01-01T00:00:00Z" };
        json_t *o = make_event(&state, &event);

        check_members(o, "schema", "event", "id", "time", "time_unix", "target", "address", "instance", "protocol",
                      "old_status", "status", "problems", "days_left", "not_after", "not_after_unix", "subject", "issuer", "sha256",
                      "old_sha256", "old_not_after", "old_not_after_unix", "monitor");
        assert_string_equal(string_member(o, "event"), "certificate_changed");
        assert_string_equal(string_member(o, "old_not_after"), "2024-01-01T00:00:00Z");
        assert_int_equal(json_integer_value(json_object_get(o, "old_not_after_unix")), 1704067200);
        assert_string_equal(string_member(o, "sha256"), SHA_B);
        assert_string_equal(string_member(o, "old_sha256"), SHA_A);
        json_decref(o);
}

static void test_document_reminder(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, true);
        TargetEvent event = { .type = TARGET_EVENT_REMINDER,
                              .old_status = STATUS_CRITICAL,
                              .new_status = STATUS_CRITICAL,
                              .problem = &expired };
        json_t *o = make_event(&state, &event);

        assert_string_equal(string_member(o, "event"), "reminder");
        assert_string_equal(string_member(o, "old_status"), "critical");
        assert_string_equal(string_member(o, "status"), "critical");
        check_problem_object(json_object_get(o, "problem"), &expired);
        assert_int_equal(json_array_size(json_object_get(o, "problems")), 1);
        json_decref(o);
}

/* The json format's body is the document itself; the id does not change when it is rendered again. */
static void test_render_json(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, true);
        TargetEvent event = { .type = TARGET_EVENT_PROBLEM_APPEARED,
                              .old_status = STATUS_OK,
                              .new_status = STATUS_CRITICAL,
                              .problem = &expired };
        json_t *o = make_event(&state, &event);
        char *first = NULL, *second = NULL;

        assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, o, NULL, &first), 0);
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, o, NULL, &second), 0);
        assert_string_equal(first, second);
        json_t *parsed = json_loads(first, 0, NULL);
        assert_non_null(parsed);
        assert_true(json_equal(parsed, o));
        assert_string_equal(string_member(parsed, "id"), ID);
        json_decref(parsed);
        free(first);
        free(second);
        json_decref(o);
}

/* ---- slack ------------------------------------------------------------------------------------------- */

static char *slack_text(const TargetState *state, const TargetEvent *event) {
        json_t *o = make_event(state, event);
        char *body = NULL;

        assert_int_equal(webhook_render(WEBHOOK_FORMAT_SLACK, o, NULL, &body), 0);
        json_decref(o);
        json_t *parsed = json_loads(body, 0, NULL);
        assert_non_null(parsed);
        check_members(parsed, "text");
        char *text = strdup(string_member(parsed, "text"));
        assert_non_null(text);
        json_decref(parsed);
        free(body);
        return text;
}

static void test_slack(void **unused) {
        TargetState critical = make_state(STATUS_CRITICAL, &expired, 1, true);
        TargetState warning = make_state(STATUS_WARNING, &weak_key, 1, true);
        TargetState ok = make_state(STATUS_OK, NULL, 0, true);
        char *text;

        text = slack_text(&critical, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                     .old_status = STATUS_OK,
                                                     .new_status = STATUS_CRITICAL,
                                                     .problem = &expired,
                                                     .address = "192.0.2.1" });
        assert_string_equal(text, ":rotating_light: *broker* (192.0.2.1:8883) problem expired: critical — "
                                  "the certificate expired on 2024-05-30");
        free(text);

        text = slack_text(&warning, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                    .old_status = STATUS_OK,
                                                    .new_status = STATUS_WARNING,
                                                    .problem = &weak_key });
        assert_string_equal(text, ":warning: *broker* (broker.example.com:8883) problem weak_key: warning — "
                                  "RSA 1024 is weak");
        free(text);

        text = slack_text(&ok, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_CLEARED,
                                               .old_status = STATUS_CRITICAL,
                                               .new_status = STATUS_OK,
                                               .problem = &expired });
        assert_string_equal(
                text, ":white_check_mark: *broker* (broker.example.com:8883) recovered from expired: ok — "
                      "the certificate expired on 2024-05-30");
        free(text);

        text = slack_text(&ok, &(TargetEvent) { .type = TARGET_EVENT_STATUS_CHANGED,
                                               .old_status = STATUS_CRITICAL,
                                               .new_status = STATUS_OK });
        assert_string_equal(
                text, ":white_check_mark: *broker* (broker.example.com:8883) is now ok (was critical)");
        free(text);

        text = slack_text(&ok, &(TargetEvent) { .type = TARGET_EVENT_CERTIFICATE_CHANGED,
                                               .old_status = STATUS_OK,
                                               .new_status = STATUS_OK,
                                               .old_sha256 = SHA_A });
        assert_string_equal(
                text, ":white_check_mark: *broker* (broker.example.com:8883) serves a new certificate: "
                      "not after 2024-05-30T00:00:00Z");
        free(text);
}

/* A message with quotes, newlines and a long tail still makes valid JSON of bounded size. */
static void test_slack_escaping_and_bound(void **unused) {
        char message[4096];
        memset(message, 'x', sizeof(message) - 1);
        message[sizeof(message) - 1] = '\0';
        memcpy(message, "\"quoted\"\n\\", 10);
        Problem p = { .code = PROBLEM_EXPIRED, .severity = STATUS_CRITICAL, .message = message };
        TargetState state = make_state(STATUS_CRITICAL, &p, 1, false);
        char *text = slack_text(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                        .old_status = STATUS_OK,
                                                        .new_status = STATUS_CRITICAL,
                                                        .problem = &p });

        assert_non_null(strstr(text, "\"quoted\"\n\\"));
        assert_true(strlen(text) < 2048);
        free(text);
}

/* Subjects are up to 512 characters, so a message may hold 2 KiB of UTF-8: cut to fit, the text must
 * still be UTF-8, or there is no body at all (and the event is retried until RetryMax=). Whatever the
 * parity of the cut, one of these two messages has it fall inside a two-byte character. */
static void test_slack_long_utf8_message(void **unused) {
        for (size_t shift = 0; shift < 2; shift++) {
                char message[2 * 1100 + 2] = "";
                size_t n = 0;

                if (shift)
                        message[n++] = 'x';
                for (size_t i = 0; i < 1100; i++) {
                        message[n++] = '\xc3';
                        message[n++] = '\xa9'; /* é */
                }
                message[n] = '\0';
                Problem p = { .code = PROBLEM_EXPIRES_SOON, .severity = STATUS_WARNING, .message = message };
                TargetState state = make_state(STATUS_WARNING, &p, 1, false);
                json_t *o = make_event(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                               .old_status = STATUS_OK,
                                                               .new_status = STATUS_WARNING,
                                                               .problem = &p });
                char *body = NULL;
                int r = webhook_render(WEBHOOK_FORMAT_SLACK, o, NULL, &body);
                if (r < 0)
                        print_error("a %zu-byte UTF-8 message: no slack body (%s)\n", n, strerror(-r));
                assert_int_equal(r, 0);
                json_t *parsed = json_loads(body, 0, NULL);
                assert_non_null(parsed);
                assert_true(strlen(string_member(parsed, "text")) > 1000);
                json_decref(parsed);
                free(body);
                json_decref(o);
        }
}

/* ---- alertmanager ------------------------------------------------------------------------------------ */

/* Sent a minute after the event, for a target probed every 5 minutes: held for 4 intervals. */
#define SENT (T0 + 60 * USEC_PER_SEC)
#define SENT_PLUS_HORIZON_TEXT "2024-06-01T00:21:00Z"

static const char *const extra_labels[] = { "vantage=eu-west", "job=tls" };
static const StringList extra = { .items = (char **) extra_labels, .n = 2 };

static AlertSettings settings_at(usec_t now) {
        return (AlertSettings) { .now_usec = now, .horizon_usec = webhook_alert_horizon(config.interval_usec) };
}

/* The one alert of an Alertmanager body, or NULL with *ret_r = -ENODATA. */
static json_t *alertmanager_alert_with(json_t *document, const AlertSettings *settings, int *ret_r) {
        char *body = NULL;
        int r = webhook_render(WEBHOOK_FORMAT_ALERTMANAGER, document, settings, &body);

        *ret_r = r;
        if (r < 0)
                return NULL;
        json_t *parsed = json_loads(body, 0, NULL);
        free(body);
        assert_true(json_is_array(parsed));
        assert_int_equal(json_array_size(parsed), 1);
        json_t *alert = json_incref(json_array_get(parsed, 0));
        json_decref(parsed);
        /* The body's alert is webhook_alertmanager_alert()'s. */
        int r2;
        json_t *direct = webhook_alertmanager_alert(document, settings, &r2);
        assert_int_equal(r2, 0);
        assert_true(json_equal(direct, alert));
        json_decref(direct);
        return alert;
}

static json_t *alertmanager_alert(json_t *document, int *ret_r) {
        AlertSettings settings = settings_at(SENT);
        return alertmanager_alert_with(document, &settings, ret_r);
}

static json_t *alertmanager_of(const TargetState *state, const TargetEvent *event) {
        json_t *o = make_event(state, event);
        int r;
        json_t *alert = alertmanager_alert(o, &r);

        assert_int_equal(r, 0);
        json_decref(o);
        return alert;
}

/* The labels identify the alert for its whole life and are what routes match: severity is one, so that
 * a route can page for critical and mail for warning; instance is the listener as configured. */
static void check_labels(json_t *alert, const char *alertname, const char *code, const char *severity) {
        json_t *labels = json_object_get(alert, "labels");

        check_members(labels, "alertname", "severity", "instance", "target", "code", "job");
        assert_string_equal(string_member(labels, "alertname"), alertname);
        assert_string_equal(string_member(labels, "severity"), severity);
        assert_string_equal(string_member(labels, "instance"), "broker.example.com:8883");
        assert_string_equal(string_member(labels, "target"), "broker");
        assert_string_equal(string_member(labels, "code"), code);
        assert_string_equal(string_member(labels, "job"), "tlswatch");
}

static void test_alertmanager_problem(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, true);
        json_t *alert = alertmanager_of(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                                .old_status = STATUS_OK,
                                                                .new_status = STATUS_CRITICAL,
                                                                .problem = &expired,
                                                                .address = "192.0.2.1" });

        check_members(alert, "labels", "annotations", "startsAt", "endsAt");
        check_labels(alert, "TLSWatchExpired", "expired", "critical");
        json_t *annotations = json_object_get(alert, "annotations");
        check_members(annotations, "summary", "description", "runbook_url", "address", "monitor");
        assert_string_equal(string_member(annotations, "summary"), "broker: the certificate expired on 2024-05-30");
        /* The description says who saw what where; the address, which node showed it, changes freely. */
        const char *description = string_member(annotations, "description");
        assert_non_null(strstr(description, MONITOR));
        assert_non_null(strstr(description, "expired (critical)"));
        assert_non_null(strstr(description, "192.0.2.1:8883"));
        assert_non_null(strstr(description, "2024-05-30T00:00:00Z"));
        assert_string_equal(string_member(annotations, "address"), "192.0.2.1:8883");
        assert_string_equal(string_member(annotations, "monitor"), MONITOR);
        assert_string_equal(string_member(annotations, "runbook_url"), WEBHOOK_DEFAULT_RUNBOOK_URL "#expired");
        /* It starts at the event and holds four intervals from when it is sent, unless sent again. */
        assert_string_equal(string_member(alert, "startsAt"), T0_TEXT);
        assert_string_equal(string_member(alert, "endsAt"), SENT_PLUS_HORIZON_TEXT);
        json_decref(alert);
}

/* Every problem code has its alertname; a warning is a warning label. */
static void test_alertmanager_names_and_severity(void **unused) {
        TargetState state = make_state(STATUS_WARNING, &weak_key, 1, false);
        json_t *alert = alertmanager_of(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                                .old_status = STATUS_OK,
                                                                .new_status = STATUS_WARNING,
                                                                .problem = &weak_key });
        check_labels(alert, "TLSWatchWeakKey", "weak_key", "warning");
        json_decref(alert);

        static const char *const names[][2] = {
                { "tls_handshake_failed", "TLSWatchTlsHandshakeFailed" },
                { "expires_soon", "TLSWatchExpiresSoon" },
                { "connect_failed", "TLSWatchConnectFailed" },
                { "cacertfile_not_root", "TLSWatchCacertfileNotRoot" },
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                Problem p = { .code = problem_code_from_string(names[i][0]), .severity = STATUS_CRITICAL,
                              .message = (char *) "m", .depth = -1, .verify_code = -1 };
                TargetState s = make_state(STATUS_CRITICAL, &p, 1, false);
                alert = alertmanager_of(&s, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                            .old_status = STATUS_OK,
                                                            .new_status = STATUS_CRITICAL,
                                                            .problem = &p });
                json_t *labels = json_object_get(alert, "labels");
                assert_string_equal(string_member(labels, "alertname"), names[i][1]);
                assert_string_equal(string_member(labels, "code"), names[i][0]);
                json_decref(alert);
        }
}

/* An IPv6 listener's instance is in brackets, as Prometheus writes host:port. */
static void test_alertmanager_ipv6_instance(void **unused) {
        TargetConfig c = config;
        c.probe.host = (char *) "2001:db8::7";
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, false);
        json_t *o = webhook_event_new(&c, &state,
                                      &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                       .old_status = STATUS_OK,
                                                       .new_status = STATUS_CRITICAL,
                                                       .problem = &expired },
                                      ID, MONITOR, NULL, T0);
        int r;
        json_t *alert = alertmanager_alert(o, &r);

        assert_int_equal(r, 0);
        assert_string_equal(string_member(json_object_get(alert, "labels"), "instance"), "[2001:db8::7]:8883");
        json_decref(alert);
        json_decref(o);
}

/* Vantage=: a member of the event; on an alert an annotation by default, so that the same problem seen
 * from two sites is one alert (equal labels), or with VantageLabel= a label (one alert per site). */
static void test_alertmanager_vantage(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, false);
        const TargetEvent event = { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                    .old_status = STATUS_OK,
                                    .new_status = STATUS_CRITICAL,
                                    .problem = &expired };
        json_t *a = webhook_event_new(&config, &state, &event, ID, MONITOR, "eu-west", T0);
        json_t *b = webhook_event_new(&config, &state, &event, ID, "monitor2", "us-east", T0);
        json_t *none = make_event(&state, &event);
        int r;

        assert_string_equal(string_member(a, "vantage"), "eu-west");
        assert_null(json_object_get(none, "vantage"));

        json_t *alert_a = alertmanager_alert(a, &r), *alert_b = alertmanager_alert(b, &r);
        assert_int_equal(r, 0);
        assert_true(json_equal(json_object_get(alert_a, "labels"), json_object_get(alert_b, "labels")));
        assert_null(json_object_get(json_object_get(alert_a, "labels"), "vantage"));
        assert_string_equal(string_member(json_object_get(alert_a, "annotations"), "vantage"), "eu-west");
        json_decref(alert_a);
        json_decref(alert_b);

        AlertSettings settings = settings_at(SENT);
        settings.vantage_label = true;
        alert_a = alertmanager_alert_with(a, &settings, &r);
        alert_b = alertmanager_alert_with(b, &settings, &r);
        assert_int_equal(r, 0);
        assert_string_equal(string_member(json_object_get(alert_a, "labels"), "vantage"), "eu-west");
        assert_null(json_object_get(json_object_get(alert_a, "annotations"), "vantage"));
        assert_false(json_equal(json_object_get(alert_a, "labels"), json_object_get(alert_b, "labels")));
        json_decref(alert_a);
        json_decref(alert_b);

        json_decref(a);
        json_decref(b);
        json_decref(none);
}

/* Label= on every alert (job may be replaced); RunbookURL= is the base of runbook_url; with [HTTP] on,
 * generatorURL points at the target's status. */
static void test_alertmanager_settings(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, true);
        json_t *o = make_event(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                       .old_status = STATUS_OK,
                                                       .new_status = STATUS_CRITICAL,
                                                       .problem = &expired });
        AlertSettings settings = settings_at(SENT);
        settings.labels = &extra;
        settings.runbook_url = "https://wiki.example.com/tlswatch";
        settings.generator_url = "http://monitor.example.net:9883";
        int r;
        json_t *alert = alertmanager_alert_with(o, &settings, &r);

        assert_int_equal(r, 0);
        check_members(alert, "labels", "annotations", "startsAt", "endsAt", "generatorURL");
        json_t *labels = json_object_get(alert, "labels");
        check_members(labels, "alertname", "severity", "instance", "target", "code", "job", "vantage");
        assert_string_equal(string_member(labels, "vantage"), "eu-west");
        assert_string_equal(string_member(labels, "job"), "tls");
        assert_string_equal(string_member(json_object_get(alert, "annotations"), "runbook_url"),
                            "https://wiki.example.com/tlswatch#expired");
        assert_string_equal(string_member(alert, "generatorURL"),
                            "http://monitor.example.net:9883/api/status?target=broker");
        json_decref(alert);
        json_decref(o);
}

/* Four intervals, as Prometheus holds what it sends, and never less than 10 s. */
static void test_alert_horizon(void **unused) {
        assert_int_equal(webhook_alert_horizon(300 * USEC_PER_SEC), 1200 * USEC_PER_SEC);
        assert_int_equal(webhook_alert_horizon(60 * USEC_PER_SEC), 240 * USEC_PER_SEC);
        assert_int_equal(webhook_alert_horizon(2 * USEC_PER_SEC), 10 * USEC_PER_SEC);
        assert_int_equal(webhook_alert_horizon(0), 10 * USEC_PER_SEC);
}

static void test_alertmanager_recovery(void **unused) {
        TargetState state = make_state(STATUS_OK, NULL, 0, true);
        json_t *alert = alertmanager_of(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_CLEARED,
                                                                .old_status = STATUS_CRITICAL,
                                                                .new_status = STATUS_OK,
                                                                .problem = &expired });

        /* Resolved by an endsAt of the recovery's time, even when sent later; no startsAt, Alertmanager
         * keeps the first. */
        check_members(alert, "labels", "annotations", "endsAt");
        check_labels(alert, "TLSWatchExpired", "expired", "critical");
        assert_string_equal(string_member(alert, "endsAt"), T0_TEXT);
        json_decref(alert);
}

/* A resend is captured as a reminder whose time is the alert's start: it keeps startsAt and moves endsAt
 * on from the moment it is sent. */
static void test_alertmanager_resend(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, true);
        json_t *alert = alertmanager_of(&state, &(TargetEvent) { .type = TARGET_EVENT_REMINDER,
                                                                .old_status = STATUS_CRITICAL,
                                                                .new_status = STATUS_CRITICAL,
                                                                .problem = &expired });

        check_labels(alert, "TLSWatchExpired", "expired", "critical");
        assert_string_equal(string_member(alert, "startsAt"), T0_TEXT);
        assert_string_equal(string_member(alert, "endsAt"), SENT_PLUS_HORIZON_TEXT);
        json_decref(alert);
}

/* Alertmanager (api/v2, 0.25 checked with the real one in test-alertmanager.sh) fills a missing startsAt
 * with endsAt, and merges with the alert it holds only when the times overlap: a resend without
 * startsAt would replace the alert with one that "starts" at its end. */
static void test_alertmanager_resend_has_a_start(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, true);
        json_t *alert = alertmanager_of(&state, &(TargetEvent) { .type = TARGET_EVENT_REMINDER,
                                                                .old_status = STATUS_CRITICAL,
                                                                .new_status = STATUS_CRITICAL,
                                                                .problem = &expired });
        json_t *starts = json_object_get(alert, "startsAt");

        if (!json_is_string(starts)) {
                print_error("a resend has no startsAt: Alertmanager will take its endsAt as the alert's start\n");
                json_decref(alert);
                fail();
        }
        assert_true(strcmp(json_string_value(starts), T0_TEXT) <= 0);
        json_decref(alert);
}

static void test_alertmanager_nothing_to_say(void **unused) {
        TargetState critical = make_state(STATUS_CRITICAL, &expired, 1, true);
        TargetState ok = make_state(STATUS_OK, NULL, 0, true);
        const struct {
                const TargetState *state;
                TargetEvent event;
        } cases[] = {
                /* A status change names the worst problem, but the problem's own event is the alert. */
                { &critical,
                  { .type = TARGET_EVENT_STATUS_CHANGED,
                    .old_status = STATUS_OK,
                    .new_status = STATUS_CRITICAL,
                    .problem = &expired } },
                { &ok,
                  { .type = TARGET_EVENT_STATUS_CHANGED,
                    .old_status = STATUS_UNKNOWN,
                    .new_status = STATUS_OK } },
                { &ok,
                  { .type = TARGET_EVENT_CERTIFICATE_CHANGED,
                    .old_status = STATUS_OK,
                    .new_status = STATUS_OK,
                    .old_sha256 = SHA_A } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *o = make_event(cases[i].state, &cases[i].event);
                int r;
                assert_null(webhook_alertmanager_alert(o, NULL, &r));
                assert_int_equal(r, -ENODATA);
                char *body = NULL;
                assert_int_equal(webhook_render(WEBHOOK_FORMAT_ALERTMANAGER, o, NULL, &body), -ENODATA);
                /* The other formats do have something to say. */
                assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, o, NULL, &body), 0);
                free(body);
                assert_int_equal(webhook_render(WEBHOOK_FORMAT_SLACK, o, NULL, &body), 0);
                free(body);
                json_decref(o);
        }
}

/* An event spooled by an older tlswatchd has no instance: the address stands in. */
static void test_alertmanager_spooled_without_instance(void **unused) {
        TargetState state = make_state(STATUS_CRITICAL, &expired, 1, false);
        json_t *o = make_event(&state, &(TargetEvent) { .type = TARGET_EVENT_PROBLEM_APPEARED,
                                                       .old_status = STATUS_OK,
                                                       .new_status = STATUS_CRITICAL,
                                                       .problem = &expired,
                                                       .address = "192.0.2.1" });
        assert_int_equal(json_object_del(o, "instance"), 0);
        int r;
        json_t *alert = alertmanager_alert(o, &r);
        assert_int_equal(r, 0);
        assert_string_equal(string_member(json_object_get(alert, "labels"), "instance"), "192.0.2.1:8883");
        json_decref(alert);
        json_decref(o);
}

/* ---- signature --------------------------------------------------------------------------------------- */

/* Computed independently:  printf '%s' 'TIMESTAMP.BODY' | openssl dgst -sha256 -hmac 'SECRET' */
/* tlswatchctl webhook-test reaches Alertmanager too: an alert of its own name that ends by itself. */
static void test_alertmanager_test_event(void **unused) {
        /* The event webhook-test sends, at 2026-11-27T10:00:00Z. */
        json_t *event = webhook_test_event_new("0123456789abcdef0123456789abcdef", "host1", NULL,
                                               (uint64_t) 1795773600 * USEC_PER_SEC);
        assert_non_null(event);
        check_members(event, "schema", "event", "id", "time", "time_unix", "target", "address", "protocol",
                      "old_status", "status", "problems", "problem", "monitor");
        assert_string_equal(string_member(event, "time"), "2026-11-27T10:00:00Z");
        int r;
        json_t *alert = alertmanager_alert(event, &r);

        assert_int_equal(r, 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(alert, "labels"), "alertname")),
                            "TLSWatchTest");
        /* No route should page anyone for a test. */
        assert_string_equal(json_string_value(json_object_get(json_object_get(alert, "labels"), "severity")), "info");
        assert_string_equal(json_string_value(json_object_get(alert, "startsAt")), "2026-11-27T10:00:00Z");
        assert_string_equal(json_string_value(json_object_get(alert, "endsAt")), "2026-11-27T10:05:00Z");
        json_decref(alert);
        json_decref(event);
}

/* Status output shows where a webhook points, never the token a path, query or user name carries. */
static void test_url_redact(void **unused) {
        static const char *const cases[][2] = {
                { "https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com/..." },
                { "https://alerts.example:9093/api/v2/alerts", "https://alerts.example:9093/..." },
                { "https://receiver.example/", "https://receiver.example/" },
                { "https://receiver.example", "https://receiver.example/" },
                { "http://127.0.0.1:8080/?token=secret", "http://127.0.0.1:8080/..." },
                { "https://user:secret@receiver.example/", "https://receiver.example/..." },
                { "https://[::1]:8443/hook", "https://[::1]:8443/..." },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *redacted = NULL;

                assert_int_equal(webhook_url_redact(cases[i][0], &redacted), 0);
                assert_string_equal(redacted, cases[i][1]);
                free(redacted);
        }
        char *redacted = NULL;
        assert_int_equal(webhook_url_redact("not a url", &redacted), -EINVAL);
        assert_null(redacted);
}

static void test_signature_vectors(void **unused) {
        static const struct {
                const char *secret, *timestamp, *body, *hex;
        } cases[] = {
                { "hmac-secret", "1717200000", "{\"schema\":\"tlswatch.alert/1\",\"event\":\"test\"}",
                  "1116ed995fd7801bd454e8ab6723e07891718bfd00ecc8091e139ad3a006c1ae" },
                { "k", "0", "", "6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7" },
                { "s\xc3\xa9"
                  "cret",
                  "1717200000", "\xc3\xa9",
                  "3ea76a5f027e3055eac8b6e8bf1d602aa7992bc3d718220cec03a1804403dd21" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char signature[72], want[72];

                memset(signature, '#', sizeof(signature));
                assert_int_equal(
                        webhook_signature(cases[i].secret, cases[i].timestamp, cases[i].body, signature), 0);
                snprintf(want, sizeof(want), "sha256=%s", cases[i].hex);
                assert_string_equal(signature, want);
                assert_int_equal(strlen(signature), 71);
        }
}

/* The timestamp is part of what is signed, and the "." separates it from the body. */
static void test_signature_covers_timestamp(void **unused) {
        char a[72], b[72], c[72];

        assert_int_equal(webhook_signature("key", "1717200000", "{}", a), 0);
        assert_int_equal(webhook_signature("key", "1717200001", "{}", b), 0);
        assert_int_equal(webhook_signature("key", "171720000", "0{}", c), 0);
        assert_string_not_equal(a, b);
        assert_string_not_equal(a, c);
        assert_int_equal(webhook_signature("other key", "1717200000", "{}", b), 0);
        assert_string_not_equal(a, b);
}

/* ---- Targets= ---------------------------------------------------------------------------------------- */

static void test_wants_target(void **unused) {
        char *patterns[] = { (char *) "web-*", (char *) "db?", (char *) "[ab]roker" };
        StringList none = {};
        StringList some = { .items = patterns, .n = ELEMENTSOF(patterns) };
        StringList exact = { .items = (char *[]) { (char *) "broker" }, .n = 1 };

        /* No Targets=: every target. */
        assert_true(webhook_wants_target(&none, "anything"));

        assert_true(webhook_wants_target(&some, "web-1"));
        assert_true(webhook_wants_target(&some, "web-"));
        assert_true(webhook_wants_target(&some, "db1"));
        assert_true(webhook_wants_target(&some, "broker"));
        assert_true(webhook_wants_target(&some, "aroker"));
        assert_false(webhook_wants_target(&some, "web"));
        assert_false(webhook_wants_target(&some, "db12"));
        assert_false(webhook_wants_target(&some, "croker"));
        assert_false(webhook_wants_target(&some, "xweb-1"));
        assert_false(webhook_wants_target(&some, ""));

        assert_true(webhook_wants_target(&exact, "broker"));
        assert_false(webhook_wants_target(&exact, "Broker"));
        assert_false(webhook_wants_target(&exact, "broker2"));
}

/* ---- from target transitions to Alertmanager's alerts ------------------------------------------------ */

/* What Alertmanager holds, reduced to what decides whether an alert fires: identity is the label set;
 * a post whose endsAt lies after its own time opens (or renews) the alert, one whose endsAt is that
 * time resolves it. */
typedef struct AlertModel {
        char *labels[16];
        bool open[16];
        size_t n;
        size_t posts;
} AlertModel;

static void model_post(AlertModel *m, json_t *document) {
        int r;
        json_t *alert = alertmanager_alert(document, &r);

        if (r == -ENODATA)
                return;
        assert_int_equal(r, 0);
        m->posts++;
        char *labels = json_dumps(json_object_get(alert, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null(labels);
        bool open = strcmp(string_member(alert, "endsAt"), string_member(document, "time")) > 0;
        json_decref(alert);

        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->labels[i], labels) == 0) {
                        m->open[i] = open;
                        free(labels);
                        return;
                }
        assert_true(m->n < ELEMENTSOF(m->labels));
        m->labels[m->n] = labels;
        m->open[m->n++] = open;
}

static size_t model_open(const AlertModel *m) {
        size_t n = 0;

        for (size_t i = 0; i < m->n; i++)
                n += m->open[i];
        return n;
}

/* After the recovery: no alert left firing, else each is named. */
static void check_none_firing_at(const AlertModel *m, const char *file, int line) {
        if (model_open(m) == 0)
                return;
        for (size_t i = 0; i < m->n; i++)
                if (m->open[i])
                        print_error("still firing after the recovery: %s\n", m->labels[i]);
        _fail(file, line);
}
#define check_none_firing(m) check_none_firing_at((m), __FILE__, __LINE__)

static void model_clear(AlertModel *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->labels[i]);
        *m = (AlertModel) {};
}

typedef struct Pipeline {
        AlertModel model;
        usec_t now;
        json_t *firing; /* webhook.c's alert table entry of the target */
        size_t starts, resends, ends;
} Pipeline;

/* Target events do not reach Alertmanager: its alerts follow the probes. */
static void on_event(const TargetConfig *c, const TargetState *state, const TargetEvent *event,
                     void *userdata) {
}

/* What webhook.c does after each probe: a step of the alert table, each change posted as an event. */
static void post_step(Pipeline *p, const TargetConfig *c, const TargetState *state) {
        json_t *changes = json_array();
        size_t i;
        json_t *change;

        assert_non_null(changes);
        json_t *current = webhook_alerts_step(p->firing, &state->problems, (int64_t) (p->now / USEC_PER_SEC), changes);
        assert_non_null(current);
        json_array_foreach(changes, i, change) {
                const char *kind = string_member(change, "change");
                ProblemCode code = problem_code_from_string(string_member(change, "code"));
                Problem ended = { .code = code,
                                  .severity = status_from_string(string_member(change, "severity")),
                                  .message = (char *) string_member(change, "message"),
                                  .depth = -1,
                                  .verify_code = -1 };
                const Problem *now = NULL;
                for (size_t j = 0; j < state->problems.n; j++)
                        if (state->problems.items[j].code == code)
                                now = &state->problems.items[j];
                TargetEvent event = { .old_status = state->status, .new_status = state->status };
                usec_t at = p->now;
                if (strcmp(kind, "end") == 0) {
                        event.type = TARGET_EVENT_PROBLEM_CLEARED;
                        event.problem = &ended;
                        p->ends++;
                } else {
                        assert_non_null(now);
                        event.problem = now;
                        if (strcmp(kind, "start") == 0) {
                                event.type = TARGET_EVENT_PROBLEM_APPEARED;
                                assert_int_equal(json_integer_value(json_object_get(change, "starts")),
                                                 p->now / USEC_PER_SEC);
                                p->starts++;
                        } else {
                                assert_string_equal(kind, "firing");
                                event.type = TARGET_EVENT_REMINDER;
                                at = (usec_t) json_integer_value(json_object_get(change, "starts")) * USEC_PER_SEC;
                                p->resends++;
                        }
                }
                json_t *document = webhook_event_new(c, state, &event, ID, MONITOR, NULL, at);
                assert_non_null(document);
                model_post(&p->model, document);
                json_decref(document);
        }
        json_decref(changes);
        json_decref(p->firing);
        p->firing = current;
}

/* A report for one address, 192.0.2.1, with the given problem (or none: PROBLEM_CODE_INVALID). */
static Report *build_report(ProblemCode code, Status severity) {
        Report *report = calloc(1, sizeof(Report));
        int r;

        assert_non_null(report);
        report->target = strdup("broker.example.com:8883");
        AddressReport *a = report_add_address(report, "192.0.2.1");
        assert_non_null(a);
        if (code != _PROBLEM_CODE_INVALID) {
                r = problem_list_add(&a->problems, code, severity, 0, -1, "finding %s",
                                     problem_code_to_string(code));
                assert_int_equal(r, 0);
        }
        a->tls_version = "TLSv1.3";
        a->chain = calloc(1, sizeof(ChainLink));
        assert_non_null(a->chain);
        a->n_chain = 1;
        uint8_t sha256[32];
        memset(sha256, 0xaa, sizeof(sha256));
        /* 2024-01-01 to 2024-06-09, 8 days left at T0 */
        assert_int_equal(certificate_new(sha256, 1704067200, 1717891200, "EC", 256, "ecdsa-with-SHA256",
                                         "CN=broker.example.com", "CN=Example CA", NULL, 0, &a->chain[0].certificate),
                         0);
        a->chain[0].sent = true;
        a->checked_at = 1717200000;
        a->has_days_left = true;
        a->days_left = 8;
        assert_int_equal(report_finalize(report), 0);
        return report;
}

static void apply(Pipeline *p, const TargetConfig *c, TargetState *state, ProblemCode code,
                  Status severity) {
        Report *report = build_report(code, severity);

        (void) target_apply_report(c, state, report, p->now, p->now, on_event, p);
        report_free(report);
        post_step(p, c, state);
        p->now += c->interval_usec;
}

static void pipeline_clear(Pipeline *p) {
        model_clear(&p->model);
        json_decref(p->firing);
}

/* A problem starts an alert, each probe while it lasts resends it (from its start), and the probe that
 * no longer sees it ends it. */
static void test_alertmanager_problem_resolved_by_its_recovery(void **unused) {
        Pipeline p = { .now = T0 };
        TargetState state = { .status = STATUS_UNKNOWN };

        apply(&p, &config, &state, PROBLEM_EXPIRED, STATUS_CRITICAL);
        assert_int_equal(p.model.posts, 1);
        assert_int_equal(p.starts, 1);
        assert_int_equal(model_open(&p.model), 1);
        apply(&p, &config, &state, PROBLEM_EXPIRED, STATUS_CRITICAL);
        apply(&p, &config, &state, PROBLEM_EXPIRED, STATUS_CRITICAL);
        assert_int_equal(p.resends, 2);
        assert_int_equal(p.model.n, 1); /* the same alert, resent */
        assert_int_equal(model_open(&p.model), 1);
        apply(&p, &config, &state, _PROBLEM_CODE_INVALID, STATUS_OK);
        assert_int_equal(state.status, STATUS_OK);
        assert_int_equal(p.ends, 1);
        check_none_firing(&p.model);
        /* Nothing more once it is over. */
        size_t posts = p.model.posts;
        apply(&p, &config, &state, _PROBLEM_CODE_INVALID, STATUS_OK);
        assert_int_equal(p.model.posts, posts);

        pipeline_clear(&p);
        target_state_clear(&state);
}

/* expires_soon is a warning and, days later, critical under the same code. The severity is a label, so
 * the critical alert is another one, and the warning alert ends as it starts; when the certificate is
 * renewed, nothing may be left firing. */
static void test_alertmanager_escalated_problem_resolved(void **unused) {
        TargetConfig c = config;
        Pipeline p = { .now = T0 };
        TargetState state = { .status = STATUS_UNKNOWN };

        apply(&p, &c, &state, PROBLEM_EXPIRES_SOON, STATUS_WARNING);
        apply(&p, &c, &state, PROBLEM_EXPIRES_SOON, STATUS_WARNING); /* a resend */
        assert_int_equal(model_open(&p.model), 1);
        apply(&p, &c, &state, PROBLEM_EXPIRES_SOON, STATUS_CRITICAL);
        assert_int_equal(p.starts, 2);
        assert_int_equal(p.ends, 1);
        assert_int_equal(p.model.n, 2);
        assert_int_equal(model_open(&p.model), 1); /* the critical one only */
        apply(&p, &c, &state, PROBLEM_EXPIRES_SOON, STATUS_CRITICAL); /* a resend */
        assert_int_equal(state.status, STATUS_CRITICAL);
        assert_int_equal(model_open(&p.model), 1);
        apply(&p, &c, &state, _PROBLEM_CODE_INVALID, STATUS_OK);
        assert_int_equal(state.status, STATUS_OK);
        check_none_firing(&p.model);

        pipeline_clear(&p);
        target_state_clear(&state);
}

/* After a restart the table comes from the saved state (webhook.c's seed_alerts): an alert it holds at
 * another severity than the first probe finds is ended, not left to run out. */
static void test_alertmanager_step_from_saved_state(void **unused) {
        json_t *firing = json_pack("{s:{s:s, s:I, s:s}, s:{s:s, s:I, s:s}}", "expires_soon", "severity", "warning",
                                   "starts", (json_int_t) 1717000000, "message", "8 days left", "weak_key",
                                   "severity", "warning", "starts", (json_int_t) 1717000000, "message", "RSA 1024");
        Problem soon = { .code = PROBLEM_EXPIRES_SOON, .severity = STATUS_CRITICAL, .message = (char *) "6 days left",
                         .depth = 0, .verify_code = -1 };
        ProblemList problems = { .items = &soon, .n = 1 };
        json_t *changes = json_array();

        json_t *current = webhook_alerts_step(firing, &problems, 1717200000, changes);
        assert_non_null(current);
        char *text = json_dumps(changes, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, "[{\"change\":\"end\",\"code\":\"expires_soon\",\"message\":\"8 days left\",\"severity\":\"warning\"},"
                                  "{\"change\":\"start\",\"code\":\"expires_soon\",\"message\":\"6 days left\",\"severity\":\"critical\",\"starts\":1717200000},"
                                  "{\"change\":\"end\",\"code\":\"weak_key\",\"message\":\"RSA 1024\",\"severity\":\"warning\"}]");
        free(text);
        text = json_dumps(current, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, "{\"expires_soon\":{\"message\":\"6 days left\",\"severity\":\"critical\",\"starts\":1717200000}}");
        free(text);
        json_decref(current);
        json_decref(changes);
        json_decref(firing);
}

/* RetryMax= across a reboot: a saved first attempt that the files' mtimes rule out, or one ahead of
 * now, never makes the event look older than it can be. */
static void test_tried_across_reboot(void **state) {
        const usec_t now = 1800000000 * USEC_PER_SEC, spooled = now - USEC_PER_HOUR,
                     recorded = spooled + USEC_PER_SEC;

        /* Plausible: as saved. */
        assert_int_equal(webhook_tried_across_reboot(spooled + 500 * USEC_PER_MSEC, spooled, recorded, now),
                         now - spooled - 500 * USEC_PER_MSEC);
        /* Two days before the event was even spooled: from the record's mtime. */
        assert_int_equal(webhook_tried_across_reboot(now - 2 * USEC_PER_DAY, spooled, recorded, now), now - recorded);
        /* After the record was written: the same. */
        assert_int_equal(webhook_tried_across_reboot(now - USEC_PER_MINUTE, spooled, recorded, now), now - recorded);
        /* Ahead of now, and files ahead of now too (the clock stepped back since): not tried yet. */
        assert_int_equal(webhook_tried_across_reboot(now + USEC_PER_DAY, now + USEC_PER_DAY, now + USEC_PER_DAY, now),
                         0);
        assert_int_equal(webhook_tried_across_reboot(now + USEC_PER_DAY, spooled, recorded, now), now - recorded);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_event_type_and_kind),
                cmocka_unit_test(test_document_problem),
                cmocka_unit_test(test_document_ipv6_address),
                cmocka_unit_test(test_document_recovery),
                cmocka_unit_test(test_document_status_change_without_certificate),
                cmocka_unit_test(test_document_certificate_change),
                cmocka_unit_test(test_document_reminder),
                cmocka_unit_test(test_render_json),
                cmocka_unit_test(test_slack),
                cmocka_unit_test(test_slack_escaping_and_bound),
                cmocka_unit_test(test_slack_long_utf8_message),
                cmocka_unit_test(test_alertmanager_problem),
                cmocka_unit_test(test_alertmanager_names_and_severity),
                cmocka_unit_test(test_alertmanager_ipv6_instance),
                cmocka_unit_test(test_alertmanager_vantage),
                cmocka_unit_test(test_alertmanager_settings),
                cmocka_unit_test(test_alert_horizon),
                cmocka_unit_test(test_alertmanager_recovery),
                cmocka_unit_test(test_alertmanager_resend),
                cmocka_unit_test(test_alertmanager_resend_has_a_start),
                cmocka_unit_test(test_alertmanager_nothing_to_say),
                cmocka_unit_test(test_alertmanager_spooled_without_instance),
                cmocka_unit_test(test_alertmanager_test_event),
                cmocka_unit_test(test_url_redact),
                cmocka_unit_test(test_signature_vectors),
                cmocka_unit_test(test_signature_covers_timestamp),
                cmocka_unit_test(test_wants_target),
                cmocka_unit_test(test_alertmanager_problem_resolved_by_its_recovery),
                cmocka_unit_test(test_alertmanager_escalated_problem_resolved),
                cmocka_unit_test(test_alertmanager_step_from_saved_state),
                cmocka_unit_test(test_tried_across_reboot),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
