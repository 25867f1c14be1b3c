/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 request formatting and status-line parsing (RFC 9112 §4) for the https probe. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto-http.h"

int proto_http_build_get(const char *host, const char *path, char *buffer, size_t size) {
        int n = snprintf(buffer, size,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlswatch/" PACKAGE_VERSION
                         "\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                         path, host);
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
        *ret_status = status;
        return 1;
}
