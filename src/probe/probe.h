/* SPDX-License-Identifier: MIT */
/* One probe run against one target: resolve the name, probe every address it has in parallel, and
 * hand back one Report before a single absolute deadline. Shared by tlswatchd and `tlswatchctl probe`;
 * it runs on the caller's sd_event loop and keeps no global state. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "report.h"

typedef enum Protocol {
        PROTOCOL_TLS,
        PROTOCOL_MQTT,
        PROTOCOL_WSS,
        PROTOCOL_HTTPS,
        _PROTOCOL_MAX,
        _PROTOCOL_INVALID = -EINVAL,
} Protocol;

const char *protocol_to_string(Protocol protocol);
Protocol protocol_from_string(const char *s);

/* How late a probe's deadline may fire. sd-event's default for an accuracy of 0 is 250 ms, which
 * made a 2 s timeout take up to 2.25 s and so held a probe slot (and the sweep) that much longer. */
#define PROBE_DEADLINE_ACCURACY_USEC (1000ULL)

/* What a listener on this port most likely speaks: 8883 mqtt, 8084 wss, 18084 and 443 https. */
Protocol protocol_default_for_port(uint16_t port);

typedef struct ProbeSettings {
        const char *host;        /* a name or an IP literal, without brackets */
        uint16_t port;
        const char *server_name; /* name to send as SNI and to check; NULL: the host */
        Protocol protocol;
        const char *http_path;   /* https and wss request path; NULL: "/" for https, "/mqtt" for wss */
        int mqtt_version;        /* 4 (3.1.1, also for 0) or 5 */
        const char *mqtt_client_id; /* NULL: "tlswatch-" and a random suffix */
        const char *mqtt_username;  /* NULL: none */
        const char *mqtt_password;  /* never logged */
        bool mqtt_expect_accept;    /* a refused CONNACK is protocol_failed, not information */
        const char *http_expect_status; /* https: "200", "2xx 301", ...; NULL: any 2xx or 3xx */
        SSL_CTX *tls_context;    /* from tls_context_cache_get(); the probe keeps its own reference */
        uint64_t timeout_usec;   /* from start to the last byte, everything included */
        unsigned warn_days;
        unsigned crit_days;
} ProbeSettings;

typedef struct Probe Probe;

/* Called once, from the event loop, when the probe is done; the handler owns `report`. */
typedef void (*probe_handler_t)(Probe *probe, Report *report, void *userdata);

int probe_start(sd_event *event, const ProbeSettings *settings, probe_handler_t handler, void *userdata,
                Probe **ret);

/* Frees the probe; if it is still running it is cancelled and its handler is never called. */
Probe *probe_free(Probe *probe);
DEFINE_TRIVIAL_CLEANUP_FUNC(Probe *, probe_free);
