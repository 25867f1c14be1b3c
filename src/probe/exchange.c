/* SPDX-License-Identifier: MIT */
/* The exchange engine. Every buffer has a fixed bound, so a hostile listener can at most make the
 * exchange fail: more unconsumed bytes than the protocol's input_max end it with a message, never with
 * growth. The protocol's state is allocated with the exchange, so a probe costs the same allocations
 * whatever it speaks, and none per byte fed. */
#include <assert.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exchange.h"

#define OUTPUT_MAX 4096

struct Exchange {
        const Protocol *protocol;
        ExchangeStatus status;
        char *path;
        char *failure;
        ExchangeResult result;

        uint8_t output[OUTPUT_MAX];
        size_t output_length;
        size_t output_sent;

        uint8_t *input; /* bytes received and not yet consumed */
        size_t input_length;
        size_t input_capacity;

        max_align_t state[]; /* the protocol's, protocol->state_size bytes */
};

ExchangeStatus exchange_fail(Exchange *e, const char *format, ...) {
        va_list ap;

        assert(e);
        if (e->status != EXCHANGE_RUNNING)
                return e->status;
        va_start(ap, format);
        if (vasprintf(&e->failure, format, ap) < 0)
                e->failure = NULL;
        va_end(ap);
        e->status = EXCHANGE_FAILED;
        e->output_length = e->output_sent = 0; /* nothing more to say to a peer that failed us */
        return e->status;
}

ExchangeStatus exchange_succeed(Exchange *e) {
        assert(e);
        if (e->status == EXCHANGE_RUNNING)
                e->status = EXCHANGE_SUCCEEDED;
        return e->status;
}

bool exchange_queue(Exchange *e, const void *data, size_t n) {
        assert(e);
        if (e->output_length + n > sizeof(e->output))
                return false;
        memcpy(e->output + e->output_length, data, n);
        e->output_length += n;
        return true;
}

uint8_t *exchange_output_room(Exchange *e, size_t *ret_size) {
        assert(e);
        assert(ret_size);
        *ret_size = sizeof(e->output) - e->output_length;
        return e->output + e->output_length;
}

void exchange_queued(Exchange *e, size_t n) {
        assert(e);
        assert(n <= sizeof(e->output) - e->output_length);
        e->output_length += n;
}

const uint8_t *exchange_input_data(const Exchange *e, size_t *ret_size) {
        assert(e);
        assert(ret_size);
        *ret_size = e->input_length;
        return e->input;
}

void exchange_consume(Exchange *e, size_t n) {
        assert(e);
        assert(n <= e->input_length);
        memmove(e->input, e->input + n, e->input_length - n);
        e->input_length -= n;
}

ExchangeResult *exchange_result_mut(Exchange *e) {
        assert(e);
        return &e->result;
}

const char *exchange_path(const Exchange *e) {
        assert(e);
        return e->path;
}

ExchangeStatus exchange_input(Exchange *e, const uint8_t *data, size_t n) {
        assert(e);
        assert(data || n == 0);

        if (e->status != EXCHANGE_RUNNING)
                return e->status;

        while (n > 0) {
                size_t room = e->input_capacity - e->input_length;
                if (room == 0)
                        return exchange_fail(e, "the listener sent %zu bytes without a recognisable answer",
                                             e->input_length);
                size_t take = MIN(room, n);
                memcpy(e->input + e->input_length, data, take);
                e->input_length += take;
                data += take;
                n -= take;

                ExchangeStatus status = e->protocol->advance(e, e->state);
                if (status != EXCHANGE_RUNNING)
                        return status;
        }
        return EXCHANGE_RUNNING;
}

ExchangeStatus exchange_end_of_input(Exchange *e) {
        assert(e);
        if (e->status != EXCHANGE_RUNNING)
                return e->status;
        return exchange_fail(e, "%s", e->protocol->closed(e->state));
}

size_t exchange_output(const Exchange *e, const uint8_t **ret) {
        assert(e);
        assert(ret);
        *ret = e->output + e->output_sent;
        return e->output_length - e->output_sent;
}

void exchange_sent(Exchange *e, size_t n) {
        assert(e);
        e->output_sent = MIN(e->output_sent + n, e->output_length);
        if (e->output_sent == e->output_length)
                e->output_sent = e->output_length = 0;
}

ExchangeStatus exchange_status(const Exchange *e) {
        assert(e);
        return e->status;
}

const char *exchange_failure(const Exchange *e) {
        assert(e);
        return e->status == EXCHANGE_FAILED ? (e->failure ?: "the exchange failed") : NULL;
}

const ExchangeResult *exchange_result(const Exchange *e) {
        assert(e);
        return &e->result;
}

const Protocol *exchange_protocol(const Exchange *e) {
        assert(e);
        return e->protocol;
}

int exchange_new(const ExchangeSettings *settings, Exchange **ret) {
        _cleanup_(exchange_freep) Exchange *e = NULL;
        const Protocol *protocol;
        int r;

        assert(settings);
        assert(ret);

        protocol = settings->protocol;
        if (!protocol || !protocol->start || !protocol->advance || !protocol->closed)
                return -EINVAL; /* tls: nothing to exchange */

        e = calloc(1, sizeof(Exchange) + protocol->state_size);
        if (!e)
                return -ENOMEM;
        e->protocol = protocol;
        e->result = (ExchangeResult) { .http_status = -1, .connack = -1, .mqtt_version = -1 };
        if (settings->path || protocol->default_path) {
                e->path = strdup(settings->path ?: protocol->default_path);
                if (!e->path)
                        return -ENOMEM;
        }
        e->input_capacity = protocol->input_max;
        e->input = malloc(e->input_capacity);
        if (!e->input)
                return -ENOMEM;

        r = protocol->start(e, e->state, settings);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

Exchange *exchange_free(Exchange *e) {
        if (!e)
                return NULL;
        /* A half-built exchange's state is zeroed, which every done() accepts. */
        if (e->protocol->done)
                e->protocol->done(e->state);
        free(e->path);
        free(e->failure);
        /* The output may hold a password (an MQTT CONNECT): do not leave it in freed memory. */
        OPENSSL_cleanse(e->output, sizeof(e->output));
        free(e->input);
        free(e);
        return NULL;
}
