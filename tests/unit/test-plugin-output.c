/* SPDX-License-Identifier: MIT */
/* Nagios plugin output: label quoting, perfdata items, the probe's perfdata for one address and for
 * several, the '|' that must not leak from certificate text, and the fleet check's summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "plugin-output.h"

/* Explicit WarnDays=/CritDays=, which the perfdata tests were written for. */
#define DAYS(w, c) ((const ExpiryPolicy) { .days_set = true, .warn_days = (w), .crit_days = (c) })

typedef struct Buffer {
        char *text;
        size_t size;
        FILE *f;
} Buffer;

static void buffer_open(Buffer *b) {
        *b = (Buffer){};
        b->f = open_memstream(&b->text, &b->size);
        assert_non_null(b->f);
}

/* Closes the stream, compares and frees. */
static void buffer_expect(Buffer *b, const char *expected) {
        assert_int_equal(fclose(b->f), 0);
        assert_string_equal(b->text, expected);
        free(b->text);
}

static void test_label(void **state) {
        static const struct {
                const char *label, *expected;
        } cases[] = {
                { "days_left", "days_left" }, { "days_left_::1", "days_left_::1" },
                { "a b", "'a b'" },           { "x=y", "'x=y'" },
                { "it's", "'it''s'" },        { "''", "''''''" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Buffer b;

                buffer_open(&b);
                plugin_output_label(cases[i].label, b.f);
                buffer_expect(&b, cases[i].expected);
        }
}

static void test_item(void **state) {
        Buffer b;

        buffer_open(&b);
        plugin_output_item(b.f, "ok", 5, 0, NULL, NULL, NULL, "0", NULL);
        plugin_output_item(b.f, "t", 0.25, 3, "s", NULL, NULL, NULL, NULL);
        plugin_output_item(b.f, "days left", -1.5, 1, NULL, "30:", "7:", NULL, NULL);
        plugin_output_item(b.f, "d", 1, 0, "s", NULL, NULL, "0", "10");
        buffer_expect(&b, " ok=5;;;0 t=0.250s 'days left'=-1.5;30:;7: d=1s;;;0;10");
}

static Report *make_report(size_t n_addresses) {
        Report *report = calloc(1, sizeof(Report));

        assert_non_null(report);
        report->target = strdup("broker.example:8883");
        report->protocol = strdup("mqtt");
        assert_non_null(report->target);
        assert_non_null(report->protocol);
        report->duration_usec = 20000;
        for (size_t i = 0; i < n_addresses; i++) {
                AddressReport *a = report_add_address(report, i == 0 ? "127.0.0.1" : "::1");
                assert_non_null(a);
                a->tls_version = "TLSv1.3";
                a->cipher = "TLS_AES_256_GCM_SHA384";
                a->has_days_left = true;
                a->days_left = i == 0 ? 12.5 : 3.25;
                a->handshake_usec = 4000 + i * 1000;
                a->duration_usec = 10000 + i * 1000;
        }
        return report;
}

static void test_probe_one_address(void **state) {
        Report *report = make_report(1);
        Buffer b;

        buffer_open(&b);
        plugin_output_probe_perfdata(report, &DAYS(30, 7), 10 * USEC_PER_SEC, b.f);
        buffer_expect(&b, " days_left=12.50;30:;7: handshake=0.004000s;;;0;10 duration=0.020000s;;;0;10");

        /* No handshake: no days, no handshake, the duration still. */
        report->addresses[0].tls_version = NULL;
        report->addresses[0].has_days_left = false;
        buffer_open(&b);
        plugin_output_probe_perfdata(report, &DAYS(30, 7), 2500 * USEC_PER_MSEC, b.f);
        buffer_expect(&b, " duration=0.020000s;;;0;2.5");
        report_free(report);
}

static void test_probe_two_addresses(void **state) {
        Report *report = make_report(2);
        Buffer b;

        buffer_open(&b);
        plugin_output_probe_perfdata(report, &DAYS(20, 5), 10 * USEC_PER_SEC, b.f);
        buffer_expect(
                &b,
                " days_left=3.25;20:;5: duration=0.020000s;;;0;10"
                " days_left_127.0.0.1=12.50;20:;5: handshake_127.0.0.1=0.004000s;;;0;10"
                " duration_127.0.0.1=0.010000s;;;0;10"
                " days_left_::1=3.25;20:;5: handshake_::1=0.005000s;;;0;10 duration_::1=0.011000s;;;0;10");
        report_free(report);
}

/* The default policy: days_left's thresholds are the leaf's renew point and floor (30 and 7 days for a
 * 90-day certificate), and lifetime_left gives the same in percent of its lifetime. */
static void test_probe_lifetime(void **state) {
        Report *report = make_report(1);
        AddressReport *a = &report->addresses[0];
        uint8_t sha256[32] = {};
        const int64_t day = 86400, now = 1767225600;
        Buffer b;

        a->chain = calloc(1, sizeof(ChainLink));
        assert_non_null(a->chain);
        assert_int_equal(certificate_new(sha256, now - 30 * day, now + 60 * day, "EC", 256, "x", "CN=a",
                                         "CN=b", NULL, 0, &a->chain[0].certificate),
                         0);
        a->n_chain = 1;
        a->checked_at = now;
        a->days_left = 60;
        const ExpiryPolicy lifetime_policy = {};
        buffer_open(&b);
        plugin_output_probe_perfdata(report, &lifetime_policy, 10 * USEC_PER_SEC, b.f);
        buffer_expect(&b, " days_left=60.00;30.00:;7.00: lifetime_left=66.7%;33.3:;7.8:;0;100"
                          " handshake=0.004000s;;;0;10 duration=0.020000s;;;0;10");

        /* Explicit days: their thresholds, and the fraction left without any. */
        buffer_open(&b);
        plugin_output_probe_perfdata(report, &DAYS(30, 7), 10 * USEC_PER_SEC, b.f);
        buffer_expect(&b, " days_left=60.00;30:;7: lifetime_left=66.7%;;;0;100"
                          " handshake=0.004000s;;;0;10 duration=0.020000s;;;0;10");
        report_free(report);
}

static void test_probe_no_address(void **state) {
        Report *report = make_report(0);
        Buffer b;

        buffer_open(&b);
        plugin_output_probe_perfdata(report, &DAYS(30, 7), 10 * USEC_PER_SEC, b.f);
        buffer_expect(&b, " duration=0.020000s;;;0;10");
        report_free(report);
}

/* A '|' in a problem message (which quotes the listener's certificate) must not start perfdata. */
static void test_probe_text(void **state) {
        Report *report = make_report(1);
        Buffer b;

        assert_int_equal(problem_list_add(&report->problems, PROBLEM_EXPIRES_SOON, STATUS_WARNING, 0, -1,
                                          "CN=a|b expires in 12 days"),
                         0);
        report->status = STATUS_WARNING;
        buffer_open(&b);
        assert_int_equal(plugin_output_probe(report, &DAYS(30, 7), 10 * USEC_PER_SEC, b.f), 0);
        assert_int_equal(fclose(b.f), 0);

        char *newline = strchr(b.text, '\n');
        assert_non_null(newline);
        *newline = '\0';
        assert_string_equal(
                b.text, "WARNING: broker.example:8883 (mqtt) expires_soon: CN=a/b expires in 12 days"
                        " | days_left=12.50;30:;7: handshake=0.004000s;;;0;10 duration=0.020000s;;;0;10");
        assert_null(strchr(newline + 1, '|'));
        assert_non_null(strstr(newline + 1, "address 127.0.0.1: "));
        free(b.text);
        report_free(report);
}

static void test_fleet(void **state) {
        json_t *targets = json_loads(
                "[{\"name\": \"a\", \"address\": \"a.example:8883\", \"status\": \"ok\", \"days_left\": "
                "60.25,"
                " \"problems\": []},"
                " {\"name\": \"b\", \"address\": \"b.example:8883\", \"status\": \"warning\", "
                "\"days_left\": 9.5,"
                "  \"problems\":"
                "  [{\"code\": \"expires_soon\", \"severity\": \"warning\", \"message\": \"in 10 days\"}]},"
                " {\"name\": \"c|d\", \"address\": \"[::1]:8883\", \"status\": \"critical\", \"problems\":"
                "  [{\"code\": \"weak_key\", \"severity\": \"warning\", \"message\": \"RSA 1024\"},"
                "   {\"code\": \"expired\", \"severity\": \"critical\", \"message\": "
                "\"expired\\nyesterday\"}]},"
                " {\"name\": \"e\", \"address\": \"e.example:8883\", \"status\": \"unknown\", \"problems\": "
                "[],"
                "  \"last_probe\": null},"
                " {\"name\": \"f\", \"address\": \"f.example:8883\", \"status\": \"ok\", \"problems\": []}]",
                0, NULL);
        json_t *webhooks = json_loads("[{\"name\": \"w\", \"dead_letters\": 0}]", 0, NULL);
        Buffer b;

        assert_non_null(targets);
        assert_non_null(webhooks);
        buffer_open(&b);
        assert_int_equal(plugin_output_fleet(targets, webhooks, b.f), STATUS_CRITICAL);
        buffer_expect(&b, "TLSWATCH CRITICAL: 1 critical, 1 warning, 1 unknown, 2 ok"
                          " | ok=2;;;0 warning=1;;;0 critical=1;;;0 unknown=1;;;0 days_left=9.50\n"
                          "CRITICAL: c/d ([::1]:8883): expired: expired yesterday (and 1 more)\n"
                          "UNKNOWN: e (e.example:8883): not probed yet\n"
                          "WARNING: b (b.example:8883): expires_soon: in 10 days\n");
        json_decref(targets);
        json_decref(webhooks);

        /* All well but a webhook gave up on events: WARNING, as plain `status` says. */
        targets = json_loads(
                "[{\"name\": \"a\", \"address\": \"a:1\", \"status\": \"ok\", \"problems\": []}]", 0, NULL);
        webhooks = json_loads("[{\"name\": \"w\", \"dead_letters\": 3}]", 0, NULL);
        buffer_open(&b);
        assert_int_equal(plugin_output_fleet(targets, webhooks, b.f), STATUS_WARNING);
        buffer_expect(&b, "TLSWATCH WARNING: 1 ok; 1 webhook with dead letters"
                          " | ok=1;;;0 warning=0;;;0 critical=0;;;0 unknown=0;;;0\n"
                          "WARNING: webhook w: 3 event(s) given up on, in its dead-letter file (tlswatchctl "
                          "webhooks)\n");
        json_decref(targets);
        json_decref(webhooks);

        /* Nothing to check is not green. */
        targets = json_array();
        buffer_open(&b);
        assert_int_equal(plugin_output_fleet(targets, NULL, b.f), STATUS_UNKNOWN);
        buffer_expect(&b, "TLSWATCH UNKNOWN: no targets configured"
                          " | ok=0;;;0 warning=0;;;0 critical=0;;;0 unknown=0;;;0\n");
        json_decref(targets);

        buffer_open(&b);
        plugin_output_fleet_unknown("tlswatchd is not running (nothing listens on /x|y)", b.f);
        buffer_expect(&b, "TLSWATCH UNKNOWN: tlswatchd is not running (nothing listens on /x/y)\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_label),
                cmocka_unit_test(test_item),
                cmocka_unit_test(test_probe_one_address),
                cmocka_unit_test(test_probe_two_addresses),
                cmocka_unit_test(test_probe_no_address),
                cmocka_unit_test(test_probe_lifetime),
                cmocka_unit_test(test_probe_text),
                cmocka_unit_test(test_fleet),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
