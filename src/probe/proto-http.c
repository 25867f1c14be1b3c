/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 request formatting and status-line parsing (RFC 9112 §4) for the https probe. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto-http.h"

int proto_http_build_get(const char *authority, const char *path, char *buffer, size_t size) {
        int n = snprintf(buffer, size,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlswatch/" PACKAGE_VERSION
                         "\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                         path, authority);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int proto_http_parse_status_line(const char *data, size_t size, int *ret_status) {
        static const char prefix[] = "HTTP/1.";
        size_t prefix_length = sizeof(prefix) - 1;

        /* Reject as early as the bytes allow, so a non-HTTP peer fails fast instead of at the deadline. */
        if (memcmp(data, prefix, size < prefix_length ? size : prefix_length) != 0)
                return -EBADMSG;
        /* "HTTP/1.x SSS" */
        if (size < prefix_length + 5)
                return 0;
        const char *p = data + prefix_length;
        if (p[0] < '0' || p[0] > '9' || p[1] != ' ')
                return -EBADMSG;
        int status = 0;
        for (int i = 2; i < 5; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -EBADMSG;
                status = status * 10 + (p[i] - '0');
        }
        if (status < 100)
                return -EBADMSG;
        /* Exactly three digits, then SP (RFC 9112 §4); "2000" is not 200. */
        if (size < prefix_length + 6)
                return 0;
        if (p[5] != ' ' && p[5] != '\r')
                return -EBADMSG;
        *ret_status = status;
        return 1;
}

/* Copies a header value without its surrounding blanks, cut to the field's size. */
static void copy_value(char *field, size_t field_size, const char *value, size_t length) {
        while (length > 0 && (*value == ' ' || *value == '\t')) {
                value++;
                length--;
        }
        while (length > 0 && (value[length - 1] == ' ' || value[length - 1] == '\t'))
                length--;
        if (length >= field_size)
                length = field_size - 1;
        memcpy(field, value, length);
        field[length] = '\0';
}

int proto_http_parse_head(const char *data, size_t size, HttpResponseHead *ret) {
        HttpResponseHead head = {};
        const char *end = NULL;
        int r;

        r = proto_http_parse_status_line(data, size, &head.status);
        if (r <= 0)
                return r < 0 ? r : (size >= PROTO_HTTP_HEAD_MAX ? -E2BIG : 0);

        /* The head ends at the first empty line (RFC 9112 §2.1). */
        size_t limit = size < PROTO_HTTP_HEAD_MAX ? size : PROTO_HTTP_HEAD_MAX;
        for (size_t i = 0; i + 3 < limit; i++)
                if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
                        end = data + i;
                        break;
                }
        if (!end)
                return size >= PROTO_HTTP_HEAD_MAX ? -E2BIG : 0;
        head.length = (size_t) (end - data) + 4;

        /* Header lines lie between the status line's CRLF and the CRLF that ends the last of them. */
        const char *headers_end = end + 2;
        const char *line = memchr(data, '\r', (size_t) (headers_end - data));
        if (!line || line[1] != '\n')
                return -EBADMSG;
        for (const char *c = data; c < line; c++)
                if (((unsigned char) *c < 0x20 && *c != '\t') || *c == 0x7f)
                        return -EBADMSG; /* also a bare LF that would swallow the next line */
        line += 2;
        while (line < headers_end) {
                const char *line_end = memchr(line, '\r', (size_t) (headers_end - line));
                if (!line_end || line_end[1] != '\n')
                        return -EBADMSG;
                const char *colon = memchr(line, ':', (size_t) (line_end - line));
                if (!colon || colon == line)
                        return -EBADMSG;
                for (const char *c = line; c < line_end; c++)
                        if (((unsigned char) *c < 0x20 && *c != '\t') || *c == 0x7f)
                                return -EBADMSG;

                size_t name_length = (size_t) (colon - line);
                const char *value = colon + 1;
                size_t value_length = (size_t) (line_end - value);
                if (name_length == 7 && strncasecmp(line, "Upgrade", 7) == 0)
                        copy_value(head.upgrade, sizeof(head.upgrade), value, value_length);
                else if (name_length == 20 && strncasecmp(line, "Sec-WebSocket-Accept", 20) == 0)
                        copy_value(head.websocket_accept, sizeof(head.websocket_accept), value, value_length);
                else if (name_length == 22 && strncasecmp(line, "Sec-WebSocket-Protocol", 22) == 0)
                        copy_value(head.websocket_protocol, sizeof(head.websocket_protocol), value, value_length);
                line = line_end + 2;
        }

        *ret = head;
        return 1;
}

int proto_http_parse_expect(const char *text, HttpExpect *ret) {
        HttpExpect expect = {};
        const char *p = text;

        for (;;) {
                p += strspn(p, " \t,");
                if (!*p)
                        break;
                size_t n = strcspn(p, " \t,");
                if (n != 3 || p[0] < '1' || p[0] > '5' || expect.n_ranges >= 16)
                        return -EINVAL;
                if (p[1] == 'x' && p[2] == 'x')
                        expect.ranges[expect.n_ranges] = (typeof(expect.ranges[0])) { (p[0] - '0') * 100, (p[0] - '0') * 100 + 99 };
                else if (p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9') {
                        int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
                        expect.ranges[expect.n_ranges] = (typeof(expect.ranges[0])) { code, code };
                } else
                        return -EINVAL;
                expect.n_ranges++;
                p += n;
        }
        if (expect.n_ranges == 0)
                return -EINVAL;
        *ret = expect;
        return 0;
}

bool proto_http_status_expected(const HttpExpect *expect, int status) {
        if (!expect || expect->n_ranges == 0)
                return status >= 200 && status < 400;
        for (size_t i = 0; i < expect->n_ranges; i++)
                if (status >= expect->ranges[i].low && status <= expect->ranges[i].high)
                        return true;
        return false;
}
