/* SPDX-License-Identifier: MIT */
/* The slice of HTTP/1.1 the https and wss probes need: a GET (or WebSocket upgrade) request and a
 * strict, bounded parser of the response head. Pure functions over byte buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A response head larger than this is refused rather than buffered (RFC 9112 leaves the limit to us). */
#define PROTO_HTTP_HEAD_MAX (16 * 1024)

typedef struct HttpResponseHead {
        int status;
        size_t length; /* bytes of the head, blank line included; what follows is the body */
        char upgrade[32];
        char websocket_accept[64];
        char websocket_protocol[64];
} HttpResponseHead;

/* Which final statuses count as success: up to 16 codes ("200") or classes ("2xx"). Empty: 2xx and 3xx. */
typedef struct HttpExpect {
        struct {
                int low, high;
        } ranges[16];
        size_t n_ranges;
} HttpExpect;

/* Parses "200", "2xx 301", "200,204". Returns 0 or -EINVAL. */
int proto_http_parse_expect(const char *text, HttpExpect *ret);
bool proto_http_status_expected(const HttpExpect *expect, int status);

/* Formats "GET path HTTP/1.1" with Host and Connection: close. Returns the length, or -ENOBUFS. */
int proto_http_build_get(const char *authority, const char *path, char *buffer, size_t size);

/* Returns 0 when more bytes are needed, 1 with the status code, -EBADMSG when the answer is not HTTP. */
int proto_http_parse_status_line(const char *data, size_t size, int *ret_status);

/* Parses a whole response head. Returns 0 when more bytes are needed, 1 when complete, -EBADMSG when
 * it is not HTTP or malformed, -E2BIG when it grows past PROTO_HTTP_HEAD_MAX without ending. */
int proto_http_parse_head(const char *data, size_t size, HttpResponseHead *ret);
