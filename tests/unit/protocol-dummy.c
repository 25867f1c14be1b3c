/* SPDX-License-Identifier: MIT */
/* A protocol that exists only in the test tree: it sends its path reversed, one line, and expects the
 * path back, which is what `openssl s_server -rev` answers. With protocol-table-dummy.c it is all a new
 * protocol takes: this file and one row. */
#include <stdio.h>
#include <string.h>

#include "exchange.h"

#define DUMMY_LINE_MAX 256

typedef enum DummyState {
        DUMMY_WAITING, /* for the line back */
} DummyState;

typedef struct Dummy {
        DummyState state;
} Dummy;

static int dummy_start(Exchange *e, void *state, const ExchangeSettings *settings) {
        const char *path = exchange_path(e);
        char line[DUMMY_LINE_MAX];
        size_t n = strlen(path);

        if (n + 1 > sizeof(line))
                return -ENOBUFS;
        for (size_t i = 0; i < n; i++)
                line[i] = path[n - 1 - i];
        line[n] = '\n';
        return exchange_queue(e, line, n + 1) ? 0 : -ENOBUFS;
}

static ExchangeStatus dummy_advance(Exchange *e, void *state) {
        const char *path = exchange_path(e);
        size_t n;
        const uint8_t *input = exchange_input_data(e, &n);
        const uint8_t *newline = memchr(input, '\n', n);

        if (!newline)
                return EXCHANGE_RUNNING;
        if ((size_t) (newline - input) != strlen(path) || memcmp(input, path, strlen(path)) != 0)
                return exchange_fail(e, "the listener did not reverse \"%s\"", path);
        return exchange_succeed(e);
}

static const char *dummy_closed(const void *state) {
        return "the listener closed the connection without reversing the line";
}

static int dummy_describe(const ExchangeResult *result, char **ret) {
        *ret = strdup("dummy: reversed");
        return *ret ? 0 : -ENOMEM;
}

const Protocol protocol_dummy = {
        .name = "dummy",
        .ports = { 7 }, /* echo(7), near enough */
        .default_path = "olleh",
        .state_size = sizeof(Dummy),
        .input_max = DUMMY_LINE_MAX,
        .start = dummy_start,
        .advance = dummy_advance,
        .closed = dummy_closed,
        .describe = dummy_describe,
};
