/* SPDX-License-Identifier: MIT */
/* log_internal(): %m names the error the caller meant, the one passed in or errno as the failing call
 * left it, even on the first message, when deciding whether stderr is the journal clears errno. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs `emit` with stderr sent to a temporary file and returns what it wrote. */
static char *capture_stderr(void (*emit)(void)) {
        char *text = calloc(1, 4096);
        FILE *capture = tmpfile();
        int saved;

        assert_non_null(text);
        assert_non_null(capture);
        assert_int_equal(fflush(stderr), 0);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
        emit();
        assert_int_equal(fflush(stderr), 0);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        rewind(capture);
        (void) !fread(text, 1, 4095, capture);
        fclose(capture);
        return text;
}

static void emit_errno(void) {
        errno = EACCES;
        log_warning("state directory /x is not writable (%m)");
}

static void emit_given_error(void) {
        errno = 0;
        (void) log_warning_errno(-ENOSPC, "cannot save: %m");
}

static void test_first_message_keeps_errno(void **state) {
        (void) state;
        /* The first message of the process: stderr_is_journal() runs, and must not turn %m into
         * "Success" (the message operators saw for an unwritable state directory). */
        unsetenv("JOURNAL_STREAM");
        char *text = capture_stderr(emit_errno);
        assert_non_null(strstr(text, strerror(EACCES)));
        assert_null(strstr(text, "Success"));
        free(text);
}

static void test_given_error_wins(void **state) {
        (void) state;
        char *text = capture_stderr(emit_given_error);
        assert_non_null(strstr(text, strerror(ENOSPC)));
        free(text);
}

static void test_errno_restored(void **state) {
        (void) state;
        errno = EPIPE;
        log_set_max_level(LOG_DEBUG);
        char *text = capture_stderr(emit_given_error);
        free(text);
        errno = EPIPE;
        (void) log_warning_errno(-ENOSPC, "x");
        assert_int_equal(errno, EPIPE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_message_keeps_errno),
                cmocka_unit_test(test_given_error_wins),
                cmocka_unit_test(test_errno_restored),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
