/* SPDX-License-Identifier: MIT */
/* The application exchange after the TLS handshake, as a pure state machine: it says what to send,
 * is fed what arrives, and decides. mqtt: CONNECT -> CONNACK -> DISCONNECT. https: GET -> response
 * head. wss: upgrade -> 101 -> CONNECT in a WebSocket frame -> CONNACK -> DISCONNECT and close.
 * No sockets here, so every step is unit-tested and fuzzed with plain buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "probe.h"

typedef struct ExchangeSettings {
        Protocol protocol;     /* mqtt, wss or https */
        const char *authority; /* for Host: "name", "name:port", "[v6]:port" */
        const char *path;      /* NULL: "/" for https, "/mqtt" for wss */
        int mqtt_version;      /* 4 (3.1.1, default) or 5 */
        const char *client_id; /* NULL: "tlswatch-" and 8 random hex digits */
        const char *username;  /* NULL: none */
        const char *password;
        bool expect_accept;    /* a refused CONNACK is a failure, not information */
        const char *expect_status; /* https: "200", "2xx 301", ...; NULL: any 2xx or 3xx */
} ExchangeSettings;

typedef enum ExchangeStatus {
        EXCHANGE_RUNNING,
        EXCHANGE_SUCCEEDED,
        EXCHANGE_FAILED,
} ExchangeStatus;

/* What the application answered, for the report. -1 where it does not apply. */
typedef struct ExchangeResult {
        int http_status;
        int connack;
        int mqtt_version;
        const char *connack_text; /* static */
        char websocket_protocol[64];
} ExchangeResult;

typedef struct Exchange Exchange;

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
