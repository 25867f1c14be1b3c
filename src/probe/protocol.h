/* SPDX-License-Identifier: MIT */
/* The protocols a probe speaks after the TLS handshake, each a record of a name and operations (in the
 * style of relayd's per-check validate_read and inadyn's provider records). The list of them is
 * protocol_table[] in protocol-table.c and nowhere else: option parsing, config keys, messages and the
 * help text all read it, so a new protocol over TLS is one protocol-NAME.c file plus one row there. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Exchange Exchange;
typedef struct ExchangeSettings ExchangeSettings;
typedef struct ExchangeResult ExchangeResult;

typedef enum ExchangeStatus {
        EXCHANGE_RUNNING,
        EXCHANGE_SUCCEEDED,
        EXCHANGE_FAILED,
} ExchangeStatus;

#define PROTOCOL_PORTS_MAX 2

typedef struct Protocol {
        const char *name;                    /* in configs, on command lines and in reports */
        uint16_t ports[PROTOCOL_PORTS_MAX];  /* listener ports that imply this protocol; 0 ends the list */
        const char *default_path;            /* request path when none is set; NULL: no path */
        size_t state_size;                   /* bytes of per-exchange state, allocated with the exchange */
        size_t input_max;                    /* the most unconsumed input an answer may need */

        /* Sets up `state` (zeroed, state_size bytes) and queues the first request. NULL for a protocol
         * with nothing to say after the handshake (tls). Returns 0 or -errno. */
        int (*start)(Exchange *e, void *state, const ExchangeSettings *settings);
        /* Judges the unconsumed input (exchange_input_data()); RUNNING to wait for more, else the verdict
         * from exchange_succeed() or exchange_fail(). */
        ExchangeStatus (*advance)(Exchange *e, void *state);
        /* The sentence for a peer that closed the connection before the verdict. */
        const char *(*closed)(const void *state);
        /* Frees what start() allocated inside `state`; NULL when nothing. */
        void (*done)(void *state);
        /* The one-line protocol_detail of a report, e.g. "HTTP 200"; *ret NULL when there is none. */
        int (*describe)(const ExchangeResult *result, char **ret);
} Protocol;

/* protocol-table.c: every protocol, NULL-terminated. A test binary may link its own table instead. */
extern const Protocol *const protocol_table[];

/* Each protocol's record, for code and tests that name one. */
extern const Protocol protocol_tls;
extern const Protocol protocol_mqtt;
extern const Protocol protocol_wss;
extern const Protocol protocol_https;

const char *protocol_to_string(const Protocol *protocol); /* NULL for NULL */
const Protocol *protocol_from_string(const char *name);   /* NULL when unknown */

/* What a listener on this port most likely speaks (the table's ports), else tls. */
const Protocol *protocol_default_for_port(uint16_t port);

/* The table's names joined by `separator` ("tls, mqtt, wss, https"), for messages and help text.
 * Returns the length it needed; the text is cut to fit `size`. */
size_t protocol_names(const char *separator, char *buffer, size_t size);

/* The ports that imply a protocol, "8883 mqtt, 8084 wss, 18084/443 https", for help text; like
 * protocol_names(). */
size_t protocol_port_names(char *buffer, size_t size);

/* The room protocol_names() needs for any table we ship or test with. */
#define PROTOCOL_NAMES_MAX 256
