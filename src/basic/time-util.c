/* SPDX-License-Identifier: MIT */
/* systemd-style time spans: us, ms, s/sec, m/min, h/hr, d, w, several parts added up ("1h 30min").
 * Only the short unit names are accepted, so "5 minutes" is refused with a hint instead of guessed. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "time-util.h"

static const struct {
        const char *suffix;
        usec_t usec;
} units[] = {
        /* Longer suffixes first where one is a prefix of another ("min" before "m", "ms" before "m"). */
        { "usec", 1 },
        { "us", 1 },
        { "msec", USEC_PER_MSEC },
        { "ms", USEC_PER_MSEC },
        { "sec", USEC_PER_SEC },
        { "s", USEC_PER_SEC },
        { "min", USEC_PER_MINUTE },
        { "m", USEC_PER_MINUTE },
        { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
        { "w", USEC_PER_WEEK },
};

int parse_sec(const char *text, usec_t *ret) {
        const char *p = text;
        usec_t total = 0;
        bool any = false;

        for (;;) {
                char *end;
                unsigned long long value;
                usec_t multiplier = USEC_PER_SEC;
                size_t suffix_length = 0;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;

                errno = 0;
                value = strtoull(p, &end, 10);
                if (errno != 0)
                        return -ERANGE;
                p = end;
                p += strspn(p, " \t");

                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t n = strlen(units[i].suffix);
                        if (strncmp(p, units[i].suffix, n) == 0 && !isalpha((unsigned char) p[n])) {
                                multiplier = units[i].usec;
                                suffix_length = n;
                                break;
                        }
                }
                if (suffix_length == 0 && isalpha((unsigned char) *p))
                        return -EINVAL;
                p += suffix_length;

                if (value > UINT64_MAX / multiplier || total > UINT64_MAX - value * multiplier)
                        return -ERANGE;
                total += value * multiplier;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

int parse_sec_max(const char *text, usec_t max, usec_t *ret) {
        usec_t usec;
        int r = parse_sec(text, &usec);

        if (r < 0)
                return r;
        if (usec > max)
                return -ERANGE;
        *ret = usec;
        return 0;
}

char *format_timespan(char *buffer, size_t size, usec_t usec) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } parts[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t used = 0;

        if (size == 0)
                return buffer;
        buffer[0] = '\0';
        if (usec == 0) {
                snprintf(buffer, size, "0");
                return buffer;
        }
        for (size_t i = 0; i < ELEMENTSOF(parts) && usec > 0; i++) {
                usec_t n = usec / parts[i].usec;
                if (n == 0)
                        continue;
                usec -= n * parts[i].usec;
                int w = snprintf(buffer + used, size - used, "%s%llu%s", used ? " " : "", (unsigned long long) n,
                                 parts[i].suffix);
                if (w < 0 || (size_t) w >= size - used)
                        break;
                used += (size_t) w;
        }
        return buffer;
}

char *format_timestamp_rfc3339(char *buffer, size_t size, int64_t seconds) {
        time_t t = (time_t) seconds;
        struct tm tm;

        if ((int64_t) t != seconds || !gmtime_r(&t, &tm) || strftime(buffer, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buffer, size, "invalid");
        return buffer;
}

int64_t parse_timestamp_rfc3339(const char *text) {
        struct tm tm = {};
        const char *end = text && *text ? strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

        return end && !*end ? (int64_t) timegm(&tm) : -1;
}
