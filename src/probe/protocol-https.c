/* SPDX-License-Identifier: MIT */
/* https: GET -> the response head, judged against ExpectStatus= (any 2xx or 3xx by default). Interim
 * answers (RFC 9110 §15.2) are skipped; the head and its parsing are proto-http.c's. */
#include <assert.h>
#include <stdio.h>

#include "exchange.h"
#include "proto-http.h"

typedef struct Https {
        HttpExpect expect_status;
} Https;

static int https_start(Exchange *e, void *state, const ExchangeSettings *settings) {
        Https *h = state;
        char buffer[4096];
        int n;

        if (settings->expect_status && proto_http_parse_expect(settings->expect_status, &h->expect_status) < 0)
                return -EINVAL;
        n = proto_http_build_get(settings->authority, exchange_path(e), buffer, sizeof(buffer));
        if (n < 0 || !exchange_queue(e, buffer, (size_t) n))
                return -ENOBUFS;
        return 0;
}

static ExchangeStatus https_advance(Exchange *e, void *state) {
        Https *h = state;
        HttpResponseHead head;
        size_t n;
        const uint8_t *input = exchange_input_data(e, &n);
        int r = proto_http_parse_head((const char *) input, n, &head);

        /* Interim answers (103 Early Hints) come before the final one: skip them. The input bound
         * bounds how many there can be. */
        while (r > 0 && head.status >= 100 && head.status < 200) {
                exchange_consume(e, head.length);
                input = exchange_input_data(e, &n);
                r = proto_http_parse_head((const char *) input, n, &head);
        }
        if (r == 0)
                return EXCHANGE_RUNNING;
        if (r == -E2BIG)
                return exchange_fail(e, "the HTTP response head is larger than %d KiB", PROTO_HTTP_HEAD_MAX / 1024);
        if (r < 0)
                return exchange_fail(e, "the listener's answer to an HTTP request is not HTTP: is this port an HTTPS listener?");

        exchange_result_mut(e)->http_status = head.status;
        if (!proto_http_status_expected(&h->expect_status, head.status))
                return exchange_fail(e, "HTTP %d on %s: %s", head.status, exchange_path(e),
                                     head.status >= 500                ? "the service behind the listener is failing"
                                     : h->expect_status.n_ranges > 0 ? "not one of the expected statuses"
                                                                     : "expected a 2xx or 3xx answer");
        return exchange_succeed(e);
}

static const char *https_closed(const void *state) {
        return "the listener closed the connection without answering the HTTP request";
}

static int https_describe(const ExchangeResult *result, char **ret) {
        assert(result);
        assert(ret);

        *ret = NULL;
        if (result->http_status < 0)
                return 0;
        if (asprintf(ret, "HTTP %d", result->http_status) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

const Protocol protocol_https = {
        .name = "https",
        .ports = { 18084, 443 },
        .default_path = "/",
        .state_size = sizeof(Https),
        .input_max = PROTO_HTTP_HEAD_MAX,
        .start = https_start,
        .advance = https_advance,
        .closed = https_closed,
        .describe = https_describe,
};
