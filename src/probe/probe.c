/* SPDX-License-Identifier: MIT */
/* A probe run: RESOLVING -> CONNECTING (one Conn per address, all at once) -> DONE. The probe owns the
 * report while it runs and hands it to its handler from a deferred event, never from inside a
 * connection's callback, so the handler may free the probe. */
#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "file-util.h"
#include "probe.h"
#include "resolve.h"
#include "string-table.h"

static const char *const protocol_table[_PROTOCOL_MAX] = {
        [PROTOCOL_TLS] = "tls",
        [PROTOCOL_MQTT] = "mqtt",
        [PROTOCOL_WSS] = "wss",
        [PROTOCOL_HTTPS] = "https",
};

DEFINE_STRING_TABLE_LOOKUP(protocol, Protocol, _PROTOCOL_MAX);

Protocol protocol_default_for_port(uint16_t port) {
        switch (port) {
        case 8883:
                return PROTOCOL_MQTT;
        case 8084:
                return PROTOCOL_WSS;
        case 18084:
        case 443:
                return PROTOCOL_HTTPS;
        default:
                return PROTOCOL_TLS;
        }
}

typedef enum ProbeState {
        PROBE_RESOLVING,
        PROBE_CONNECTING,
        PROBE_DONE,
} ProbeState;

struct Probe {
        sd_event *event;
        ProbeState state;
        ProbeSettings settings; /* the probe's own copy */
        SSL_CTX *tls_context;   /* the probe's own reference */
        char *password;         /* the probe's own copy, erased when freed */
        uint64_t started_usec;
        uint64_t deadline_usec;

        ResolveQuery *query;
        sd_event_source *timer;  /* the deadline while resolving */
        sd_event_source *finish; /* deferred hand-over of the report */
        Conn **conns; /* one slot per address; NULL where a connection could not start */
        size_t n_conns;
        size_t n_pending;
        Report *report;

        probe_handler_t handler;
        void *userdata;
};

static uint64_t probe_now(Probe *p) {
        uint64_t now = 0;

        (void) sd_event_now(p->event, CLOCK_MONOTONIC, &now);
        return now;
}

static int on_probe_finish(sd_event_source *source, void *userdata) {
        Probe *p = userdata;
        Report *report = TAKE_PTR(p->report);

        p->finish = sd_event_source_disable_unref(p->finish);
        report->duration_usec = probe_now(p) - p->started_usec;
        (void) report_finalize(report);
        p->handler(p, report, p->userdata);
        return 0;
}

static void probe_done(Probe *p) {
        int r;

        p->state = PROBE_DONE;
        p->timer = sd_event_source_disable_unref(p->timer);
        p->query = resolve_query_free(p->query);
        r = sd_event_add_defer(p->event, &p->finish, on_probe_finish, p);
        if (r < 0)
                /* Without a deferred event we can still deliver; nothing else runs on this probe. */
                (void) on_probe_finish(NULL, p);
}

static void on_conn_done(Conn *conn, void *userdata) {
        Probe *p = userdata;

        if (--p->n_pending == 0)
                probe_done(p);
}

static int probe_connect_all(Probe *p, struct addrinfo *addresses) {
        int r;

        /* Every address gets its report slot before any connection starts: the connections keep
         * pointers into the array. */
        for (struct addrinfo *ai = addresses; ai; ai = ai->ai_next) {
                char text[INET6_ADDRSTRLEN] = "?";
                const void *raw = ai->ai_family == AF_INET6 ? (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr
                                                            : (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr;

                (void) inet_ntop(ai->ai_family, raw, text, sizeof(text));
                if (!report_add_address(p->report, text))
                        break;
        }

        p->conns = calloc(p->report->n_addresses, sizeof(Conn *));
        if (!p->conns)
                return -ENOMEM;
        p->n_conns = p->report->n_addresses;

        size_t i = 0;
        for (struct addrinfo *ai = addresses; ai && i < p->report->n_addresses; ai = ai->ai_next, i++) {
                AddressReport *a = &p->report->addresses[i];

                r = conn_start(p->event, &p->settings, p->tls_context, p->password, ai->ai_addr, ai->ai_addrlen, p->deadline_usec, a,
                               on_conn_done, p, &p->conns[i]);
                if (r < 0) {
                        r = problem_list_add(&a->problems, PROBLEM_CONNECT_FAILED, STATUS_CRITICAL, -1, -1,
                                             "cannot start a connection to %s: %s", a->address, strerror(-r));
                        if (r < 0)
                                return r;
                        continue;
                }
                p->n_pending++;
        }
        return 0;
}

static void on_resolved(ResolveQuery *query, int gai_error, struct addrinfo *addresses, void *userdata) {
        Probe *p = userdata;
        int r;

        p->query = resolve_query_free(p->query);
        p->timer = sd_event_source_disable_unref(p->timer);

        if (gai_error != 0 || !addresses) {
                (void) problem_list_add(&p->report->problems, PROBLEM_DNS_FAILED, STATUS_CRITICAL, -1, -1,
                                        "the name \"%s\" does not resolve: %s", p->settings.host,
                                        gai_error == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai_error));
                if (addresses)
                        freeaddrinfo(addresses);
                return probe_done(p);
        }

        p->state = PROBE_CONNECTING;
        r = probe_connect_all(p, addresses);
        freeaddrinfo(addresses);
        if (r < 0)
                (void) problem_list_add(&p->report->problems, PROBLEM_CONNECT_FAILED, STATUS_CRITICAL, -1, -1,
                                        "cannot start the connections: %s", strerror(-r));
        if (p->n_pending == 0)
                probe_done(p);
}

static int on_resolve_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Probe *p = userdata;

        (void) problem_list_add(&p->report->problems, PROBLEM_TIMEOUT, STATUS_CRITICAL, -1, -1,
                                "resolving \"%s\" took longer than %.1f s", p->settings.host,
                                (double) p->settings.timeout_usec / 1e6);
        probe_done(p);
        return 0;
}

int probe_start(sd_event *event, const ProbeSettings *settings, SSL_CTX *tls_context, const char *password,
                probe_handler_t handler, void *userdata, Probe **ret) {
        _cleanup_(probe_freep) Probe *p = NULL;
        int r;

        assert(event);
        assert(settings && settings->host);
        assert(tls_context);
        assert(handler);
        assert(ret);

        p = calloc(1, sizeof(Probe));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->handler = handler;
        p->userdata = userdata;
        SSL_CTX_up_ref(tls_context);
        p->tls_context = tls_context;
        p->report = calloc(1, sizeof(Report));
        if (!p->report || probe_settings_copy(&p->settings, settings) < 0)
                return -ENOMEM;
        if (password) {
                p->password = strdup(password);
                if (!p->password)
                        return -ENOMEM;
        }

        bool ipv6_literal = strchr(settings->host, ':') != NULL;
        if (asprintf(&p->report->target, ipv6_literal ? "[%s]:%u" : "%s:%u", settings->host, settings->port) < 0)
                return -ENOMEM;
        p->report->server_name = strdup(settings->server_name ?: settings->host);
        p->report->protocol = strdup(protocol_to_string(settings->protocol) ?: "tls");
        if (!p->report->server_name || !p->report->protocol)
                return -ENOMEM;

        p->started_usec = probe_now(p);
        p->deadline_usec = p->started_usec + settings->timeout_usec;

        r = sd_event_add_time(event, &p->timer, CLOCK_MONOTONIC, p->deadline_usec, PROBE_DEADLINE_ACCURACY_USEC,
                              on_resolve_deadline, p);
        if (r < 0)
                return r;
        r = resolve_start(event, p->settings.host, settings->port, on_resolved, p, &p->query);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

Probe *probe_free(Probe *p) {
        if (!p)
                return NULL;

        p->timer = sd_event_source_disable_unref(p->timer);
        p->finish = sd_event_source_disable_unref(p->finish);
        p->query = resolve_query_free(p->query);
        for (size_t i = 0; i < p->n_conns; i++)
                conn_free(p->conns[i]);
        free(p->conns);
        report_free(p->report);
        SSL_CTX_free(p->tls_context);
        probe_settings_clear(&p->settings);
        erase_and_free(p->password);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
