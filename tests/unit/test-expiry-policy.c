/* SPDX-License-Identifier: MIT */
/* The expiry policy with a faked clock: 6-, 45-, 90- and 200-day certificates at several points of their
 * lives under the default policy (the table in tlswatch.conf(5)), the explicit WarnDays=/CritDays=
 * exactly as before lifetimes, WarnLifetime=/CritLifetime=/RenewalFloor=, and long-lived certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "expiry-policy.h"
#include "macro.h"

#define HOUR 3600LL
#define DAY 86400LL
/* 2026-01-01T00:00:00Z, a certificate's notBefore in every case. */
#define BIRTH 1767225600LL

static ExpiryAssessment at(const ExpiryPolicy *p, int64_t lifetime, int64_t age) {
        ExpiryAssessment a;
        expiry_assess(p, BIRTH, BIRTH + lifetime, BIRTH + age, &a);
        return a;
}

/* Verdict of a certificate of `lifetime` with `left` seconds to go. */
static ExpiryVerdict left(const ExpiryPolicy *p, int64_t lifetime, int64_t left_seconds) {
        return at(p, lifetime, lifetime - left_seconds).verdict;
}

static void test_six_days(void **state) {
        const ExpiryPolicy p = {};
        const int64_t life = 6 * DAY;

        assert_int_equal(left(&p, life, 6 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 5 * DAY), EXPIRY_OK); /* 1 day into its life */
        assert_int_equal(left(&p, life, 3 * DAY + HOUR), EXPIRY_OK);
        /* Half its life left: certbot renews short-lived certificates at half. */
        assert_int_equal(left(&p, life, 3 * DAY - HOUR), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 25 * HOUR), EXPIRY_RENEWAL_OVERDUE);
        /* 20 hours left, no replacement: less than the 24 hours a renewal needs. */
        assert_int_equal(left(&p, life, 20 * HOUR), EXPIRY_CRITICAL);

        ExpiryAssessment a = at(&p, life, life - 20 * HOUR);
        assert_int_equal(a.lifetime, life);
        assert_int_equal(a.left, 20 * HOUR);
        assert_int_equal(a.floor, 24 * HOUR);
        assert_int_equal(a.renew_at, BIRTH + 3 * DAY);
        assert_true(fabs(a.left_fraction - 20.0 / 144.0) < 1e-9);
        assert_false(a.by_days);
}

/* Let's Encrypt's shortlived profile: 160 hours. */
static void test_160_hours(void **state) {
        const ExpiryPolicy p = {};
        const int64_t life = 160 * HOUR;

        assert_int_equal(left(&p, life, 81 * HOUR), EXPIRY_OK);
        assert_int_equal(left(&p, life, 79 * HOUR), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 27 * HOUR), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 26 * HOUR), EXPIRY_CRITICAL); /* floor 26.7 h */
}

static void test_45_days(void **state) {
        const ExpiryPolicy p = {};
        const int64_t life = 45 * DAY;

        assert_int_equal(left(&p, life, 44 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 16 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 15 * DAY - HOUR), EXPIRY_RENEWAL_OVERDUE); /* a third left */
        assert_int_equal(left(&p, life, 7 * DAY + HOUR), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 7 * DAY - HOUR), EXPIRY_CRITICAL); /* 45/6 = 7.5 days, capped at 7 */
        assert_int_equal(at(&p, life, 0).floor, 7 * DAY);
}

static void test_90_days(void **state) {
        const ExpiryPolicy p = {};
        const int64_t life = 90 * DAY;

        assert_int_equal(left(&p, life, 89 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 31 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 29 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 10 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 6 * DAY), EXPIRY_CRITICAL);
        assert_int_equal(at(&p, life, 0).renew_at, BIRTH + 60 * DAY);
}

static void test_200_days(void **state) {
        const ExpiryPolicy p = {};
        const int64_t life = 200 * DAY;

        assert_int_equal(left(&p, life, 100 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 67 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 66 * DAY), EXPIRY_RENEWAL_OVERDUE);
        /* Where 30/7 days would have said nothing yet, the renewal is already late. */
        assert_int_equal(left(&p, life, 31 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 8 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, life, 6 * DAY), EXPIRY_CRITICAL);
}

/* Longer than any public certificate: not ACME-renewed, judged by the fixed 30/7 days. */
static void test_long_lived(void **state) {
        const ExpiryPolicy p = {};
        const int64_t life = 10 * 365 * DAY;

        assert_int_equal(left(&p, life, 3 * 365 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 31 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, life, 29 * DAY), EXPIRY_EXPIRES_SOON);
        assert_int_equal(left(&p, life, 6 * DAY), EXPIRY_CRITICAL);
        assert_int_equal(left(&p, 398 * DAY, 100 * DAY), EXPIRY_RENEWAL_OVERDUE); /* still public-sized */
        assert_int_equal(left(&p, 399 * DAY, 100 * DAY), EXPIRY_OK);

        /* An explicit WarnLifetime= applies to every lifetime. */
        const ExpiryPolicy w = { .warn_lifetime = 10 };
        assert_int_equal(left(&w, life, 300 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&w, life, 6 * DAY), EXPIRY_CRITICAL);
}

/* WarnDays=/CritDays= alone behave exactly as before: fixed days whatever the lifetime, no
 * renewal_overdue; the fresh 6-day certificate is critical for its whole life, as it always was. */
static void test_explicit_days(void **state) {
        const ExpiryPolicy p = { .days_set = true, .warn_days = 30, .crit_days = 7 };

        assert_false(expiry_policy_lifetime_active(&p));
        assert_int_equal(left(&p, 6 * DAY, 6 * DAY), EXPIRY_CRITICAL);
        assert_true(at(&p, 6 * DAY, 0).by_days);
        assert_int_equal(left(&p, 90 * DAY, 29 * DAY), EXPIRY_EXPIRES_SOON);
        assert_int_equal(left(&p, 90 * DAY, 31 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, 90 * DAY, 6 * DAY), EXPIRY_CRITICAL);
        assert_int_equal(left(&p, 200 * DAY, 60 * DAY), EXPIRY_OK);

        const ExpiryPolicy low = { .days_set = true, .warn_days = 5, .crit_days = 2 };
        assert_int_equal(left(&low, 10 * DAY, 10 * DAY), EXPIRY_OK);
        assert_int_equal(left(&low, 90 * DAY, 4 * DAY), EXPIRY_EXPIRES_SOON);
        assert_int_equal(left(&low, 90 * DAY, DAY), EXPIRY_CRITICAL);

        const ExpiryPolicy zero = { .days_set = true };
        assert_int_equal(left(&zero, 90 * DAY, HOUR), EXPIRY_OK);
}

/* Days and a lifetime setting together: both apply, the worse wins. */
static void test_days_and_lifetime(void **state) {
        const ExpiryPolicy p = { .days_set = true, .warn_days = 14, .crit_days = 3, .warn_lifetime = 40 };

        assert_true(expiry_policy_lifetime_active(&p));
        assert_int_equal(left(&p, 90 * DAY, 35 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&p, 90 * DAY, 37 * DAY), EXPIRY_OK);
        assert_int_equal(left(&p, 90 * DAY, 10 * DAY), EXPIRY_RENEWAL_OVERDUE); /* of two warnings */
        /* Below the default floor (7 days) but above CritDays=3: critical by the lifetime rules. */
        assert_int_equal(left(&p, 90 * DAY, 5 * DAY), EXPIRY_CRITICAL);
        assert_false(at(&p, 90 * DAY, 85 * DAY).by_days);
        const ExpiryPolicy q = { .days_set = true,
                                 .warn_days = 60,
                                 .crit_days = 20,
                                 .warn_lifetime = 10,
                                 .renewal_floor_usec = HOUR * USEC_PER_SEC };
        ExpiryAssessment a = at(&q, 90 * DAY, 75 * DAY);
        assert_int_equal(a.verdict, EXPIRY_CRITICAL);
        assert_true(a.by_days);
        assert_int_equal(left(&q, 90 * DAY, 50 * DAY), EXPIRY_EXPIRES_SOON);
}

static void test_lifetime_settings(void **state) {
        const ExpiryPolicy w = { .warn_lifetime = 50 };
        assert_int_equal(left(&w, 90 * DAY, 46 * DAY), EXPIRY_OK);
        assert_int_equal(left(&w, 90 * DAY, 44 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&w, 90 * DAY, 6 * DAY), EXPIRY_CRITICAL); /* the default floor stays */

        const ExpiryPolicy c = { .crit_lifetime = 20 };
        assert_int_equal(left(&c, 90 * DAY, 19 * DAY), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&c, 90 * DAY, 17 * DAY), EXPIRY_CRITICAL);
        assert_int_equal(at(&c, 90 * DAY, 0).floor, 18 * DAY);

        const ExpiryPolicy f = { .renewal_floor_usec = 2 * DAY * USEC_PER_SEC };
        assert_int_equal(left(&f, 6 * DAY, 47 * HOUR), EXPIRY_CRITICAL);
        assert_int_equal(left(&f, 6 * DAY, 49 * HOUR), EXPIRY_RENEWAL_OVERDUE);
        assert_int_equal(left(&f, 90 * DAY, 3 * DAY), EXPIRY_RENEWAL_OVERDUE);

        /* Both floors: the larger. */
        const ExpiryPolicy both = { .crit_lifetime = 10, .renewal_floor_usec = 12 * DAY * USEC_PER_SEC };
        assert_int_equal(at(&both, 90 * DAY, 0).floor, 12 * DAY);
}

static void test_edges(void **state) {
        const ExpiryPolicy p = {};

        /* Expired: critical here (the caller reports expired instead). */
        assert_int_equal(left(&p, 90 * DAY, -DAY), EXPIRY_CRITICAL);
        assert_true(at(&p, 90 * DAY, 91 * DAY).left_fraction == 0);
        /* Not yet valid: the fraction is 1, the verdict by time left. */
        assert_true(at(&p, 90 * DAY, -DAY).left_fraction == 1);
        /* A degenerate validity (notAfter before notBefore) does not divide by zero. */
        ExpiryAssessment a;
        expiry_assess(&p, BIRTH, BIRTH - DAY, BIRTH, &a);
        assert_int_equal(a.lifetime, 0);
        assert_int_equal(a.verdict, EXPIRY_CRITICAL);
        assert_true(expiry_left_fraction(BIRTH, BIRTH, BIRTH) == 0);

        char buffer[32];
        assert_string_equal(expiry_format_span(20 * HOUR, buffer, sizeof(buffer)), "20.0 hours");
        assert_string_equal(expiry_format_span(45 * DAY, buffer, sizeof(buffer)), "45.0 days");
        assert_string_equal(expiry_format_span(-3 * DAY, buffer, sizeof(buffer)), "-3.0 days");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_six_days),          cmocka_unit_test(test_160_hours),
                cmocka_unit_test(test_45_days),           cmocka_unit_test(test_90_days),
                cmocka_unit_test(test_200_days),          cmocka_unit_test(test_long_lived),
                cmocka_unit_test(test_explicit_days),     cmocka_unit_test(test_days_and_lifetime),
                cmocka_unit_test(test_lifetime_settings), cmocka_unit_test(test_edges),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
