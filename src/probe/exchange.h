/* SPDX-License-Identifier: MIT */
/* The application exchange after the TLS handshake, as a pure state machine: it says what to send,
 * is fed what arrives, and decides. What is said and how the answer is judged belongs to the protocol
 * (protocol.h, one protocol-NAME.c each); this module owns the bounded buffers, the verdict and the
 * goodbye. No sockets here, so every step is unit-tested and fuzzed with plain buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "protocol.h"

/* What one exchange is told: a borrowed view of the probe's settings plus what the connection knows
 * (the Host header's authority) and the password read beside the settings. Nothing here is owned. */
struct ExchangeSettings {
        const Protocol *protocol; /* one with a start() operation */
        const char *authority;    /* for Host: "name", "name:port", "[v6]:port" */
        const char *path;         /* NULL: the protocol's default_path */
        int mqtt_version;         /* 4 (3.1.1, default) or 5 */
        const char *client_id;    /* NULL: "tlswatch-" and 8 random hex digits */
        const char *username;     /* NULL: none */
        const char *password;
        bool expect_accept;       /* a refused CONNACK is a failure, not information */
        const char *expect_status; /* https: "200", "2xx 301", ...; NULL: any 2xx or 3xx */
};

/* What the application answered, for the report. -1 where it does not apply. */
struct ExchangeResult {
        int http_status;
        int connack;
        int mqtt_version;
        const char *connack_text; /* static */
        char websocket_protocol[64];
};

int exchange_new(const ExchangeSettings *settings, Exchange **ret);
Exchange *exchange_free(Exchange *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Exchange *, exchange_free);

/* The bytes to send now (possibly none); call exchange_sent() with how many went out. After the
 * exchange succeeded, what is left here is the polite goodbye (DISCONNECT, close frame). */
size_t exchange_output(const Exchange *e, const uint8_t **ret);
void exchange_sent(Exchange *e, size_t n);

/* Feeds received bytes. Once it returns SUCCEEDED or FAILED, further input is ignored. */
ExchangeStatus exchange_input(Exchange *e, const uint8_t *data, size_t n);

/* The peer closed the connection: fails unless the exchange already decided. */
ExchangeStatus exchange_end_of_input(Exchange *e);

ExchangeStatus exchange_status(const Exchange *e);
const char *exchange_failure(const Exchange *e); /* a sentence for the operator, NULL unless FAILED */
const ExchangeResult *exchange_result(const Exchange *e);
const Protocol *exchange_protocol(const Exchange *e);

/* For protocol implementations. */

/* Appends to the output; false when it would not fit (OUTPUT_MAX). */
bool exchange_queue(Exchange *e, const void *data, size_t n);
/* Room to build output in place; exchange_queued() then says how much was written there. */
uint8_t *exchange_output_room(Exchange *e, size_t *ret_size);
void exchange_queued(Exchange *e, size_t n);
/* The received bytes not yet consumed, and consuming a prefix of them. */
const uint8_t *exchange_input_data(const Exchange *e, size_t *ret_size);
void exchange_consume(Exchange *e, size_t n);
ExchangeResult *exchange_result_mut(Exchange *e);
const char *exchange_path(const Exchange *e); /* the request path in use, NULL without one */
/* The verdicts. After exchange_fail() nothing more is sent; after exchange_succeed() the protocol may
 * still queue its goodbye. */
ExchangeStatus exchange_fail(Exchange *e, const char *format, ...) _printf_(2, 3);
ExchangeStatus exchange_succeed(Exchange *e);
