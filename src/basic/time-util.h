/* SPDX-License-Identifier: MIT */
/* Durations in systemd's notation ("30s", "5min", "1h 30min", "1d") and their formatting. All times
 * inside the program are usec_t microseconds; this is the only place that knows the units' names. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef uint64_t usec_t;

#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define USEC_PER_WEEK (7ULL * USEC_PER_DAY)

/* Parses "90", "90s", "1min 30s", "500ms", "2h", "1d", "1w". A bare number means seconds.
 * Returns 0 or -EINVAL (also for an empty string) or -ERANGE. */
int parse_sec(const char *text, usec_t *ret);

/* The same, and -ERANGE above `max`: every duration a user gives has a ceiling, so that adding it to
 * a point in time can never wrap. */
int parse_sec_max(const char *text, usec_t max, usec_t *ret);

/* Room for any usec_t formatted by format_timespan(). */
#define FORMAT_TIMESPAN_MAX 64

/* Formats as the largest units that fit, e.g. "1h 30min", "250ms", "0". */
char *format_timespan(char *buffer, size_t size, usec_t usec);

/* Formats Unix seconds as RFC 3339 in UTC, "2027-02-24T23:54:55Z", the one form of a point in time
 * that every document shows. Returns `buffer` (at least 32 bytes; "invalid" if out of range). */
char *format_timestamp_rfc3339(char *buffer, size_t size, int64_t seconds);

/* The inverse, for exactly that form: Unix seconds, or -1 for NULL, "" or anything else. */
int64_t parse_timestamp_rfc3339(const char *text);

/* a + b, or UINT64_MAX where the sum would wrap: a delay near usec_t's limit means never, not the past. */
static inline usec_t usec_add(usec_t a, usec_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}
