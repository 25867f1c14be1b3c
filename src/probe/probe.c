/* SPDX-License-Identifier: MIT */
/* A probe run: RESOLVING -> CONNECTING (one Conn per address, all at once) -> DONE. The probe owns the
 * report while it runs and hands it to its handler from a deferred event, never from inside a
 * connection's callback, so the handler may free the probe. */
#include <arpa/inet.h>
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
        ProbeSettings settings; /* strings and the TLS context below are the probe's own copies */
        char *host;
        char *server_name;
        char *http_path;
        char *mqtt_client_id;
        char *mqtt_username;
        char *mqtt_password;
        char *http_expect_status;
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

                r = conn_start(p->event, &p->settings, ai->ai_addr, ai->ai_addrlen, p->deadline_usec, a,
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
                                        "the name \"%s\" does not resolve: %s", p->host,
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
                                "resolving \"%s\" took longer than %.1f s", p->host,
                                (double) p->settings.timeout_usec / 1e6);
        probe_done(p);
        return 0;
}

static int copy_optional(char **field, const char *value) {
        if (!value)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

int probe_start(sd_event *event, const ProbeSettings *settings, probe_handler_t handler, void *userdata,
                Probe **ret) {
        _cleanup_(probe_freep) Probe *p = NULL;
        int r;

        p = calloc(1, sizeof(Probe));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->settings = *settings;
        p->settings.tls_context = NULL; /* set once our reference is taken */
        p->handler = handler;
        p->userdata = userdata;
        p->host = strdup(settings->host);
        p->report = calloc(1, sizeof(Report));
        if (!p->host || !p->report || copy_optional(&p->server_name, settings->server_name) < 0 ||
            copy_optional(&p->http_path, settings->http_path) < 0 ||
            copy_optional(&p->mqtt_client_id, settings->mqtt_client_id) < 0 ||
            copy_optional(&p->mqtt_username, settings->mqtt_username) < 0 ||
            copy_optional(&p->mqtt_password, settings->mqtt_password) < 0 ||
            copy_optional(&p->http_expect_status, settings->http_expect_status) < 0)
                return -ENOMEM;
        p->settings.host = p->host;
        p->settings.server_name = p->server_name;
        p->settings.http_path = p->http_path;
        p->settings.mqtt_client_id = p->mqtt_client_id;
        p->settings.mqtt_username = p->mqtt_username;
        p->settings.mqtt_password = p->mqtt_password;
        p->settings.http_expect_status = p->http_expect_status;
        SSL_CTX_up_ref(settings->tls_context);
        p->settings.tls_context = settings->tls_context;

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
        r = resolve_start(event, p->host, settings->port, on_resolved, p, &p->query);
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
        SSL_CTX_free(p->settings.tls_context);
        free(p->host);
        free(p->server_name);
        free(p->http_path);
        free(p->mqtt_client_id);
        free(p->mqtt_username);
        erase_and_free(p->mqtt_password);
        free(p->http_expect_status);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
