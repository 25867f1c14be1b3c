/* SPDX-License-Identifier: MIT */
/* The slice of HTTP/1.1 the https probe needs: a GET request and the status line of the answer.
 * Pure functions over byte buffers. */
#pragma once

#include <stddef.h>

/* Formats "GET path HTTP/1.1" with Host and Connection: close. Returns the length, or -ENOBUFS. */
int proto_http_build_get(const char *host, const char *path, char *buffer, size_t size);

/* Returns 0 when more bytes are needed, 1 with the status code, -EBADMSG when the answer is not HTTP. */
int proto_http_parse_status_line(const char *data, size_t size, int *ret_status);
