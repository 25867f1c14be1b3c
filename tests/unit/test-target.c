/* SPDX-License-Identifier: MIT */
/* Target state transitions, driven by hand-built reports and a fake clock: which events a report
 * causes (status, problem, recovery, certificate change, reminder), when network faults count, and
 * the persistent JSON form of the state. */
#include <openssl/crypto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state-file.h"
#include "target.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ADDRESS "192.0.2.1"
#define END (-1) /* ends the list of problem codes given to build_report() */

/* 2024-06-01 00:00:00 UTC, an arbitrary realistic CLOCK_REALTIME. */
#define T0 ((usec_t) 1717200000ULL * USEC_PER_SEC)

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
        .confirm_failures = 2,
};

/* ---- recording events ------------------------------------------------------------------------- */

/* A copy of one event: the pointers in a TargetEvent live only for the handler's call. */
typedef struct Recorded {
        TargetEventType type;
        Status old_status;
        Status new_status;
        int code; /* the event's problem, -1 if none */
        Status severity;
        char address[64];
        char old_sha256[65];
        char new_sha256[65];
        char old_not_after[32];
        Status state_status; /* what the state said while the handler ran */
        char changes[256];   /* certificate changes: the diff's kinds, comma-separated */
        bool partial;
        int change_codes[4]; /* the change problems' codes and severities, -1 after the last */
        Status change_severities[4];
} Recorded;

typedef struct Recorder {
        Recorded events[16];
        size_t n;
} Recorder;

static void on_target_event(const TargetConfig *c, const TargetState *state, const TargetEvent *event,
                            void *userdata) {
        Recorder *recorder = userdata;

        assert_string_equal(c->name, config.name);
        assert_true(recorder->n < ELEMENTSOF(recorder->events));
        Recorded *r = &recorder->events[recorder->n++];
        *r = (Recorded) {
                .type = event->type,
                .old_status = event->old_status,
                .new_status = event->new_status,
                .code = event->problem ? (int) event->problem->code : -1,
                .severity = event->problem ? event->problem->severity : STATUS_OK,
                .state_status = state->status,
        };
        snprintf(r->address, sizeof(r->address), "%s", event->address ?: "");
        snprintf(r->old_sha256, sizeof(r->old_sha256), "%s", event->old_sha256 ?: "");
        snprintf(r->new_sha256, sizeof(r->new_sha256), "%s", state->sha256);
        snprintf(r->old_not_after, sizeof(r->old_not_after), "%s", event->old_not_after ?: "");
        for (size_t i = 0; event->diff && i < event->diff->n_changes; i++) {
                size_t used = strlen(r->changes);
                snprintf(r->changes + used, sizeof(r->changes) - used, "%s%s", used ? "," : "",
                         cert_change_kind_to_string(event->diff->changes[i].kind));
        }
        r->partial = event->diff && event->diff->partial;
        for (size_t i = 0; i < ELEMENTSOF(r->change_codes); i++) {
                bool have = event->change_problems && i < event->change_problems->n;
                r->change_codes[i] = have ? (int) event->change_problems->items[i].code : -1;
                r->change_severities[i] = have ? event->change_problems->items[i].severity : STATUS_OK;
        }
}

/* Event `i` has the type of that documented name, the statuses and the problem code (-1: none). */
static void check_event_at(const Recorder *recorder, size_t i, const char *type, Status old_status,
                           Status new_status, int code, const char *file, int line) {
        _assert_true(i < recorder->n, "event index in range", file, line);
        const Recorded *r = &recorder->events[i];
        _assert_string_equal(target_event_type_to_string(r->type), type, file, line);
        _assert_string_equal(status_to_string(r->old_status), status_to_string(old_status), file, line);
        _assert_string_equal(status_to_string(r->new_status), status_to_string(new_status), file, line);
        _assert_int_equal(r->code, code, file, line);
}
#define check_event(recorder, i, type, old_status, new_status, code) \
        check_event_at(recorder, i, type, old_status, new_status, code, __FILE__, __LINE__)

/* ---- building reports by hand ----------------------------------------------------------------- */

/* A report for one address. `sha256` non-NULL means a handshake completed and the leaf had that
 * fingerprint; the codes, up to END, are problems of that address with their default severity.
 * dns_failed is a target-level finding and has no address at all. */
static Report *build_report(const char *sha256, ...) {
        Report *report = calloc(1, sizeof(Report));
        va_list ap;
        int code, r;

        assert_non_null(report);
        report->target = strdup("broker.example.com:8883");
        report->duration_usec = 42 * USEC_PER_MSEC;

        va_start(ap, sha256);
        code = va_arg(ap, int);
        if (code == PROBLEM_DNS_FAILED) {
                r = problem_list_add(&report->problems, PROBLEM_DNS_FAILED, STATUS_CRITICAL, -1, -1,
                                     "cannot resolve broker.example.com");
                assert_int_equal(r, 0);
                va_end(ap);
                assert_int_equal(report_finalize(report), 0);
                return report;
        }

        AddressReport *a = report_add_address(report, ADDRESS);
        assert_non_null(a);
        for (; code != END; code = va_arg(ap, int)) {
                r = problem_list_add(&a->problems, code, problem_code_default_severity(code), -1, -1,
                                     "finding %s", problem_code_to_string(code));
                assert_int_equal(r, 0);
        }
        va_end(ap);

        if (sha256) {
                a->tls_version = "TLSv1.3";
                a->chain = calloc(2, sizeof(ChainLink));
                assert_non_null(a->chain);
                a->n_chain = 2;
                uint8_t digest[32];
                size_t length = 0;
                assert_int_equal(OPENSSL_hexstr2buf_ex(digest, sizeof(digest), &length, sha256, '\0'), 1);
                assert_int_equal(length, 32);
                /* 2024-01-01 to 2024-09-01 */
                assert_int_equal(certificate_new(digest, 1704067200, 1725148800, "EC", 256, "ecdsa-with-SHA256",
                                                 "CN=broker.example.com", "CN=Example CA", NULL, 0,
                                                 &a->chain[0].certificate),
                                 0);
                a->chain[0].sent = true;
                /* The CA expires first (2024-07-01): its notAfter is the one the state keeps. */
                uint8_t ca_digest[32];
                memset(ca_digest, 0xcc, sizeof(ca_digest));
                assert_int_equal(certificate_new(ca_digest, 1577836800, 1719792000, "EC", 256, "ecdsa-with-SHA256",
                                                 "CN=Example CA", "CN=Example CA", NULL, 0, &a->chain[1].certificate),
                                 0);
                a->chain[1].sent = true;
                a->has_days_left = true;
                a->days_left = 30;
        }
        assert_int_equal(report_finalize(report), 0);
        return report;
}

/* Applies a report built from the arguments and returns the delay until the next probe. */
#define apply(state, recorder, now, ...)                                                              \
        ({                                                                                            \
                Report *_report_ = build_report(__VA_ARGS__);                                         \
                usec_t _now_ = (now); /* the same on both clocks: no clock steps here */             \
                usec_t _delay_ = target_apply_report(&config, (state), _report_, _now_, _now_,        \
                                                     on_target_event, (recorder));                    \
                report_free(_report_);                                                                \
                _delay_;                                                                              \
        })

static TargetState new_state(void) {
        return (TargetState) { .status = STATUS_UNKNOWN };
}

/* ---- transitions ------------------------------------------------------------------------------ */

static void test_first_ok_report(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        assert_int_equal(apply(&s, &recorder, T0, SHA_A, END), config.interval_usec);
        /* Only the status: a first certificate is not a change. */
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "status_changed", STATUS_UNKNOWN, STATUS_OK, -1);
        assert_int_equal(recorder.events[0].state_status, STATUS_OK);

        assert_int_equal(s.status, STATUS_OK);
        assert_int_equal(s.problems.n, 0);
        assert_string_equal(s.sha256, SHA_A);
        assert_string_equal(s.subject, "CN=broker.example.com");
        assert_string_equal(s.issuer, "CN=Example CA");
        assert_string_equal(s.not_after, "2024-07-01T00:00:00Z"); /* the earliest on the path */
        assert_true(s.has_days_left);
        assert_true(s.days_left == 30);
        assert_int_equal(s.probes, 1);
        assert_int_equal(s.consecutive_failures, 0);
        assert_int_equal(s.last_probe_usec, T0);
        assert_int_equal(s.last_duration_usec, 42 * USEC_PER_MSEC);
        /* Nothing was wrong, so nothing was announced for reminders to count from. */
        assert_int_equal(s.last_announced_usec, 0);

        /* The same again: nothing new. */
        recorder.n = 0;
        assert_int_equal(apply(&s, &recorder, T0 + config.interval_usec, SHA_A, END), config.interval_usec);
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.probes, 2);
        target_state_clear(&s);
}

static void test_critical_certificate_problem_counts_at_once(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, END);
        recorder.n = 0;

        assert_int_equal(apply(&s, &recorder, T0 + 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRED, END),
                         config.interval_usec);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 0, "problem", STATUS_OK, STATUS_CRITICAL, PROBLEM_EXPIRED);
        assert_string_equal(recorder.events[0].address, ADDRESS);
        assert_int_equal(recorder.events[0].severity, STATUS_CRITICAL);
        check_event(&recorder, 1, "status_changed", STATUS_OK, STATUS_CRITICAL, PROBLEM_EXPIRED);
        assert_string_equal(recorder.events[1].address, ADDRESS);

        assert_int_equal(s.status, STATUS_CRITICAL);
        assert_int_equal(s.problems.n, 1);
        assert_int_equal(s.problems.items[0].code, PROBLEM_EXPIRED);
        assert_string_equal(s.problems.items[0].message, "finding expired");
        assert_int_equal(s.last_announced_usec, T0 + 300 * USEC_PER_SEC);

        /* The same finding again is not news. */
        recorder.n = 0;
        apply(&s, &recorder, T0 + 600 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRED, END);
        assert_int_equal(recorder.n, 0);
        target_state_clear(&s);
}

static void test_critical_on_first_probe(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, PROBLEM_HOSTNAME_MISMATCH, END);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 0, "problem", STATUS_UNKNOWN, STATUS_CRITICAL,
                    PROBLEM_HOSTNAME_MISMATCH);
        check_event(&recorder, 1, "status_changed", STATUS_UNKNOWN, STATUS_CRITICAL,
                    PROBLEM_HOSTNAME_MISMATCH);
        target_state_clear(&s);
}

static void test_single_network_failure_waits(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, END);
        recorder.n = 0;

        assert_int_equal(apply(&s, &recorder, T0 + 300 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END),
                         config.retry_interval_usec);
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.status, STATUS_OK);
        assert_int_equal(s.problems.n, 0);
        assert_int_equal(s.consecutive_failures, 1);
        assert_int_equal(s.probes, 2);
        assert_int_equal(s.last_probe_usec, T0 + 300 * USEC_PER_SEC);
        /* What was last served is kept: a failed connection shows no certificate. */
        assert_string_equal(s.sha256, SHA_A);
        target_state_clear(&s);
}

static void test_second_network_failure_counts(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        apply(&s, &recorder, now, SHA_A, END);
        now += config.interval_usec;
        apply(&s, &recorder, now, NULL, PROBLEM_CONNECT_FAILED, END);
        recorder.n = 0;

        now += config.retry_interval_usec;
        assert_int_equal(apply(&s, &recorder, now, NULL, PROBLEM_CONNECT_FAILED, END), config.interval_usec);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 0, "problem", STATUS_OK, STATUS_CRITICAL, PROBLEM_CONNECT_FAILED);
        assert_string_equal(recorder.events[0].address, ADDRESS);
        check_event(&recorder, 1, "status_changed", STATUS_OK, STATUS_CRITICAL, PROBLEM_CONNECT_FAILED);
        assert_int_equal(s.status, STATUS_CRITICAL);
        assert_int_equal(s.consecutive_failures, 2);
        assert_int_equal(s.last_announced_usec, now);
        assert_string_equal(s.sha256, SHA_A);

        /* A third is the same confirmed failure: no news, the normal interval. */
        recorder.n = 0;
        now += config.interval_usec;
        assert_int_equal(apply(&s, &recorder, now, NULL, PROBLEM_CONNECT_FAILED, END), config.interval_usec);
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.consecutive_failures, 3);
        target_state_clear(&s);
}

static void test_network_failure_on_first_probe(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        assert_int_equal(apply(&s, &recorder, T0, NULL, PROBLEM_DNS_FAILED), config.retry_interval_usec);
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.status, STATUS_UNKNOWN);

        assert_int_equal(apply(&s, &recorder, T0 + 60 * USEC_PER_SEC, NULL, PROBLEM_DNS_FAILED),
                         config.interval_usec);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 0, "problem", STATUS_UNKNOWN, STATUS_CRITICAL, PROBLEM_DNS_FAILED);
        assert_string_equal(recorder.events[0].address, ""); /* a name that did not resolve has none */
        check_event(&recorder, 1, "status_changed", STATUS_UNKNOWN, STATUS_CRITICAL, PROBLEM_DNS_FAILED);
        target_state_clear(&s);
}

static void test_failures_must_be_consecutive(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        apply(&s, &recorder, now, SHA_A, END);
        recorder.n = 0;

        /* fail, ok, fail, ok: never two in a row, so nobody hears of it. */
        for (int i = 0; i < 3; i++) {
                now += config.interval_usec;
                assert_int_equal(apply(&s, &recorder, now, NULL, PROBLEM_TIMEOUT, END),
                                 config.retry_interval_usec);
                now += config.retry_interval_usec;
                assert_int_equal(apply(&s, &recorder, now, SHA_A, END), config.interval_usec);
                assert_int_equal(s.consecutive_failures, 0);
        }
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.status, STATUS_OK);
        target_state_clear(&s);
}

static void test_mixed_failure_counts_at_once(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, END);
        recorder.n = 0;

        /* A timeout together with a certificate finding is not a mere network fault. */
        assert_int_equal(apply(&s, &recorder, T0 + 300 * USEC_PER_SEC, SHA_A, PROBLEM_TIMEOUT,
                               PROBLEM_EXPIRED, END),
                         config.interval_usec);
        assert_int_equal(recorder.n, 3);
        check_event(&recorder, 0, "problem", STATUS_OK, STATUS_CRITICAL, PROBLEM_TIMEOUT);
        check_event(&recorder, 1, "problem", STATUS_OK, STATUS_CRITICAL, PROBLEM_EXPIRED);
        check_event(&recorder, 2, "status_changed", STATUS_OK, STATUS_CRITICAL, PROBLEM_TIMEOUT);
        target_state_clear(&s);
}

static void test_recovery(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        apply(&s, &recorder, now, SHA_A, END);
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END);
        apply(&s, &recorder, now += 60 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END);
        assert_int_equal(s.status, STATUS_CRITICAL);
        recorder.n = 0;

        assert_int_equal(apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, END), config.interval_usec);
        assert_int_equal(recorder.n, 2);
        /* The recovery first, then the status it leads to. */
        check_event(&recorder, 0, "recovery", STATUS_CRITICAL, STATUS_OK, PROBLEM_CONNECT_FAILED);
        assert_int_equal(recorder.events[0].state_status, STATUS_OK);
        check_event(&recorder, 1, "status_changed", STATUS_CRITICAL, STATUS_OK, -1);
        assert_int_equal(s.status, STATUS_OK);
        assert_int_equal(s.problems.n, 0);
        assert_int_equal(s.consecutive_failures, 0);

        /* The certificate came back unchanged: no certificate event. */
        for (size_t i = 0; i < recorder.n; i++)
                assert_int_not_equal(recorder.events[i].type, TARGET_EVENT_CERTIFICATE_CHANGED);
        target_state_clear(&s);
}

static void test_certificate_changed(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, END);
        for (size_t i = 0; i < recorder.n; i++)
                assert_int_not_equal(recorder.events[i].type, TARGET_EVENT_CERTIFICATE_CHANGED);
        recorder.n = 0;

        assert_int_equal(apply(&s, &recorder, T0 + 300 * USEC_PER_SEC, SHA_B, END), config.interval_usec);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "certificate_changed", STATUS_OK, STATUS_OK, -1);
        assert_string_equal(recorder.events[0].old_sha256, SHA_A);
        assert_string_equal(recorder.events[0].new_sha256, SHA_B);
        assert_string_equal(recorder.events[0].old_not_after, "2024-07-01T00:00:00Z");
        assert_string_equal(s.sha256, SHA_B);

        /* Unchanged after that. */
        recorder.n = 0;
        apply(&s, &recorder, T0 + 600 * USEC_PER_SEC, SHA_B, END);
        assert_int_equal(recorder.n, 0);
        target_state_clear(&s);
}

/* A cluster's report: one address per leaf given, each leaf (key `key`, clientAuth or not) under
 * the intermediate named `ca` and one root, with the details a described certificate has. */
typedef struct Node {
        uint8_t sha; /* every byte of the leaf's fingerprint */
        uint8_t key; /* every byte of its SPKI digest */
        bool client_auth;
        const char *ca;
} Node;

static Certificate *node_certificate(uint8_t sha, uint8_t key, const char *subject, const char *issuer,
                                     uint32_t eku) {
        uint8_t digest[32];
        Certificate *c = NULL;

        memset(digest, sha, sizeof(digest));
        assert_int_equal(certificate_new(digest, 1704067200, 1725148800, "EC", 256, "ecdsa-with-SHA256",
                                         subject, issuer, NULL, 0, &c),
                         0);
        c->has_details = true;
        memset(c->spki_sha256, key, sizeof(c->spki_sha256));
        c->n_subject_key_id = 2;
        c->subject_key_id[0] = c->subject_key_id[1] = key;
        c->extended_key_usage = eku;
        return c;
}

static Report *build_cluster(const Node *nodes, size_t n) {
        Report *report = calloc(1, sizeof(Report));

        assert_non_null(report);
        report->target = strdup("broker.example.com:8883");
        for (size_t i = 0; i < n; i++) {
                char address[32];
                snprintf(address, sizeof(address), "192.0.2.%zu", i + 1);
                AddressReport *a = report_add_address(report, address);
                assert_non_null(a);
                a->chain = calloc(3, sizeof(ChainLink));
                assert_non_null(a->chain);
                a->n_chain = 3;
                char ca[64];
                snprintf(ca, sizeof(ca), "CN=%s", nodes[i].ca);
                a->chain[0].certificate = node_certificate(nodes[i].sha, nodes[i].key,
                                                           "CN=broker.example.com", ca,
                                                           nodes[i].client_auth ? 0x3 : 0x1);
                a->chain[1].certificate = node_certificate(nodes[i].ca[0], nodes[i].ca[0], ca, "CN=Root",
                                                           UINT32_MAX);
                a->chain[2].certificate = node_certificate(0xee, 0xee, "CN=Root", "CN=Root", UINT32_MAX);
        }
        assert_int_equal(report_finalize(report), 0);
        return report;
}

static void apply_cluster(const TargetConfig *c, TargetState *s, Recorder *recorder, usec_t now,
                          const Node *nodes, size_t n) {
        Report *report = build_cluster(nodes, n);
        (void) target_apply_report(c, s, report, now, now, on_target_event, recorder);
        report_free(report);
}

static size_t count_changes(const Recorder *recorder) {
        size_t n = 0;
        for (size_t i = 0; i < recorder->n; i++)
                n += recorder->events[i].type == TARGET_EVENT_CERTIFICATE_CHANGED;
        return n;
}

static void test_certificate_diff_in_event(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        const Node old_node = { 0xa1, 0x11, true, "R10" }, renewed = { 0xa2, 0x11, true, "R10" },
                   new_ca = { 0xa3, 0x22, false, "YR1" };
        const Recorded *e;

        apply_cluster(&config, &s, &recorder, T0, &old_node, 1);
        recorder.n = 0;
        /* The same key, the same CA: the diff says the key was reused, and nothing breaks. */
        apply_cluster(&config, &s, &recorder, T0 + 300 * USEC_PER_SEC, &renewed, 1);
        assert_int_equal(count_changes(&recorder), 1);
        e = &recorder.events[0];
        assert_string_equal(e->changes, "key_reused");
        assert_false(e->partial);
        assert_int_equal(e->change_codes[0], -1);
        assert_int_equal(e->code, -1);
        assert_int_equal(s.certificate_changes, 1);
        assert_int_equal(s.change_counts[CERT_CHANGE_KEY_REUSED], 1);

        /* Another intermediate, a new key, clientAuth gone: intermediate_changed (a warning) and
         * client_auth_dropped, a note unless ExpectClientAuth= says the certificate serves clients. */
        recorder.n = 0;
        apply_cluster(&config, &s, &recorder, T0 + 600 * USEC_PER_SEC, &new_ca, 1);
        assert_int_equal(count_changes(&recorder), 1);
        e = &recorder.events[0];
        assert_string_equal(e->changes, "intermediate_changed,key_rotated,client_auth_dropped");
        assert_int_equal(e->change_codes[0], PROBLEM_INTERMEDIATE_CHANGED);
        assert_int_equal(e->change_severities[0], STATUS_WARNING);
        assert_int_equal(e->change_codes[1], PROBLEM_CLIENT_AUTH_DROPPED);
        assert_int_equal(e->change_severities[1], STATUS_OK);
        assert_int_equal(e->code, PROBLEM_INTERMEDIATE_CHANGED); /* the worst */

        TargetConfig bridge = config;
        bridge.expect_client_auth = true;
        recorder.n = 0;
        apply_cluster(&config, &s, &recorder, T0 + 900 * USEC_PER_SEC, &old_node, 1);
        recorder.n = 0;
        apply_cluster(&bridge, &s, &recorder, T0 + 1200 * USEC_PER_SEC, &new_ca, 1);
        e = &recorder.events[0];
        assert_int_equal(e->change_codes[1], PROBLEM_CLIENT_AUTH_DROPPED);
        assert_int_equal(e->change_severities[1], STATUS_WARNING);
        assert_int_equal(s.certificate_changes, 4);
        target_state_clear(&s);
}

static void test_cluster_does_not_flip(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        const Node a = { 0xa1, 0x11, true, "R10" }, b = { 0xb1, 0x22, true, "R10" };
        const Node ab[] = { a, b }, ba[] = { b, a }, bb[] = { b, b };

        /* One node renewed, the other not, in whichever order the resolver answers: no change is
         * announced while a node still serves the known leaf (nodes_differ says the rest). */
        apply_cluster(&config, &s, &recorder, T0, ab, 2);
        assert_true(problem_list_has(&s.problems, PROBLEM_NODES_DIFFER));
        apply_cluster(&config, &s, &recorder, T0 + 300 * USEC_PER_SEC, ba, 2);
        apply_cluster(&config, &s, &recorder, T0 + 600 * USEC_PER_SEC, ab, 2);
        assert_int_equal(count_changes(&recorder), 0);
        recorder.n = 0;
        apply_cluster(&config, &s, &recorder, T0 + 900 * USEC_PER_SEC, bb, 2);
        assert_int_equal(count_changes(&recorder), 1);
        assert_false(problem_list_has(&s.problems, PROBLEM_NODES_DIFFER));
        target_state_clear(&s);
}

static void test_certificate_changed_across_outage(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        /* The listener goes down and comes back with a new certificate: both are news. */
        apply(&s, &recorder, now, SHA_A, END);
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END);
        apply(&s, &recorder, now += 60 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END);
        recorder.n = 0;

        apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_B, END);
        assert_int_equal(recorder.n, 3);
        check_event(&recorder, 0, "certificate_changed", STATUS_CRITICAL, STATUS_OK, -1);
        assert_string_equal(recorder.events[0].old_sha256, SHA_A);
        assert_string_equal(recorder.events[0].new_sha256, SHA_B);
        check_event(&recorder, 1, "recovery", STATUS_CRITICAL, STATUS_OK, PROBLEM_CONNECT_FAILED);
        check_event(&recorder, 2, "status_changed", STATUS_CRITICAL, STATUS_OK, -1);
        target_state_clear(&s);
}

/* ---- reminders ---------------------------------------------------------------------------------- */

static void test_reminder_after_repeat_interval(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        const usec_t repeat = config.repeat_interval_usec;

        apply(&s, &recorder, T0, SHA_A, PROBLEM_EXPIRED, END);
        assert_int_equal(s.last_announced_usec, T0);
        recorder.n = 0;

        target_remind(&config, &s, T0, T0, on_target_event, &recorder);
        target_remind(&config, &s, T0 + USEC_PER_HOUR, T0 + USEC_PER_HOUR, on_target_event, &recorder);
        target_remind(&config, &s, T0 + repeat - 1, T0 + repeat - 1, on_target_event, &recorder);
        assert_int_equal(recorder.n, 0);

        target_remind(&config, &s, T0 + repeat, T0 + repeat, on_target_event, &recorder);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "reminder", STATUS_CRITICAL, STATUS_CRITICAL, PROBLEM_EXPIRED);
        assert_int_equal(s.last_announced_usec, T0 + repeat);

        /* The next one counts from this reminder. */
        target_remind(&config, &s, T0 + repeat + USEC_PER_HOUR, T0 + repeat + USEC_PER_HOUR, on_target_event, &recorder);
        target_remind(&config, &s, T0 + 2 * repeat - 1, T0 + 2 * repeat - 1, on_target_event, &recorder);
        assert_int_equal(recorder.n, 1);
        target_remind(&config, &s, T0 + 2 * repeat, T0 + 2 * repeat, on_target_event, &recorder);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 1, "reminder", STATUS_CRITICAL, STATUS_CRITICAL, PROBLEM_EXPIRED);
        target_state_clear(&s);
}

/* A step of the wall clock within a run: reminders go by CLOCK_BOOTTIME. Before, a step back of a day
 * silenced them for a day; a step forward sent one at once. */
static void test_reminder_clock_steps(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        const usec_t repeat = config.repeat_interval_usec, boot = 1000 * USEC_PER_SEC;

        Report *report = build_report(SHA_A, PROBLEM_EXPIRED, END);
        (void) target_apply_report(&config, &s, report, T0, boot, on_target_event, &recorder);
        report_free(report);
        assert_int_equal(s.last_announced_boot_usec, boot);
        recorder.n = 0;

        /* The wall clock a day ahead, the boot clock a minute: not yet. */
        target_remind(&config, &s, T0 + USEC_PER_DAY, boot + USEC_PER_MINUTE, on_target_event, &recorder);
        assert_int_equal(recorder.n, 0);
        /* The wall clock a day behind, RepeatInterval= passed on the boot clock: due. */
        target_remind(&config, &s, T0 - USEC_PER_DAY, boot + repeat, on_target_event, &recorder);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "reminder", STATUS_CRITICAL, STATUS_CRITICAL, PROBLEM_EXPIRED);
        target_state_clear(&s);
}

/* An announcement of an earlier run (the state file) lying ahead of now: long past, not a silence until
 * the clock catches up. */
static void test_reminder_saved_in_future(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        const usec_t boot = 1000 * USEC_PER_SEC;

        apply(&s, &recorder, T0, SHA_A, PROBLEM_EXPIRED, END);
        s.last_announced_usec = T0 + 10 * USEC_PER_DAY;
        s.last_announced_boot_usec = 0; /* as loaded */
        recorder.n = 0;
        target_remind(&config, &s, T0 + USEC_PER_MINUTE, boot, on_target_event, &recorder);
        assert_int_equal(recorder.n, 1);
        assert_int_equal(s.last_announced_usec, T0 + USEC_PER_MINUTE);
        assert_int_equal(s.last_announced_boot_usec, boot);
        target_state_clear(&s);
}

static void test_reminder_from_probe(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        const usec_t repeat = config.repeat_interval_usec;

        apply(&s, &recorder, T0, SHA_A, PROBLEM_EXPIRED, END);
        recorder.n = 0;

        /* Probes of the unchanged problem: silent until RepeatInterval has passed, then one reminder. */
        apply(&s, &recorder, T0 + repeat / 2, SHA_A, PROBLEM_EXPIRED, END);
        assert_int_equal(recorder.n, 0);
        apply(&s, &recorder, T0 + repeat + 1, SHA_A, PROBLEM_EXPIRED, END);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "reminder", STATUS_CRITICAL, STATUS_CRITICAL, PROBLEM_EXPIRED);
        apply(&s, &recorder, T0 + repeat + 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRED, END);
        assert_int_equal(recorder.n, 1);
        target_state_clear(&s);
}

static void test_reminder_worst_problem(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, PROBLEM_WEAK_KEY, PROBLEM_EXPIRED, END);
        recorder.n = 0;
        target_remind(&config, &s, T0 + config.repeat_interval_usec, T0 + config.repeat_interval_usec, on_target_event, &recorder);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "reminder", STATUS_CRITICAL, STATUS_CRITICAL, PROBLEM_EXPIRED);
        target_state_clear(&s);
}

static void test_no_reminder_when_fine(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        /* Nothing known yet. */
        target_remind(&config, &s, T0 + 100 * config.repeat_interval_usec, T0 + 100 * config.repeat_interval_usec, on_target_event, &recorder);
        assert_int_equal(recorder.n, 0);

        /* OK, even long after a recovered problem. */
        apply(&s, &recorder, T0, SHA_A, PROBLEM_EXPIRED, END);
        apply(&s, &recorder, T0 + USEC_PER_HOUR, SHA_B, END);
        recorder.n = 0;
        target_remind(&config, &s, T0 + 10 * config.repeat_interval_usec, T0 + 10 * config.repeat_interval_usec, on_target_event, &recorder);
        assert_int_equal(recorder.n, 0);

        /* An unconfirmed network fault is nothing to remind of either. */
        apply(&s, &recorder, T0 + 11 * config.repeat_interval_usec, NULL, PROBLEM_TIMEOUT, END);
        target_remind(&config, &s, T0 + 12 * config.repeat_interval_usec, T0 + 12 * config.repeat_interval_usec, on_target_event, &recorder);
        assert_int_equal(recorder.n, 0);
        target_state_clear(&s);
}

/* ---- warnings --------------------------------------------------------------------------------- */

static void test_warning_only(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        apply(&s, &recorder, now, SHA_A, END);
        recorder.n = 0;

        /* A warning counts at once: it is about the certificate, not the network. */
        assert_int_equal(apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRES_SOON, END),
                         config.interval_usec);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 0, "problem", STATUS_OK, STATUS_WARNING, PROBLEM_EXPIRES_SOON);
        assert_int_equal(recorder.events[0].severity, STATUS_WARNING);
        check_event(&recorder, 1, "status_changed", STATUS_OK, STATUS_WARNING, PROBLEM_EXPIRES_SOON);
        assert_int_equal(s.status, STATUS_WARNING);
        assert_int_equal(s.last_announced_usec, now);
        const usec_t announced = now;

        /* A second warning while warning: the problem, no status change. */
        recorder.n = 0;
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRES_SOON, PROBLEM_WEAK_KEY, END);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "problem", STATUS_WARNING, STATUS_WARNING, PROBLEM_WEAK_KEY);

        /* One of them goes: its recovery only, still warning. */
        recorder.n = 0;
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRES_SOON, END);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "recovery", STATUS_WARNING, STATUS_WARNING, PROBLEM_WEAK_KEY);
        assert_int_equal(s.status, STATUS_WARNING);

        /* Warnings are reminded of too. */
        recorder.n = 0;
        target_remind(&config, &s, now + config.repeat_interval_usec, now + config.repeat_interval_usec, on_target_event, &recorder);
        assert_int_equal(recorder.n, 1);
        check_event(&recorder, 0, "reminder", STATUS_WARNING, STATUS_WARNING, PROBLEM_EXPIRES_SOON);
        assert_true(announced < s.last_announced_usec);

        /* Escalation to critical. */
        recorder.n = 0;
        now += config.repeat_interval_usec + 1;
        apply(&s, &recorder, now, SHA_A, PROBLEM_EXPIRES_SOON, PROBLEM_EXPIRED, END);
        assert_int_equal(recorder.n, 2);
        check_event(&recorder, 0, "problem", STATUS_WARNING, STATUS_CRITICAL, PROBLEM_EXPIRED);
        check_event(&recorder, 1, "status_changed", STATUS_WARNING, STATUS_CRITICAL, PROBLEM_EXPIRED);
        target_state_clear(&s);
}

static void test_network_failure_during_warning_waits(void **state) {
        /* Regression (fixed): consecutive_failures counts every probe whose status is not ok, warnings included, so
         * after two probes of a lasting warning (expires_soon holds for weeks) a single lost
         * connection is taken as confirmed at once: "recovery: expires_soon", "problem:
         * connect_failed", status warning -> critical. ConfirmFailures must count network faults. */
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        apply(&s, &recorder, now, SHA_A, PROBLEM_EXPIRES_SOON, END);
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRES_SOON, END);
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRES_SOON, END);
        recorder.n = 0;

        assert_int_equal(apply(&s, &recorder, now += 300 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END),
                         config.retry_interval_usec);
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.status, STATUS_WARNING);
        target_state_clear(&s);
}

static void test_network_failure_during_critical_waits(void **state) {
        /* Regression (fixed): the same with a lasting critical finding: one timeout swaps "expired" for "timeout"
         * (a recovery that is none, and a new problem) instead of waiting for confirmation. */
        TargetState s = new_state();
        Recorder recorder = {};
        usec_t now = T0;

        apply(&s, &recorder, now, SHA_A, PROBLEM_EXPIRED, END);
        apply(&s, &recorder, now += 300 * USEC_PER_SEC, SHA_A, PROBLEM_EXPIRED, END);
        recorder.n = 0;

        assert_int_equal(apply(&s, &recorder, now += 300 * USEC_PER_SEC, NULL, PROBLEM_TIMEOUT, END),
                         config.retry_interval_usec);
        assert_int_equal(recorder.n, 0);
        assert_int_equal(s.problems.n, 1);
        assert_int_equal(s.problems.items[0].code, PROBLEM_EXPIRED);
        target_state_clear(&s);
}

/* ---- the event type table ----------------------------------------------------------------------- */

static void test_event_type_table(void **state) {
        static const char *const documented[] = {
                "status_changed", "problem", "recovery", "certificate_changed", "reminder",
        };

        assert_int_equal(ELEMENTSOF(documented), _TARGET_EVENT_TYPE_MAX);
        for (int i = 0; i < _TARGET_EVENT_TYPE_MAX; i++) {
                assert_string_equal(target_event_type_to_string(i), documented[i]);
                assert_int_equal(target_event_type_from_string(documented[i]), i);
        }
        assert_null(target_event_type_to_string(_TARGET_EVENT_TYPE_MAX));
        assert_null(target_event_type_to_string(-1));
        assert_int_equal(target_event_type_from_string("nope"), -EINVAL);
        assert_int_equal(target_event_type_from_string(NULL), -EINVAL);
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static void check_states_equal(const TargetState *a, const TargetState *b) {
        assert_int_equal(a->status, b->status);
        assert_int_equal(a->problems.n, b->problems.n);
        for (size_t i = 0; i < a->problems.n; i++) {
                const Problem *p = &a->problems.items[i], *q = &b->problems.items[i];
                assert_int_equal(p->code, q->code);
                assert_int_equal(p->severity, q->severity);
                assert_string_equal(p->message, q->message);
                assert_int_equal(p->depth, q->depth);
                assert_int_equal(p->verify_code, q->verify_code);
        }
        assert_string_equal(a->sha256, b->sha256);
        assert_string_equal(a->not_after, b->not_after);
        if (a->subject)
                assert_string_equal(a->subject, b->subject);
        else
                assert_null(b->subject);
        if (a->issuer)
                assert_string_equal(a->issuer, b->issuer);
        else
                assert_null(b->issuer);
        assert_int_equal(a->has_days_left, b->has_days_left);
        assert_true(a->days_left == b->days_left);
        assert_int_equal(a->last_probe_usec, b->last_probe_usec);
        assert_int_equal(a->last_duration_usec, b->last_duration_usec);
        assert_int_equal(a->last_announced_usec, b->last_announced_usec);
        assert_int_equal(a->consecutive_failures, b->consecutive_failures);
        assert_int_equal(a->probes, b->probes);
}

/* The state file's entry for one target, read back as state-file.c does: `version` 1 is the old form
 * (still loaded), 2 the one written now. */
static int target_state_from_json_version(json_t *o, int version, TargetState *ret) {
        json_t *entry = json_deep_copy(o);
        int r;

        if (json_is_object(entry))
                assert_int_equal(json_object_set_new(entry, "address", json_string("broker.example.com:8883")), 0);
        json_t *document = json_pack("{s:i, s:{s:o}}", "version", version, "targets", "broker", entry);
        assert_non_null(document);
        TargetState state;
        r = state_file_find(document, "broker", "broker.example.com:8883", &state);
        json_decref(document);
        if (r == 1) {
                *ret = state;
                return 0;
        }
        return r == 0 ? -ENOENT : r;
}

/* Written as the state file writes it, through text as on disk, and back. */
static void check_round_trip(const TargetState *s) {
        TargetState back = { .status = STATUS_OK };
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        json_t *document;
        char reason[256];

        assert_non_null(f);
        assert_int_equal(state_file_write_head(f), 0);
        assert_int_equal(state_file_write_target(f, true, "other", "other:1", &(TargetState) { .status = STATUS_OK }), 0);
        assert_int_equal(state_file_write_target(f, false, "broker", "broker.example.com:8883", s), 0);
        assert_int_equal(state_file_write_tail(f), 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(state_file_parse(text, size, &document, reason, sizeof(reason)), 0);
        assert_int_equal(json_integer_value(json_object_get(document, "version")), 2);
        assert_string_equal(json_string_value(json_object_get(document, "schema")), STATE_FILE_SCHEMA);
        free(text);

        assert_int_equal(state_file_find(document, "broker", "broker.example.com:8883", &back), 1);
        json_decref(document);
        check_states_equal(s, &back);
        target_state_clear(&back);
}

static void test_json_round_trip(void **state) {
        static const uint8_t digest[32] = { 0xaa };
        Certificate *leaf = NULL;
        assert_int_equal(certificate_new(digest, 0, 0, NULL, 0, NULL, "CN=broker.example.com",
                                         "CN=Example CA, O=\"Quoted\"", NULL, 0, &leaf),
                         0);
        TargetState s = {
                .status = STATUS_CRITICAL,
                .sha256 = SHA_A,
                .not_after = "2024-07-01T00:00:00Z",
                .leaf = leaf,
                .subject = leaf->subject,
                .issuer = leaf->issuer,
                .has_days_left = true,
                .days_left = -1.25,
                .last_probe_usec = T0 + USEC_PER_SEC, /* the file keeps points in time to the second */
                .last_duration_usec = 42 * USEC_PER_MSEC,
                .last_announced_usec = T0 - USEC_PER_DAY,
                .consecutive_failures = 3,
                .probes = 123456,
        };

        assert_int_equal(problem_list_add(&s.problems, PROBLEM_EXPIRED, STATUS_CRITICAL, 0, 10,
                                          "expired 1.25 days ago"), 0);
        assert_int_equal(problem_list_add(&s.problems, PROBLEM_WEAK_KEY, STATUS_WARNING, 1, -1,
                                          "RSA 1024 \"weak\"\n"), 0);
        check_round_trip(&s);
        target_state_clear(&s);
}

static void test_json_round_trip_without_certificate(void **state) {
        /* Regression (fixed): to_json writes a missing subject/issuer as JSON null ("s?" in json_pack) but from_json
         * unpacks them with "s?s", which accepts an absent key, not a null: every state without a
         * certificate is refused as malformed. Such is the state of a fresh target and of one that
         * has been unreachable since it was added, so after a restart its confirmed failure is
         * forgotten and announced again. */
        TargetState s = new_state();
        Recorder recorder = {};

        check_round_trip(&s);

        apply(&s, &recorder, T0, NULL, PROBLEM_CONNECT_FAILED, END);
        apply(&s, &recorder, T0 + 60 * USEC_PER_SEC, NULL, PROBLEM_CONNECT_FAILED, END);
        assert_int_equal(s.status, STATUS_CRITICAL);
        check_round_trip(&s);
        target_state_clear(&s);
}

static void test_json_round_trip_after_probes(void **state) {
        TargetState s = new_state();
        Recorder recorder = {};

        apply(&s, &recorder, T0, SHA_A, END);
        apply(&s, &recorder, T0 + 300 * USEC_PER_SEC, SHA_B, PROBLEM_EXPIRES_SOON, PROBLEM_HOSTNAME_MISMATCH,
              END);
        check_round_trip(&s);
        target_state_clear(&s);
}

/* Parses JSON written with ' for ", to keep the cases readable. */
static json_t *load_quoted(const char *text) {
        _cleanup_free_ char *json = strdup(text);
        json_error_t error;
        json_t *o;

        assert_non_null(json);
        for (char *c = json; *c; c++)
                if (*c == '\'')
                        *c = '"';
        o = json_loads(json, 0, &error);
        if (!o)
                fail_msg("test input is not JSON: %s: %s", json, error.text);
        return o;
}

static void check_rejected_version_at(const char *text, int version, const char *file, int line) {
        TargetState s = { .status = STATUS_WARNING, .probes = 77 };
        json_t *o = load_quoted(text);

        _assert_int_equal(target_state_from_json_version(o, version, &s), -EBADMSG, file, line);
        json_decref(o);
        /* Untouched on failure, so a caller's state is not half-replaced. */
        _assert_int_equal(s.status, STATUS_WARNING, file, line);
        _assert_int_equal(s.probes, 77, file, line);
        _assert_true(s.problems.n == 0 && !s.subject && !s.issuer, "state untouched", file, line);
}
/* Refused in both forms; or only in the old one, or the new one, where the member is the form's own. */
#define check_rejected(text)                                         \
        do {                                                         \
                check_rejected_version_at(text, 1, __FILE__, __LINE__); \
                check_rejected_version_at(text, 2, __FILE__, __LINE__); \
        } while (0)
#define check_rejected_v1(text) check_rejected_version_at(text, 1, __FILE__, __LINE__)
#define check_rejected_v2(text) check_rejected_version_at(text, 2, __FILE__, __LINE__)

static void test_json_minimal_accepted(void **state) {
        TargetState s = {};
        json_t *o = load_quoted("{'status':'ok','problems':[]}");

        assert_int_equal(target_state_from_json_version(o, 2, &s), 0);
        target_state_clear(&s);
        assert_int_equal(target_state_from_json_version(o, 1, &s), 0);
        json_decref(o);
        assert_int_equal(s.status, STATUS_OK);
        assert_string_equal(s.sha256, "");
        assert_null(s.subject);
        assert_false(s.has_days_left);
        target_state_clear(&s);
}

static void test_json_rejected(void **state) {
        check_rejected("[]");
        check_rejected("{}");
        /* Missing or bad status. */
        check_rejected("{'problems':[]}");
        check_rejected("{'status':'fine','problems':[]}");
        check_rejected("{'status':1,'problems':[]}");
        check_rejected("{'status':null,'problems':[]}");
        /* Missing or bad problems. */
        check_rejected("{'status':'ok'}");
        check_rejected("{'status':'ok','problems':{}}");
        check_rejected("{'status':'ok','problems':'expired'}");
        /* Wrong types of the optional fields. */
        check_rejected("{'status':'ok','problems':[],'sha256':5}");
        check_rejected("{'status':'ok','problems':[],'subject':[]}");
        check_rejected("{'status':'ok','problems':[],'probes':'many'}");
        check_rejected_v1("{'status':'ok','problems':[],'last_probe_usec':1.5}");
        check_rejected_v1("{'status':'ok','problems':[],'last_probe_usec':-1}");
        check_rejected_v2("{'status':'ok','problems':[],'last_probe_unix':1.5}");
        check_rejected_v2("{'status':'ok','problems':[],'last_probe_unix':-1}");
        check_rejected_v2("{'status':'ok','problems':[],'last_announced_unix':'yesterday'}");
        check_rejected_v2("{'status':'ok','problems':[],'not_after_unix':'2024'}");
        check_rejected_v2("{'status':'ok','problems':[],'last_duration_seconds':-1}");
        check_rejected_v2("{'status':'ok','problems':[],'last_duration_seconds':'long'}");
        check_rejected("{'status':'ok','problems':[],'consecutive_failures':-1}");
        check_rejected("{'status':'ok','problems':[],'probes':-3}");
        /* Too long for the fixed fields. */
        check_rejected("{'status':'ok','problems':[],'sha256':'" SHA_A "0'}");
        check_rejected_v1("{'status':'ok','problems':[],'not_after':'2024-07-01T00:00:00Z and a lot more'}");
}

static void test_json_rejected_problems(void **state) {
        /* A good problem before the bad one: what was built so far must be freed (ASan checks). */
#define BAD(item) \
        "{'status':'critical','problems':[{'code':'expired','severity':'critical','message':'m'}," item "]}"
        check_rejected(BAD("{'code':'on_fire','severity':'critical','message':'m'}"));
        check_rejected(BAD("{'code':'expired','severity':'dire','message':'m'}"));
        check_rejected(BAD("{'code':'expired','severity':'critical'}"));
        check_rejected(BAD("{'severity':'critical','message':'m'}"));
        check_rejected(BAD("{'code':7,'severity':'critical','message':'m'}"));
        check_rejected(BAD("{'code':'expired','severity':'critical','message':'m','depth':'zero'}"));
        check_rejected(BAD("'expired'"));
        check_rejected(BAD("null"));

        /* With a good second item it loads: each rejection above is the bad item's doing. */
        TargetState s = {};
        json_t *o = load_quoted(BAD("{'code':'weak_key','severity':'warning','message':'w','depth':1}"));
        assert_int_equal(target_state_from_json_version(o, 2, &s), 0);
        json_decref(o);
        assert_int_equal(s.status, STATUS_CRITICAL);
        assert_int_equal(s.problems.n, 2);
        assert_int_equal(s.problems.items[1].code, PROBLEM_WEAK_KEY);
        assert_int_equal(s.problems.items[1].depth, 1);
        assert_int_equal(s.problems.items[1].verify_code, -1);
        target_state_clear(&s);
#undef BAD
}

static void test_json_rejected_days_left_type(void **state) {
        /* Regression (fixed): days_left is unpacked with "o" and a non-number is silently taken as "no
         * days_left" instead of being refused like every other wrongly typed field. */
        check_rejected("{'status':'ok','problems':[],'days_left':'12'}");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_ok_report),
                cmocka_unit_test(test_critical_certificate_problem_counts_at_once),
                cmocka_unit_test(test_critical_on_first_probe),
                cmocka_unit_test(test_single_network_failure_waits),
                cmocka_unit_test(test_second_network_failure_counts),
                cmocka_unit_test(test_network_failure_on_first_probe),
                cmocka_unit_test(test_failures_must_be_consecutive),
                cmocka_unit_test(test_mixed_failure_counts_at_once),
                cmocka_unit_test(test_recovery),
                cmocka_unit_test(test_certificate_changed),
                cmocka_unit_test(test_certificate_changed_across_outage),
                cmocka_unit_test(test_certificate_diff_in_event),
                cmocka_unit_test(test_cluster_does_not_flip),
                cmocka_unit_test(test_reminder_after_repeat_interval),
                cmocka_unit_test(test_reminder_from_probe),
                cmocka_unit_test(test_reminder_clock_steps),
                cmocka_unit_test(test_reminder_saved_in_future),
                cmocka_unit_test(test_reminder_worst_problem),
                cmocka_unit_test(test_no_reminder_when_fine),
                cmocka_unit_test(test_warning_only),
                cmocka_unit_test(test_network_failure_during_warning_waits),
                cmocka_unit_test(test_network_failure_during_critical_waits),
                cmocka_unit_test(test_event_type_table),
                cmocka_unit_test(test_json_round_trip),
                cmocka_unit_test(test_json_round_trip_without_certificate),
                cmocka_unit_test(test_json_round_trip_after_probes),
                cmocka_unit_test(test_json_minimal_accepted),
                cmocka_unit_test(test_json_rejected),
                cmocka_unit_test(test_json_rejected_problems),
                cmocka_unit_test(test_json_rejected_days_left_type),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
