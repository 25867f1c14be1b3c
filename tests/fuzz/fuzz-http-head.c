/* SPDX-License-Identifier: MIT */
/* Fuzzes the HTTP response-head parser: the status line and whole head alone, then the https
 * exchange (GET sent, interim answers skipped, the final status judged against ExpectStatus=). */
#include <string.h>

#include "fuzz-exchange.h"
#include "fuzz.h"
#include "proto-http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        HttpResponseHead head;
        HttpExpect expect;
        int status;

        (void) proto_http_parse_status_line((const char *) data, size, &status);
        if (proto_http_parse_head((const char *) data, size, &head) == 1) {
                (void) strlen(head.upgrade);
                (void) strlen(head.websocket_accept);
                (void) strlen(head.websocket_protocol);
        }

        /* The input's first line, if short, is also tried as an ExpectStatus= value. */
        const uint8_t *newline = memchr(data, '\n', size < 128 ? size : 128);
        if (newline) {
                char text[128];

                memcpy(text, data, newline - data);
                text[newline - data] = '\0';
                if (proto_http_parse_expect(text, &expect) == 0)
                        (void) proto_http_status_expected(&expect, 200);
        }

        ExchangeSettings settings = {
                .protocol = &protocol_https,
                .authority = "[::1]:18084",
                .path = "/api/v5/status",
                .expect_status = "2xx 301",
        };
        fuzz_exchange_run(&settings, data, size);
        return 0;
}
