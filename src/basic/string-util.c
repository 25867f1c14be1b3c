/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and control-character masking for text from the network (RFC 3629 §4 decides what
 * is a valid sequence: no overlongs, no surrogates, nothing above U+10FFFF). */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "string-util.h"

/* Length of the valid UTF-8 sequence at `s` (at most `n` bytes available), or 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t codepoint;
        size_t length;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                length = 2;
                codepoint = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                length = 3;
                codepoint = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                length = 4;
                codepoint = s[0] & 0x07;
        } else
                return 0;

        if (length > n)
                return 0;
        for (size_t i = 1; i < length; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                codepoint = (codepoint << 6) | (s[i] & 0x3f);
        }
        if ((length == 2 && codepoint < 0x80) || (length == 3 && codepoint < 0x800) ||
            (length == 4 && codepoint < 0x10000) || codepoint > 0x10ffff ||
            (codepoint >= 0xd800 && codepoint <= 0xdfff))
                return 0;
        return length;
}

char *text_sanitize(const char *data, size_t length, size_t max_bytes) {
        const unsigned char *s = (const unsigned char *) data;
        size_t limit = max_bytes < 4 ? 4 : max_bytes;
        char *result = malloc(limit + 1);
        size_t used = 0;

        if (!result)
                return NULL;

        for (size_t i = 0; i < length;) {
                size_t n = utf8_sequence_length(s + i, length - i);
                const unsigned char *piece = s + i;
                unsigned char replacement = '?';

                if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
                        piece = &replacement;
                        n = n == 0 ? 1 : n;
                        i += n;
                        n = 1;
                } else
                        i += n;

                /* Keep room for "..." in case more follows. */
                if (used + n > limit - 3 && (i < length || used + n > limit)) {
                        memcpy(result + used, "...", 3);
                        used += 3;
                        break;
                }
                memcpy(result + used, piece, n);
                used += n;
        }
        result[used] = '\0';
        return result;
}

void utf8_cut_incomplete_tail(char *s) {
        size_t length = strlen(s);

        /* Look back at most 3 continuation bytes for the start of the last character. */
        for (size_t back = 1; back <= 4 && back <= length; back++) {
                unsigned char c = (unsigned char) s[length - back];
                if ((c & 0xc0) == 0x80)
                        continue; /* a continuation byte: keep looking */
                if (c >= 0xc0 && utf8_sequence_length((const unsigned char *) s + length - back, back) == 0)
                        s[length - back] = '\0';
                return;
        }
}

int error_message(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return error;
}
