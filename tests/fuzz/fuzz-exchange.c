/* SPDX-License-Identifier: MIT */
/* The fuzz targets' common driver of an Exchange: send what it wants to send, feed the listener's
 * bytes in pieces, then the end of input, and read every result field a report would. */
#include <string.h>

#include "fuzz-exchange.h"

static void take_output(Exchange *e) {
        const uint8_t *output;
        size_t n = exchange_output(e, &output);

        exchange_sent(e, n);
}

void fuzz_exchange_feed(Exchange *e, const uint8_t *data, size_t size) {
        size_t piece;

        if (size == 0)
                return;
        piece = data[0] ? data[0] : size;
        data++;
        size--;

        take_output(e);
        while (size > 0 && exchange_status(e) == EXCHANGE_RUNNING) {
                size_t n = piece < size ? piece : size;

                (void) exchange_input(e, data, n);
                take_output(e);
                data += n;
                size -= n;
        }
        (void) exchange_end_of_input(e);
        take_output(e);

        const ExchangeResult *result = exchange_result(e);
        const char *failure = exchange_failure(e);
        /* Read every string, so one left unterminated or dangling shows up under ASan. */
        if (failure)
                (void) strlen(failure);
        if (result->connack_text)
                (void) strlen(result->connack_text);
        (void) strlen(result->websocket_protocol);
}

void fuzz_exchange_run(const ExchangeSettings *settings, const uint8_t *data, size_t size) {
        _cleanup_(exchange_freep) Exchange *e = NULL;

        if (exchange_new(settings, &e) < 0)
                return;
        fuzz_exchange_feed(e, data, size);
}
