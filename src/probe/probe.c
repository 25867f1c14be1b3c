/* SPDX-License-Identifier: MIT */
/* A probe run: RESOLVING -> CONNECTING (one Conn per address, all at once) -> REVOCATION (the CRLs of
 * every verified path, with Revocation= on) -> DONE. The probe owns the report while it runs and hands
 * it to its handler from a deferred event, never from inside a connection's callback, so the handler
 * may free the probe. */
#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "crl-cache.h"
#include "crl.h"
#include "file-util.h"
#include "probe.h"
#include "resolve.h"
#include "time-util.h"

typedef enum ProbeState {
        PROBE_RESOLVING,
        PROBE_CONNECTING,
        PROBE_REVOCATION,
        PROBE_DONE,
} ProbeState;

/* One certificate of a verified path whose CRL is asked for: its distribution points are tried in
 * turn until one gives a verdict. The certificates belong to the connection's kept path. */
typedef struct RevocationCheck {
        struct Probe *probe;
        AddressReport *address;
        size_t depth;
        X509 *cert;
        X509 *issuer;
        char **urls;
        size_t n_urls;
        size_t next_url;
        CrlRequest *request;
        bool done;
        char error[320]; /* why the last URL gave no verdict */
} RevocationCheck;

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

        CrlCache *crl_cache; /* not owned; NULL: revocation is not checked */
        RevocationCheck *checks;
        size_t n_checks;
        size_t n_checks_pending;

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

static void revocation_checks_free(Probe *p) {
        for (size_t i = 0; i < p->n_checks; i++) {
                p->checks[i].request = crl_request_free(p->checks[i].request);
                crl_urls_free(p->checks[i].urls);
        }
        p->checks = mfree(p->checks);
        p->n_checks = p->n_checks_pending = 0;
}

static void probe_done(Probe *p) {
        int r;

        p->state = PROBE_DONE;
        p->timer = sd_event_source_disable_unref(p->timer);
        revocation_checks_free(p);
        p->query = resolve_query_free(p->query);
        r = sd_event_add_defer(p->event, &p->finish, on_probe_finish, p);
        if (r < 0)
                /* Without a deferred event we can still deliver; nothing else runs on this probe. */
                (void) on_probe_finish(NULL, p);
}

static void revocation_record(RevocationCheck *check, const CrlVerdict *verdict, const char *error) {
        Probe *p = check->probe;
        ChainLink *link = &check->address->chain[check->depth];
        const char *subject = link->certificate && link->certificate->subject ? link->certificate->subject : "?";

        check->done = true;
        link->revocation = verdict ? verdict->status : REVOCATION_UNKNOWN;
        link->revocation_reason = verdict ? verdict->reason : -1;
        link->revoked_at = verdict ? verdict->revoked_at : 0;
        link->crl_next_update = verdict && link->revocation != REVOCATION_UNKNOWN ? verdict->next_update : 0;

        if (link->revocation == REVOCATION_REVOKED) {
                char when[64] = "an unknown date";

                if (verdict->revoked_at != 0)
                        (void) format_timestamp_rfc3339(when, sizeof(when), verdict->revoked_at);
                (void) problem_list_add(&check->address->problems, PROBLEM_REVOKED, STATUS_CRITICAL,
                                        (int) check->depth, -1,
                                        "the certificate at depth %zu (%s) is revoked since %s, reason %s: "
                                        "replace it",
                                        check->depth, subject, when,
                                        verdict->reason >= 0 ? crl_reason_to_string(verdict->reason)
                                                             : "not given");
        } else if (link->revocation == REVOCATION_UNKNOWN)
                /* Never critical by itself: a CRL that cannot be had says nothing about the certificate. */
                (void) problem_list_add(&check->address->problems, PROBLEM_REVOCATION_UNKNOWN,
                                        p->settings.revocation == REVOCATION_MODE_CRL_WARN ? STATUS_WARNING
                                                                                           : STATUS_OK,
                                        (int) check->depth, -1,
                                        "the revocation of the certificate at depth %zu (%s) is unknown: %s",
                                        check->depth, subject, error ?: verdict->detail);

        if (--p->n_checks_pending == 0)
                probe_done(p);
}

static void on_crl(CrlRequest *request, X509_CRL *crl, CrlSignatureMemo *memo, const char *error, void *userdata);

/* Asks for the next distribution point of `check`; records unknown when none is left. */
static void revocation_next(RevocationCheck *check) {
        int r;

        while (check->next_url < check->n_urls) {
                r = crl_cache_get(check->probe->crl_cache, check->urls[check->next_url++], on_crl, check,
                                  &check->request);
                if (r >= 0)
                        return;
                snprintf(check->error, sizeof(check->error), "cannot ask for the CRL: %s", strerror(-r));
        }
        revocation_record(check, NULL, check->error);
}

static void on_crl(CrlRequest *request, X509_CRL *crl, CrlSignatureMemo *memo, const char *error, void *userdata) {
        RevocationCheck *check = userdata;
        CrlVerdict verdict;

        if (crl) {
                crl_judge(crl, check->cert, check->issuer, time(NULL), memo, &verdict);
                if (verdict.status != REVOCATION_UNKNOWN || check->next_url >= check->n_urls) {
                        check->request = crl_request_free(request);
                        return revocation_record(check, &verdict, NULL);
                }
                snprintf(check->error, sizeof(check->error), "%s (%s)", verdict.detail,
                         check->urls[check->next_url - 1]);
        } else
                snprintf(check->error, sizeof(check->error), "%s", error ?: "no CRL");
        check->request = crl_request_free(request);
        revocation_next(check);
}

static int on_revocation_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Probe *p = userdata;

        /* A safety net only: every fetch has its own, shorter, bound. */
        p->timer = sd_event_source_disable_unref(p->timer);
        for (size_t i = 0; i < p->n_checks && p->state == PROBE_REVOCATION; i++)
                if (!p->checks[i].done) {
                        p->checks[i].request = crl_request_free(p->checks[i].request);
                        revocation_record(&p->checks[i], NULL, "no CRL in time");
                }
        return 0;
}

/* Starts the CRL checks of every verified path; returns the number started (0: none to do). */
static int probe_start_revocation(Probe *p) {
        size_t n = 0;
        int r;

        if (p->settings.revocation == REVOCATION_MODE_OFF || !p->crl_cache)
                return 0;
        for (size_t i = 0; i < p->n_conns; i++) {
                STACK_OF(X509) *chain = conn_verified_chain(p->conns[i]);
                if (chain && sk_X509_num(chain) > 1)
                        n += (size_t) sk_X509_num(chain) - 1;
        }
        if (n == 0)
                return 0;
        p->checks = calloc(n, sizeof(RevocationCheck));
        if (!p->checks)
                return -ENOMEM;

        /* The root (the last of the path) is not checked: nothing above it signs a CRL for it. */
        for (size_t i = 0; i < p->n_conns; i++) {
                STACK_OF(X509) *chain = conn_verified_chain(p->conns[i]);
                for (int d = 0; chain && d + 1 < sk_X509_num(chain); d++) {
                        RevocationCheck *check = &p->checks[p->n_checks];

                        *check = (RevocationCheck) {
                                .probe = p,
                                .address = &p->report->addresses[i],
                                .depth = (size_t) d,
                                .cert = sk_X509_value(chain, d),
                                .issuer = sk_X509_value(chain, d + 1),
                        };
                        r = crl_distribution_points(check->cert, &check->urls, &check->n_urls);
                        if (r < 0)
                                return r;
                        if (check->n_urls == 0)
                                continue; /* no http:// CDP: not checked, and nothing to say */
                        p->n_checks++;
                }
        }
        if (p->n_checks == 0)
                return 0;

        r = sd_event_add_time_relative(p->event, &p->timer, CLOCK_MONOTONIC,
                                       CRL_FETCH_TIMEOUT_USEC * CRL_URLS_MAX + USEC_PER_SEC,
                                       PROBE_DEADLINE_ACCURACY_USEC, on_revocation_deadline, p);
        if (r < 0)
                return r;
        p->state = PROBE_REVOCATION;
        p->n_checks_pending = p->n_checks;
        /* Requests answer from the loop; only a request that cannot start is recorded at once, and if
         * all of them fail so, the last one ends the probe (and frees the checks) here. */
        for (size_t i = 0; i < p->n_checks; i++)
                revocation_next(&p->checks[i]);
        return 1;
}

static void probe_connections_done(Probe *p) {
        int r;

        r = probe_start_revocation(p);
        if (r < 0) {
                (void) problem_list_add(&p->report->problems, PROBLEM_REVOCATION_UNKNOWN, STATUS_WARNING, -1, -1,
                                        "cannot start the revocation checks: %s", strerror(-r));
                revocation_checks_free(p);
        }
        if (r <= 0 && p->state != PROBE_DONE)
                probe_done(p);
}

static void on_conn_done(Conn *conn, void *userdata) {
        Probe *p = userdata;

        if (--p->n_pending == 0)
                probe_connections_done(p);
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
                probe_connections_done(p);
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
        p->report->protocol = strdup(protocol_to_string(probe_settings_protocol(settings)));
        if (!p->report->server_name || !p->report->protocol)
                return -ENOMEM;

        p->started_usec = probe_now(p);
        p->deadline_usec = usec_add(p->started_usec, settings->timeout_usec);

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

void probe_set_crl_cache(Probe *p, CrlCache *cache) {
        assert(p);
        assert(p->state != PROBE_REVOCATION);
        p->crl_cache = cache;
}

Probe *probe_free(Probe *p) {
        if (!p)
                return NULL;

        p->timer = sd_event_source_disable_unref(p->timer);
        p->finish = sd_event_source_disable_unref(p->finish);
        p->query = resolve_query_free(p->query);
        revocation_checks_free(p);
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
