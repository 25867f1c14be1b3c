/* SPDX-License-Identifier: MIT */
/* parse_sec() and format_timespan(): the duration notation of the configuration. Long unit names
 * ("5 minutes") must be refused rather than guessed, and every formatted span must parse back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "time-util.h"

/* Helpers that report the caller's line, so a failing case names its own input. */
static void check_parse_at(const char *text, usec_t expected, const char *file, int line) {
        usec_t usec = 12345; /* a sentinel, so a parser that forgets to store is caught */

        _assert_int_equal(parse_sec(text, &usec), 0, file, line);
        _assert_int_equal(usec, expected, file, line);
}
#define check_parse(text, expected) check_parse_at(text, expected, __FILE__, __LINE__)

static void check_refused_at(const char *text, const char *file, int line) {
        usec_t usec = 12345;
        int r;

        r = parse_sec(text, &usec);
        _assert_true(r == -EINVAL || r == -ERANGE, text, file, line);
        /* A refused value leaves the output alone: the caller's default must survive. */
        _assert_int_equal(usec, 12345, file, line);
}
#define check_refused(text) check_refused_at(text, __FILE__, __LINE__)

static void test_parse_units(void **state) {
        check_parse("30s", 30 * USEC_PER_SEC);
        check_parse("30sec", 30 * USEC_PER_SEC);
        check_parse("5min", 5 * USEC_PER_MINUTE);
        check_parse("5m", 5 * USEC_PER_MINUTE);
        check_parse("1h", USEC_PER_HOUR);
        check_parse("2hr", 2 * USEC_PER_HOUR);
        check_parse("1d", USEC_PER_DAY);
        check_parse("1w", USEC_PER_WEEK);
        check_parse("500ms", 500 * USEC_PER_MSEC);
        check_parse("500msec", 500 * USEC_PER_MSEC);
        check_parse("250us", 250);
        check_parse("250usec", 250);
        check_parse("0", 0);
}

static void test_parse_bare_number_is_seconds(void **state) {
        check_parse("90", 90 * USEC_PER_SEC);
        check_parse("1", USEC_PER_SEC);
}

static void test_parse_combined(void **state) {
        check_parse("1h 30min", USEC_PER_HOUR + 30 * USEC_PER_MINUTE);
        check_parse("1h30min", USEC_PER_HOUR + 30 * USEC_PER_MINUTE);
        check_parse("1d 2h 3min 4s 5ms 6us", USEC_PER_DAY + 2 * USEC_PER_HOUR + 3 * USEC_PER_MINUTE +
                                                     4 * USEC_PER_SEC + 5 * USEC_PER_MSEC + 6);
        /* A trailing bare number is seconds, as on its own. */
        check_parse("1min 30", 90 * USEC_PER_SEC);
}

static void test_parse_whitespace(void **state) {
        check_parse("  30s", 30 * USEC_PER_SEC);
        check_parse("30s  ", 30 * USEC_PER_SEC);
        check_parse("\t5min\t", 5 * USEC_PER_MINUTE);
        check_parse("5 min", 5 * USEC_PER_MINUTE);
        check_parse("1h  \t 30min", USEC_PER_HOUR + 30 * USEC_PER_MINUTE);
}

static void test_parse_refused(void **state) {
        check_refused("");
        check_refused("   ");
        /* Long names are refused on purpose: config.c turns this into a "try 5min" hint. */
        check_refused("5 minutes");
        check_refused("5minutes");
        check_refused("10 seconds");
        check_refused("2 hours");
        check_refused("1 day");
        check_refused("abc");
        check_refused("min");
        check_refused("-5s");
        check_refused("+5s");
        check_refused("5x");
        check_refused("5S");
        check_refused("1.5h");
        check_refused("5s,");
        check_refused("5s -1s");
}

static void test_parse_overflow(void **state) {
        check_refused("99999999999999999999s");
        check_refused("99999999999999999999");
        /* Fits in 64 bits as a number, not once multiplied into microseconds. */
        check_refused("18446744073709551615s");
        check_refused("30500569w");
        check_refused("20000000000000w");
        /* Each part fits, the sum does not. */
        check_refused("2000000000000s 2000000000000s 2000000000000s 2000000000000s 2000000000000s "
                      "2000000000000s 2000000000000s 2000000000000s 2000000000000s 2000000000000s");
        usec_t usec = 0;
        assert_int_equal(parse_sec("99999999999999999999s", &usec), -ERANGE);
        assert_int_equal(parse_sec("18446744073709551615us", &usec), 0);
        assert_int_equal(usec, UINT64_MAX);
}

static void test_format(void **state) {
        char buffer[64];

        assert_string_equal(format_timespan(buffer, sizeof(buffer), 0), "0");
        assert_string_equal(format_timespan(buffer, sizeof(buffer), 250 * USEC_PER_MSEC), "250ms");
        assert_string_equal(format_timespan(buffer, sizeof(buffer), 30 * USEC_PER_SEC), "30s");
        assert_string_equal(format_timespan(buffer, sizeof(buffer), 5 * USEC_PER_MINUTE), "5min");
        assert_string_equal(format_timespan(buffer, sizeof(buffer), USEC_PER_HOUR + 30 * USEC_PER_MINUTE),
                            "1h 30min");
        assert_string_equal(format_timespan(buffer, sizeof(buffer), 24 * USEC_PER_HOUR), "1d");
        assert_string_equal(format_timespan(buffer, sizeof(buffer), USEC_PER_DAY + 1), "1d 1us");
        /* Weeks are parsed but printed as days. */
        assert_string_equal(format_timespan(buffer, sizeof(buffer), USEC_PER_WEEK), "7d");
}

static void test_format_small_buffer(void **state) {
        char buffer[8];

        /* A zero-sized buffer is left alone. */
        buffer[0] = 'x';
        assert_ptr_equal(format_timespan(buffer, 0, USEC_PER_HOUR), buffer);
        assert_int_equal(buffer[0], 'x');

        /* Too small: whatever is written stays NUL-terminated inside the buffer. */
        memset(buffer, 'x', sizeof(buffer));
        format_timespan(buffer, 4, USEC_PER_DAY + USEC_PER_HOUR + USEC_PER_MINUTE);
        assert_true(strlen(buffer) < 4);
}

static void test_round_trip(void **state) {
        static const usec_t values[] = {
                1,
                999,
                USEC_PER_MSEC,
                1500 * USEC_PER_MSEC,
                59 * USEC_PER_SEC,
                90 * USEC_PER_SEC,
                5 * USEC_PER_MINUTE,
                USEC_PER_HOUR + 30 * USEC_PER_MINUTE,
                24 * USEC_PER_HOUR,
                USEC_PER_WEEK + USEC_PER_HOUR + 1,
                3650 * USEC_PER_DAY,
                UINT64_MAX,
        };
        char buffer[128];

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                usec_t parsed = 0;

                format_timespan(buffer, sizeof(buffer), values[i]);
                assert_int_equal(parse_sec(buffer, &parsed), 0);
                assert_int_equal(parsed, values[i]);
        }
}

static void test_parse_max(void **state) {
        usec_t usec = 0;

        assert_int_equal(parse_sec_max("1h", USEC_PER_HOUR, &usec), 0);
        assert_int_equal(usec, USEC_PER_HOUR);
        assert_int_equal(parse_sec_max("1h 1us", USEC_PER_HOUR, &usec), -ERANGE);
        assert_int_equal(usec, USEC_PER_HOUR); /* untouched on an error */
        assert_int_equal(parse_sec_max("18446744073709551615us", 365 * USEC_PER_DAY, &usec), -ERANGE);
        assert_int_equal(parse_sec_max("99999999999999999999s", 365 * USEC_PER_DAY, &usec), -ERANGE);
        assert_int_equal(parse_sec_max("5 minutes", USEC_PER_HOUR, &usec), -EINVAL);
        assert_int_equal(parse_sec_max("", USEC_PER_HOUR, &usec), -EINVAL);
        assert_int_equal(parse_sec_max("0", USEC_PER_HOUR, &usec), 0);
        assert_int_equal(usec, 0);
        assert_int_equal(parse_sec_max("18446744073709551615us", UINT64_MAX, &usec), 0);
        assert_int_equal(usec, UINT64_MAX);
}

static void test_usec_add_saturates(void **state) {
        assert_int_equal(usec_add(1, 2), 3);
        assert_int_equal(usec_add(UINT64_MAX - 1, 1), UINT64_MAX);
        assert_int_equal(usec_add(UINT64_MAX - 1, 2), UINT64_MAX);
        assert_int_equal(usec_add(UINT64_MAX, UINT64_MAX), UINT64_MAX);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_units),
                cmocka_unit_test(test_parse_bare_number_is_seconds),
                cmocka_unit_test(test_parse_combined),
                cmocka_unit_test(test_parse_whitespace),
                cmocka_unit_test(test_parse_refused),
                cmocka_unit_test(test_parse_overflow),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_format_small_buffer),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_parse_max),
                cmocka_unit_test(test_usec_add_saturates),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
