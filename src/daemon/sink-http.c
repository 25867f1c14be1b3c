/* SPDX-License-Identifier: MIT */
/* The HTTP endpoint: libmicrohttpd in external-select mode, its epoll fd an sd-event io source and its
 * next timeout an sd-event timer, so requests are served on the daemon's one loop. It answers through
 * the manager's request handlers (the metrics and the status the control socket gives) and reads the
 * targets through the SinkHost. Bounded by MHD: connections (all, per client address), each
 * connection's memory (the request head), idle time. A reload binds a changed Listen= aside and
 * switches at commit, so a port that cannot be bound refuses the reload and the old endpoint stays. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address-util.h"
#include "file-util.h"
#include "log.h"
#include "metrics.h"
#include "probe.h"
#include "report-json.h"
#include "sink-http.h"
#include "status-json.h"
#include "tls.h"

/* Per connection, for MHD's buffers: the request head must fit, so a longer request line or header
 * block is answered 414/431 and closed. Our answers are handed over as whole buffers, outside it. */
#define HTTP_CONNECTION_MEMORY (32U * 1024)
#define HTTP_USERS_MAX 64
#define HTTP_USERS_FILE_MAX (64 * 1024)
#define HTTP_REALM "tlswatch"
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"
/* An on-demand probe's time, unless Prometheus says its scrape times out sooner (as blackbox does). */
#define ON_DEMAND_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define ON_DEMAND_WARN_DAYS 30
#define ON_DEMAND_CRIT_DAYS 7

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);

typedef struct HttpSink HttpSink;
typedef struct HttpServer HttpServer;

/* A /probe of an unconfigured target (ProbeOnDemand=yes): the connection is suspended while it runs. */
typedef struct OnDemand {
        HttpServer *server;
        struct MHD_Connection *connection;
        Probe *probe;
        bool done; /* the answer is ready: status and body */
        unsigned status;
        char *body;
        struct OnDemand *next, *previous;
} OnDemand;

/* One MHD daemon on one listening socket, with the bounds it was started with. */
struct HttpServer {
        HttpSink *sink;
        struct MHD_Daemon *daemon;
        int listen_fd; /* ours: MHD is quiesced before it stops, so it never closes it */
        sd_event_source *io, *timer;
        char *listen;
        unsigned max_connections, max_connections_per_ip;
        usec_t timeout_usec;
        OnDemand *on_demand; /* in flight or answering */
        unsigned n_probing;
        /* Replaced by a reload while on-demand probes were waiting: no longer accepting, freed once
         * they are answered. */
        bool retiring;
        HttpServer *next_retiring;
};

/* Who may (BasicAuthFile=): SHA-256 of "user:password", so the passwords are not kept in memory. */
typedef struct HttpUsers {
        uint8_t (*digests)[32];
        size_t n;
} HttpUsers;

struct HttpSink {
        const SinkContext *context;
        HttpServer *server;       /* NULL: off */
        HttpServer *retiring;     /* earlier servers finishing their on-demand probes */
        const HttpConfig *config; /* of the running configuration, NULL before the first commit */
        const char *vantage;      /* its Vantage=, for /probe's samples */
        HttpUsers users;
        TlsContextCache *tls_cache; /* for on-demand probes, made at the first */
        /* What configure prepared, for commit. */
        bool pending;
        bool pending_keep; /* the running server stays as it is */
        HttpServer *pending_server;
        const HttpConfig *pending_config;
        const char *pending_vantage;
        HttpUsers pending_users;
};

static void users_clear(HttpUsers *u) {
        if (u->digests)
                OPENSSL_cleanse(u->digests, u->n * sizeof(*u->digests));
        free(u->digests);
        *u = (HttpUsers){};
}

static int digest(const char *user, const char *password, uint8_t ret[32]) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned size = 0;
        int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
                 EVP_DigestUpdate(md, user, strlen(user)) && EVP_DigestUpdate(md, ":", 1) &&
                 EVP_DigestUpdate(md, password, strlen(password)) && EVP_DigestFinal_ex(md, ret, &size);

        EVP_MD_CTX_free(md);
        return ok && size == 32 ? 0 : -ENOMEM;
}

/* USER:PASSWORD lines; empty lines and # comments skipped. Returns 0, or -errno with a reason. */
static int users_load(const char *name, HttpUsers *ret, const char **ret_reason) {
        _cleanup_free_ char *path = NULL;
        char *text = NULL;
        HttpUsers users = {};
        int r;

        *ret_reason = NULL;
        if (!strchr(name, '/')) {
                const char *directory = getenv("CREDENTIALS_DIRECTORY");
                if (!directory) {
                        *ret_reason = "no such credential ($CREDENTIALS_DIRECTORY is not set)";
                        return -ENOENT;
                }
                if (asprintf(&path, "%s/%s", directory, name) < 0)
                        return -ENOMEM;
        }
        r = read_full_file(path ?: name, HTTP_USERS_FILE_MAX, &text);
        if (r < 0)
                return r;
        if (!text) /* cannot happen; as in read_secret(), for the static analyzer */
                return -EIO;
        /* Measured first: the lines are cut in place below. */
        size_t size = strlen(text);

        users.digests = calloc(HTTP_USERS_MAX, sizeof(*users.digests));
        if (!users.digests)
                r = -ENOMEM;
        for (char *line = text; r >= 0 && line && *line;) {
                char *end = strchr(line, '\n');
                if (end)
                        *end++ = '\0';
                line[strcspn(line, "\r")] = '\0';
                char *colon = strchr(line, ':');
                if (*line && *line != '#') {
                        if (!colon || colon == line) {
                                *ret_reason = "a line is not USER:PASSWORD";
                                r = -EINVAL;
                        } else if (users.n >= HTTP_USERS_MAX) {
                                *ret_reason = "more than 64 users";
                                r = -E2BIG;
                        } else {
                                *colon = '\0';
                                r = digest(line, colon + 1, users.digests[users.n++]);
                        }
                }
                line = end;
        }
        if (r >= 0 && users.n == 0) {
                *ret_reason = "it names no user (USER:PASSWORD lines)";
                r = -EINVAL;
        }
        OPENSSL_cleanse(text, size);
        free(text);
        if (r < 0) {
                users_clear(&users);
                return r;
        }
        *ret = users;
        return 0;
}

static bool users_allow(const HttpUsers *u, const char *user, const char *password) {
        uint8_t d[32];
        bool found = false;

        if (!user || !password || digest(user, password, d) < 0)
                return false;
        /* Every entry compared, in constant time: the answer's time says nothing about which matched. */
        for (size_t i = 0; i < u->n; i++)
                found |= CRYPTO_memcmp(d, u->digests[i], sizeof(d)) == 0;
        OPENSSL_cleanse(d, sizeof(d));
        return found;
}

/* --- answers ---------------------------------------------------------------------------------------- */

/* Queues `body` (taken; freed with free()) with the status and type. */
static enum MHD_Result respond(struct MHD_Connection *connection, unsigned status, const char *content_type,
                               char *body, size_t size) {
        struct MHD_Response *response;
        enum MHD_Result r;

        response = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!response) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        /* Text that quotes a request's parameters is never taken for HTML. */
        (void) MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                (void) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        r = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
        return r;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned status, const char *format,
                                    ...) _printf_(3, 4);
static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned status, const char *format,
                                    ...) {
        char *text = NULL;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&text, format, ap);
        va_end(ap);
        if (n < 0)
                return MHD_NO;
        return respond(connection, status, CONTENT_TYPE_TEXT, text, (size_t) n);
}

static enum MHD_Result respond_string(struct MHD_Connection *connection, unsigned status,
                                      const char *content_type, char *text) {
        return respond(connection, status, content_type, text, strlen(text));
}

/* The request's context, for the handlers below. */
typedef struct Request {
        HttpSink *sink;
        HttpServer *server;
        struct MHD_Connection *connection;
        void **state; /* MHD's per-request pointer: an OnDemand, or NULL */
} Request;

static enum MHD_Result serve_index(const Request *q) {
        static const char page[] =
                "<!DOCTYPE html>\n<html><head><meta "
                "charset=\"utf-8\"><title>tlswatchd</title></head><body>\n"
                "<h1>tlswatchd</h1>\n<p>The TLS listeners this daemon watches; see tlswatchd(8).</p>\n<ul>\n"
                "<li><a href=\"metrics\">/metrics</a>: every target's metrics, for Prometheus</li>\n"
                "<li>/probe?target=HOST:PORT&amp;module=PROTOCOL: one target, as the blackbox exporter "
                "answers</li>\n"
                "<li><a href=\"api/status\">/api/status</a>: the status, as JSON "
                "(<code>tlswatchctl status --json</code>)</li>\n"
                "<li><a href=\"-/healthy\">/-/healthy</a>, <a href=\"-/ready\">/-/ready</a></li>\n"
                "</ul>\n</body></html>\n";
        char *copy = strdup(page);

        return copy ? respond_string(q->connection, MHD_HTTP_OK, "text/html; charset=utf-8", copy) : MHD_NO;
}

static enum MHD_Result serve_healthy(const Request *q) {
        return respond_text(q->connection, MHD_HTTP_OK, "tlswatchd is healthy.\n");
}

/* Ready once every target has a result: before that, /probe and /metrics lack some. */
static enum MHD_Result serve_ready(const Request *q) {
        const SinkHost *host = q->sink->context->host;
        size_t n = host->n_targets(host->userdata), waiting = 0;

        for (size_t i = 0; i < n; i++) {
                SinkTarget view;
                host->target(host->userdata, i, &view);
                waiting += !view.last_report;
        }
        if (waiting > 0)
                return respond_text(q->connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                                    "tlswatchd is not ready: %zu of %zu targets not probed yet.\n", waiting,
                                    n);
        return respond_text(q->connection, MHD_HTTP_OK, "tlswatchd is ready.\n");
}

static enum MHD_Result serve_metrics(const Request *q) {
        const SinkHost *host = q->sink->context->host;
        _cleanup_free_ char *error = NULL;
        char *text = NULL;
        int r;

        r = host->requests->metrics(host->userdata, &text, &error);
        if (r < 0)
                return respond_text(q->connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                    "cannot render the metrics: %s\n", error ?: strerror(-r));
        return respond_string(q->connection, MHD_HTTP_OK, CONTENT_TYPE_METRICS, text);
}

/* The control socket's status answer (tlswatch.status/2), all targets or ?target=NAME's. */
static enum MHD_Result serve_status(const Request *q) {
        const SinkHost *host = q->sink->context->host;
        const char *name = MHD_lookup_connection_value(q->connection, MHD_GET_ARGUMENT_KIND, "target");
        json_t *document = NULL, *targets = json_array(), *webhooks = NULL, *o = NULL;
        size_t cursor = 0;
        char *text = NULL;
        int r = 0;

        if (name && !*name)
                name = NULL;
        while (targets && (r = host->requests->status(host->userdata, name, &cursor, &o)) > 0)
                if (json_array_append_new(targets, o) < 0)
                        r = -ENOMEM;
        if (!targets)
                r = -ENOMEM;
        if (r == 0 && name && json_array_size(targets) == 0) {
                json_decref(targets);
                return respond_text(q->connection, MHD_HTTP_NOT_FOUND, "no target \"%s\"\n", name);
        }
        if (r >= 0 && host->requests->webhooks(host->userdata, &webhooks, NULL) < 0)
                webhooks = json_array();
        if (r >= 0)
                document = json_pack("{s:b, s:s, s:o, s:o*}", "ok", 1, "schema", STATUS_JSON_SCHEMA,
                                     "targets", targets, "webhooks", webhooks);
        else
                json_decref(targets);
        if (document)
                text = json_dumps(document, REPORT_JSON_DUMP_FLAGS);
        json_decref(document);
        if (!text)
                return respond_text(q->connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                    "cannot render the status: %s\n", strerror(r < 0 ? -r : ENOMEM));
        size_t n = strlen(text);
        char *with_newline = realloc(text, n + 2);
        if (!with_newline) {
                free(text);
                return MHD_NO;
        }
        memcpy(with_newline + n, "\n", 2);
        return respond_string(q->connection, MHD_HTTP_OK, "application/json", with_newline);
}

static void on_demand_free(OnDemand *d) {
        if (!d)
                return;
        HttpServer *server = d->server;
        if (d->probe) {
                d->probe = probe_free(d->probe);
                server->n_probing--;
        }
        if (d->previous)
                d->previous->next = d->next;
        else
                server->on_demand = d->next;
        if (d->next)
                d->next->previous = d->previous;
        free(d->body);
        free(d);
}

static void on_demand_answer(OnDemand *d, unsigned status, char *body) {
        d->status = status;
        d->body = body;
        d->done = true;
        MHD_resume_connection(d->connection);
        /* libmicrohttpd 0.9.75 in external epoll mode did not make its epoll fd readable for a
         * resumption (test-http.sh's on-demand probe hung): run it at once instead of waiting. */
        (void) sd_event_source_set_time(d->server->timer, 0);
        (void) sd_event_source_set_enabled(d->server->timer, SD_EVENT_ONESHOT);
}

static usec_t now_usec(sd_event *event, clockid_t clock) {
        uint64_t now = 0;

        /* Before the loop first runs, this is the current time too. */
        (void) sd_event_now(event, clock, &now);
        return now;
}

static void on_demand_done(Probe *probe, Report *report, void *userdata) {
        OnDemand *d = userdata;
        HttpServer *server = d->server;
        char *body = NULL;

        d->probe = probe_free(d->probe);
        server->n_probing--;
        /* Remembered nowhere: the state is the report's own verdict. */
        TargetState state = {
                .status = report->status,
                .problems = report->problems,
                .last_probe_usec = now_usec(server->sink->context->event, CLOCK_REALTIME),
        };
        MetricsTarget target = {
                .name = report->target,
                .protocol = report->protocol,
                .state = &state,
                .report = report,
                .vantage = server->sink->vantage,
        };
        if (metrics_format_probe(&target, &body) < 0)
                on_demand_answer(d, MHD_HTTP_INTERNAL_SERVER_ERROR, strdup("out of memory\n"));
        else
                on_demand_answer(d, MHD_HTTP_OK, body);
        report_free(report);
}

/* The scrape's own deadline (X-Prometheus-Scrape-Timeout-Seconds, less half a second, as the blackbox
 * exporter does), within 1 s and ON_DEMAND_TIMEOUT_USEC. */
static usec_t on_demand_timeout(struct MHD_Connection *connection) {
        const char *header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                         "X-Prometheus-Scrape-Timeout-Seconds");
        char *end = NULL;
        double seconds;

        if (!header)
                return ON_DEMAND_TIMEOUT_USEC;
        seconds = strtod(header, &end);
        if (end == header || *end || !(seconds > 0))
                return ON_DEMAND_TIMEOUT_USEC;
        seconds = MAX(seconds - 0.5, 1.0);
        return MIN((usec_t) (seconds * USEC_PER_SEC), ON_DEMAND_TIMEOUT_USEC);
}

static enum MHD_Result probe_on_demand(const Request *q, const char *host, uint16_t port,
                                       const Protocol *protocol) {
        HttpSink *s = q->sink;
        _cleanup_(SSL_CTX_freep) SSL_CTX *context = NULL;
        _cleanup_free_ char *error = NULL;
        OnDemand *d;
        int r;

        if (q->server->n_probing >= s->config->max_probes_on_demand)
                return respond_text(
                        q->connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                        "%u on-demand probes are running already (MaxProbesOnDemand=); try again\n",
                        q->server->n_probing);
        ProbeSettings settings = {
                .host = (char *) host,
                .port = port,
                .protocol = protocol,
                .timeout_usec = on_demand_timeout(q->connection),
                .warn_days = ON_DEMAND_WARN_DAYS,
                .crit_days = ON_DEMAND_CRIT_DAYS,
                .mqtt_version = 4,
        };
        if (!settings.protocol)
                settings.protocol = probe_settings_protocol(&settings);
        if (probe_settings_validate(&settings, PROBE_SETTINGS_NAMES_CONFIG, &error) < 0)
                return respond_text(q->connection, MHD_HTTP_BAD_REQUEST, "%s\n", error ?: "invalid target");

        if (!s->tls_cache && tls_context_cache_new(&s->tls_cache) < 0)
                return MHD_NO;
        r = tls_context_cache_get(s->tls_cache, &(TlsSettings){}, &context);
        if (r < 0)
                return respond_text(q->connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot set up TLS: %s\n",
                                    strerror(-r));

        d = calloc(1, sizeof(OnDemand));
        if (!d)
                return MHD_NO;
        *d = (OnDemand){ .server = q->server, .connection = q->connection, .next = q->server->on_demand };
        if (d->next)
                d->next->previous = d;
        q->server->on_demand = d;
        *q->state = d;
        /* Answered when the probe is done: on_demand_done() resumes the connection, which may happen
         * before probe_start() returns. */
        MHD_suspend_connection(q->connection);
        q->server->n_probing++;
        r = probe_start(s->context->event, &settings, context, NULL, on_demand_done, d, &d->probe);
        if (r >= 0)
                probe_set_crl_cache(d->probe, s->context->crl_cache);
        if (r < 0) {
                char *text = NULL;
                q->server->n_probing--;
                if (asprintf(&text, "cannot start the probe: %s\n", strerror(-r)) < 0)
                        text = NULL;
                on_demand_answer(d, MHD_HTTP_INTERNAL_SERVER_ERROR, text);
        }
        return MHD_YES;
}

/* /probe?target=HOST:PORT[&module=PROTOCOL]: the configured target of that address (and protocol),
 * from its last result, as the blackbox exporter answers; others only with ProbeOnDemand=yes. */
static enum MHD_Result serve_probe(const Request *q) {
        const SinkHost *host = q->sink->context->host;
        const char *target = MHD_lookup_connection_value(q->connection, MHD_GET_ARGUMENT_KIND, "target");
        const char *module = MHD_lookup_connection_value(q->connection, MHD_GET_ARGUMENT_KIND, "module");
        _cleanup_free_ char *name = NULL;
        const Protocol *protocol = NULL;
        const char *reason = NULL;
        uint16_t port;

        if (!target || !*target)
                return respond_text(
                        q->connection, MHD_HTTP_BAD_REQUEST,
                        "the target parameter is missing: /probe?target=HOST:PORT&module=PROTOCOL\n");
        if (module && *module) {
                protocol = protocol_from_string(module);
                if (!protocol) {
                        char names[PROTOCOL_NAMES_MAX];
                        (void) protocol_names(", ", names, sizeof(names));
                        return respond_text(q->connection, MHD_HTTP_BAD_REQUEST,
                                            "module: \"%s\" is not one of %s\n", module, names);
                }
        }
        if (parse_host_port(target, 0, &name, &port, &reason) < 0)
                return respond_text(q->connection, MHD_HTTP_BAD_REQUEST, "target: \"%s\": %s\n", target,
                                    reason ?: "not HOST:PORT");

        size_t n = host->n_targets(host->userdata);
        for (size_t i = 0; i < n; i++) {
                SinkTarget view;
                host->target(host->userdata, i, &view);
                const ProbeSettings *p = &view.config->probe;
                if (p->port != port || strcasecmp(p->host, name) != 0 ||
                    (protocol && p->protocol != protocol))
                        continue;
                if (!view.last_report)
                        return respond_text(q->connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                                            "target %s (%s) has not been probed yet\n", view.config->name,
                                            target);
                MetricsTarget m = {
                        .name = view.config->name,
                        .protocol = protocol_to_string(p->protocol),
                        .host = p->host,
                        .port = p->port,
                        .state = view.state,
                        .report = view.last_report,
                        .vantage = q->sink->vantage,
                };
                char *text = NULL;
                if (metrics_format_probe(&m, &text) < 0)
                        return MHD_NO;
                return respond_string(q->connection, MHD_HTTP_OK, CONTENT_TYPE_METRICS, text);
        }

        if (!q->sink->config->probe_on_demand)
                return respond_text(q->connection, MHD_HTTP_NOT_FOUND,
                                    "no configured target is %s%s%s (ProbeOnDemand=yes would probe it)\n",
                                    target, protocol ? " with protocol " : "",
                                    protocol ? protocol_to_string(protocol) : "");
        return probe_on_demand(q, name, port, protocol);
}

typedef struct Route {
        const char *path;
        enum MHD_Result (*serve)(const Request *q);
        bool public; /* answered without BasicAuthFile='s users: health checks of load balancers */
} Route;

static const Route routes[] = {
        { "/", serve_index, false },           { "/metrics", serve_metrics, false },
        { "/probe", serve_probe, false },      { "/api/status", serve_status, false },
        { "/-/healthy", serve_healthy, true }, { "/healthz", serve_healthy, true },
        { "/-/ready", serve_ready, true },
};

static bool authorized(HttpSink *s, struct MHD_Connection *connection) {
        char *password = NULL;
        char *user;
        bool ok;

        if (s->users.n == 0)
                return true;
        user = MHD_basic_auth_get_username_password(connection, &password);
        ok = users_allow(&s->users, user, password);
        if (password) {
                OPENSSL_cleanse(password, strlen(password));
                MHD_free(password);
        }
        if (user)
                MHD_free(user);
        return ok;
}

/* MHD's per-request pointer once the first call saw the request's head (see on_request). */
static char request_head_seen;

static enum MHD_Result on_request(void *userdata, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state) {
        HttpServer *server = userdata;
        HttpSink *s = server->sink;
        Request q = { .sink = s, .server = server, .connection = connection, .state = state };

        if (!*state) {
                /* A request we refuse is answered at once, before its body is read (MHD then closes the
                 * connection); others at the next call, once MHD knows the request is whole, so the
                 * connection may stay open for the next scrape. */
                if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                        return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                                            "%s is not allowed: GET or HEAD\n", method);
                if (MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
                    strcmp(MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_CONTENT_LENGTH)
                                   ?: "0",
                           "0") != 0)
                        return respond_text(connection, MHD_HTTP_BAD_REQUEST, "a %s request has no body\n",
                                            method);
                *state = &request_head_seen;
                return MHD_YES;
        }
        if (*state != &request_head_seen) {
                /* An on-demand probe finished and resumed the connection. */
                OnDemand *d = *state;
                if (!d->done)
                        return MHD_YES;
                char *body = TAKE_PTR(d->body);
                if (!body)
                        return MHD_NO;
                return respond_string(connection, d->status,
                                      d->status == MHD_HTTP_OK ? CONTENT_TYPE_METRICS : CONTENT_TYPE_TEXT,
                                      body);
        }

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (strcmp(url, routes[i].path) != 0)
                        continue;
                if (!routes[i].public && !authorized(s, connection)) {
                        struct MHD_Response *response;
                        enum MHD_Result r;
                        static const char text[] = "authentication required\n";
                        response = MHD_create_response_from_buffer(strlen(text), (void *) text,
                                                                   MHD_RESPMEM_PERSISTENT);
                        if (!response)
                                return MHD_NO;
                        (void) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                       CONTENT_TYPE_TEXT);
                        r = MHD_queue_basic_auth_fail_response(connection, HTTP_REALM, response);
                        MHD_destroy_response(response);
                        return r;
                }
                return routes[i].serve(&q);
        }
        return respond_text(connection, MHD_HTTP_NOT_FOUND, "not found (see / for the paths)\n");
}

static void on_completed(void *userdata, struct MHD_Connection *connection, void **state,
                         enum MHD_RequestTerminationCode code) {
        if (*state != &request_head_seen)
                on_demand_free(*state);
        *state = NULL;
}

/* MHD hands over its own printf format: the attribute says so, for -Wformat-nonliteral under clang. */
_printf_(2, 0) static void on_mhd_log(void *userdata, const char *format, va_list ap) {
        _cleanup_free_ char *message = NULL;

        /* Connection limits reached, clients that went away: the client's business, not an operator's. */
        if (vasprintf(&message, format, ap) >= 0)
                log_debug("HTTP: %.*s", (int) strcspn(message, "\n"), message);
}

/* --- the server on the loop --------------------------------------------------------------------------- */

static void server_arm(HttpServer *server) {
        MHD_UNSIGNED_LONG_LONG timeout_ms;

        if (MHD_get_timeout(server->daemon, &timeout_ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(server->timer, SD_EVENT_OFF);
                return;
        }
        usec_t now = now_usec(server->sink->context->event, CLOCK_MONOTONIC);
        (void) sd_event_source_set_time(server->timer, usec_add(now, (usec_t) timeout_ms * USEC_PER_MSEC));
        (void) sd_event_source_set_enabled(server->timer, SD_EVENT_ONESHOT);
}

static HttpServer *server_free(HttpServer *server);

static void server_run(HttpServer *server) {
        (void) MHD_run(server->daemon);
        if (server->retiring && !server->on_demand) {
                /* Its last waiting client is answered. Freeing the sources from their own callback
                 * is allowed by sd-event. */
                HttpServer **p = &server->sink->retiring;
                while (*p != server)
                        p = &(*p)->next_retiring;
                *p = server->next_retiring;
                server_free(server);
                return;
        }
        server_arm(server);
}

static int on_server_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        server_run(userdata);
        return 0;
}

static int on_server_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        server_run(userdata);
        return 0;
}

static HttpServer *server_free(HttpServer *server) {
        if (!server)
                return NULL;
        server->io = sd_event_source_disable_unref(server->io);
        server->timer = sd_event_source_disable_unref(server->timer);
        if (server->daemon) {
                /* Suspended connections must be resumed before MHD stops: each in-flight on-demand
                 * probe is cancelled and its client told so. */
                for (OnDemand *d = server->on_demand; d; d = d->next)
                        if (!d->done) {
                                d->probe = probe_free(d->probe);
                                server->n_probing--;
                                on_demand_answer(d, MHD_HTTP_SERVICE_UNAVAILABLE,
                                                 strdup("the endpoint is stopping or moving\n"));
                        }
                (void) MHD_quiesce_daemon(server->daemon);
                MHD_stop_daemon(server->daemon);
        }
        while (server->on_demand) /* MHD told us of each, normally; not if it could not */
                on_demand_free(server->on_demand);
        safe_close(server->listen_fd);
        free(server->listen);
        free(server);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, server_free);

static int listen_socket(const HttpConfig *h, int *ret_fd) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } address = {};
        socklen_t length;
        int fd, one = 1;

        if (inet_pton(AF_INET, h->listen_host, &address.in.sin_addr) == 1) {
                address.in.sin_family = AF_INET;
                address.in.sin_port = htons(h->listen_port);
                length = sizeof(address.in);
        } else if (inet_pton(AF_INET6, h->listen_host, &address.in6.sin6_addr) == 1) {
                address.in6.sin6_family = AF_INET6;
                address.in6.sin6_port = htons(h->listen_port);
                length = sizeof(address.in6);
        } else
                return -EINVAL; /* config.c accepts IP literals only */

        fd = socket(address.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A restart may rebind at once, past the old connections' TIME_WAIT; on Linux this does not let
         * two sockets listen on one port. */
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, &address.sa, length) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Starts MHD on `fd` (taken) with the bounds of `h`. */
static int server_new(HttpSink *s, const HttpConfig *h, int fd, HttpServer **ret) {
        _cleanup_(server_freep) HttpServer *server = calloc(1, sizeof(HttpServer));
        int r;

        if (!server) {
                safe_close(fd);
                return -ENOMEM;
        }
        *server = (HttpServer){
                .sink = s,
                .listen_fd = fd,
                .listen = strdup(h->listen),
                .max_connections = h->max_connections,
                .max_connections_per_ip = h->max_connections_per_ip,
                .timeout_usec = h->timeout_usec,
        };
        if (!server->listen)
                return -ENOMEM;
        server->daemon = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
                server, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned) h->max_connections,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) h->max_connections_per_ip,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) (h->timeout_usec / USEC_PER_SEC),
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_CONNECTION_MEMORY,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, server, MHD_OPTION_END);
        if (!server->daemon)
                return -EIO;

        const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        r = sd_event_add_io(s->context->event, &server->io, info->epoll_fd, EPOLLIN, on_server_io, server);
        if (r < 0)
                return r;
        r = sd_event_add_time(s->context->event, &server->timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC,
                              on_server_timer, server);
        if (r < 0)
                return r;
        server_arm(server);
        *ret = TAKE_PTR(server);
        return 0;
}

/* Whether the running server already is what `h` asks for. */
static bool server_matches(const HttpServer *server, const HttpConfig *h) {
        return server && strcmp(server->listen, h->listen) == 0 &&
               server->max_connections == h->max_connections &&
               server->max_connections_per_ip == h->max_connections_per_ip &&
               server->timeout_usec == h->timeout_usec;
}

/* --- the sink ------------------------------------------------------------------------------------------ */

static int sink_new(const SinkContext *context, void **ret) {
        HttpSink *s = calloc(1, sizeof(HttpSink));

        assert(context->host && context->host->requests);
        if (!s)
                return -ENOMEM;
        s->context = context;
        *ret = s;
        return 0;
}

static void pending_clear(HttpSink *s) {
        s->pending_server = server_free(s->pending_server);
        users_clear(&s->pending_users);
        s->pending = s->pending_keep = false;
        s->pending_config = NULL;
}

static void *sink_free(void *sink) {
        HttpSink *s = sink;

        if (!s)
                return NULL;
        pending_clear(s);
        server_free(s->server);
        while (s->retiring) {
                HttpServer *next = s->retiring->next_retiring;
                server_free(s->retiring);
                s->retiring = next;
        }
        users_clear(&s->users);
        tls_context_cache_free(s->tls_cache);
        free(s);
        return NULL;
}

#define http_error(ret_error, h, ...) \
        config_section_error((ret_error), "HTTP", (h)->file ?: "?", (h)->line, "", __VA_ARGS__)

static int sink_configure(void *sink, const Config *config, char **ret_error) {
        HttpSink *s = sink;
        const HttpConfig *h = &config->http;
        int fd = -EBADF, r;

        pending_clear(s);
        s->pending = true;
        s->pending_config = h;
        s->pending_vantage = config->vantage;

        /* Read in every mode, so that --check-config and a reload catch a file that cannot be read. */
        if (h->basic_auth_file) {
                const char *reason = NULL;
                r = users_load(h->basic_auth_file, &s->pending_users, &reason);
                if (r < 0)
                        return http_error(ret_error, h, "BasicAuthFile=%s: %s", h->basic_auth_file,
                                          reason ?: file_error_text(r));
        }

        if (!h->listen || s->context->once)
                return 0;
        if (server_matches(s->server, h)) {
                s->pending_keep = true;
                return 0;
        }
        /* The same address with other bounds: the new daemon takes a copy of the listening socket. */
        if (s->server && strcmp(s->server->listen, h->listen) == 0) {
                fd = fcntl(s->server->listen_fd, F_DUPFD_CLOEXEC, 3);
                r = fd < 0 ? -errno : 0;
        } else
                r = listen_socket(h, &fd);
        if (r < 0)
                return http_error(ret_error, h, "Listen=%s: cannot listen: %s", h->listen, strerror(-r));
        r = server_new(s, h, fd, &s->pending_server);
        if (r < 0)
                return http_error(ret_error, h, "Listen=%s: cannot start the HTTP server: %s", h->listen,
                                  strerror(-r));
        return 0;
}

/* A server a reload replaces: freed now, or, while on-demand probes wait on it, once they are answered
 * (it stops listening at once, so a new Listen= or the same port under new bounds is the only one). */
static void server_retire(HttpSink *s, HttpServer *server) {
        if (!server)
                return;
        if (!server->on_demand) {
                server_free(server);
                return;
        }
        (void) MHD_quiesce_daemon(server->daemon);
        server->listen_fd = safe_close(server->listen_fd);
        server->retiring = true;
        server->next_retiring = s->retiring;
        s->retiring = server;
}

static void sink_commit(void *sink, bool apply) {
        HttpSink *s = sink;

        if (!s->pending)
                return;
        if (!apply) {
                pending_clear(s);
                return;
        }
        if (!s->pending_keep) {
                server_retire(s, TAKE_PTR(s->server));
                s->server = TAKE_PTR(s->pending_server);
                if (s->server)
                        log_info("HTTP endpoint on http://%s/ (/metrics, /probe)", s->server->listen);
                else if (s->config && s->config->listen)
                        log_info("HTTP endpoint stopped");
        }
        users_clear(&s->users);
        s->users = s->pending_users;
        s->pending_users = (HttpUsers){};
        s->config = s->pending_config;
        s->vantage = s->pending_vantage;
        pending_clear(s);
}

const SinkType sink_http = {
        .name = "http",
        .new = sink_new,
        .free = sink_free,
        .configure = sink_configure,
        .commit = sink_commit,
};
