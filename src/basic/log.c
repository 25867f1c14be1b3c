/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr, prefixed with the program name. The daemon will route the same calls
 * to the journal; the format string may use %m for the error passed in. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_WARNING;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

/* systemd.exec(5): $JOURNAL_STREAM holds "DEVICE:INODE" of the stream it connected; only if that is
 * our stderr (not a variable inherited by a shell) do lines go to the journal. */
static bool stderr_is_journal(void) {
        static int cached = -1;
        const char *value = getenv("JOURNAL_STREAM");
        unsigned long long device, inode;
        char *end = NULL;
        struct stat st;

        if (cached >= 0)
                return cached;
        /* strtoull, not sscanf: an out-of-range number in the environment is then an error, not UB. */
        errno = 0;
        device = value ? strtoull(value, &end, 10) : 0;
        inode = end && *end == ':' ? strtoull(end + 1, &end, 10) : 0;
        cached = value && errno == 0 && end && end != value && *end == '\0' && fstat(STDERR_FILENO, &st) == 0 &&
                 (unsigned long long) st.st_dev == device && (unsigned long long) st.st_ino == inode;
        return cached;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        va_list ap;

        if (level > max_level)
                return error;

        /* %m in the format refers to the error we were given, or else to errno as the caller left it,
         * not to whatever the prefix below leaves in errno (stderr_is_journal() clears it). */
        int saved_errno = errno;
        int message_errno = error != 0 ? (error < 0 ? -error : error) : saved_errno;

        /* On a journal stream (systemd sets $JOURNAL_STREAM), a "<N>" prefix carries the priority,
         * so `journalctl -p err` finds our errors; in a terminal the program name reads better. */
        if (stderr_is_journal())
                fprintf(stderr, "<%d>", level);
        else
                fprintf(stderr, "%s: ", program_invocation_short_name);
        if (level >= LOG_DEBUG)
                fprintf(stderr, "(%s:%i) ", file, line);
        errno = message_errno;
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);

        errno = saved_errno;
        return error;
}
