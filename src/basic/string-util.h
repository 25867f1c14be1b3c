/* SPDX-License-Identifier: MIT */
/* Strings for people: making untrusted bytes (certificate names, peer answers) safe to show (valid UTF-8,
 * no control characters, bounded length), and the one-line messages parsers hand to their callers. */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Returns a new string from `length` bytes of `data`: invalid UTF-8, NUL and control characters become
 * '?', and a result longer than `max_bytes` is cut at a character boundary and ends in "...".
 * NULL only when out of memory. */
char *text_sanitize(const char *data, size_t length, size_t max_bytes);

/* Drops an incomplete UTF-8 sequence from the end of `s`, as a byte-bounded snprintf() may leave. */
void utf8_cut_incomplete_tail(char *s);

/* Sets *ret_error to the formatted sentence (NULL when out of memory) and returns `error`, for parsers
 * that hand a message to the caller instead of logging. */
int error_message(char **ret_error, int error, const char *format, ...) _printf_(3, 4);
