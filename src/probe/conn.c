/* SPDX-License-Identifier: MIT */
/* The per-address state machine of a probe. Every state names what it waits for; the IO events wanted
 * follow from the state and from what OpenSSL last asked for; every way out goes through
 * conn_complete(), which stops the sources before it reports. */
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "cert-check.h"
#include "conn.h"
#include "log.h"
#include "proto-http.h"
#include "proto-mqtt.h"
#include "tls.h"

typedef enum ConnState {
        CONN_CONNECTING,    /* waiting for the TCP connect to finish */
        CONN_TLS_HANDSHAKE, /* driving SSL_connect() */
        CONN_TLS_SETTLE,    /* TLS 1.3 with a client certificate asked for: waiting for the verdict */
        CONN_PROTOCOL,      /* sending the protocol's request and reading its answer */
        CONN_DONE,
} ConnState;

/* A TLS 1.3 server judges our certificate after our side of the handshake is complete; this is how
 * long we wait for that verdict when no protocol exchange would read it anyway. */
#define SETTLE_USEC (1000 * 1000ULL)
#define REQUEST_MAX 1024
/* More than a status line or a CONNACK needs; a peer that sends more before answering is cut here. */
#define RESPONSE_MAX 4096

struct Conn {
        sd_event *event;
        const ProbeSettings *settings;
        AddressReport *report;
        ConnState state;
        int fd;
        SSL *ssl;
        TlsObservations observations;
        sd_event_source *io;
        sd_event_source *timer;
        sd_event_source *immediate; /* reports a connect() that failed at once */
        int connect_error;
        uint64_t started_usec;
        uint64_t deadline_usec;
        uint64_t settle_until_usec;

        uint8_t request[REQUEST_MAX];
        size_t request_length;
        size_t request_sent;
        uint8_t response[RESPONSE_MAX];
        size_t response_length;

        conn_handler_t handler;
        void *userdata;
};

static const char *state_description(ConnState state) {
        switch (state) {
        case CONN_CONNECTING:
                return "connecting";
        case CONN_TLS_HANDSHAKE:
                return "in the TLS handshake";
        case CONN_TLS_SETTLE:
                return "waiting for the verdict on the client certificate";
        case CONN_PROTOCOL:
                return "waiting for the protocol's answer";
        default:
                return "done";
        }
}

static uint64_t now_usec(Conn *c) {
        uint64_t now = 0;

        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        return now;
}

static void conn_stop(Conn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->immediate = sd_event_source_disable_unref(c->immediate);
        if (c->ssl) {
                SSL_free(c->ssl);
                c->ssl = NULL;
        }
        c->fd = safe_close(c->fd);
}

/* The one exit. Findings are already in the report; `problem` adds the one that ended the run. */
static int conn_complete(Conn *c, ProblemCode problem, const char *format, ...) _printf_(3, 4);
static int conn_complete(Conn *c, ProblemCode problem, const char *format, ...) {
        if (c->state == CONN_DONE)
                return 0;

        if (problem >= 0) {
                char message[512];
                va_list ap;

                va_start(ap, format);
                vsnprintf(message, sizeof(message), format, ap);
                va_end(ap);
                (void) problem_list_add(&c->report->problems, problem, problem_code_default_severity(problem),
                                        -1, -1, "%s", message);
        }

        conn_stop(c);
        c->state = CONN_DONE;
        c->report->duration_usec = now_usec(c) - c->started_usec;
        c->handler(c, c->userdata);
        return 0;
}

#define conn_succeed(c) conn_complete((c), _PROBLEM_CODE_INVALID, NULL)

/* Our own failure, not the listener's: the address is "unknown", with the reason, and no problem code. */
static int conn_fail_internal(Conn *c, int error) {
        if (!c->report->internal_error)
                c->report->internal_error = strdup(strerror(-error));
        return conn_succeed(c);
}

static int conn_want(Conn *c, uint32_t events) {
        int r = sd_event_source_set_io_events(c->io, events);
        if (r < 0)
                return conn_fail_internal(c, r);
        return 0;
}

/* After an SSL_* call returned <= 0: wait for what OpenSSL needs, or return false when it failed. */
static bool conn_wait_for_tls(Conn *c, int ssl_error) {
        if (ssl_error == SSL_ERROR_WANT_READ) {
                (void) conn_want(c, EPOLLIN);
                return true;
        }
        if (ssl_error == SSL_ERROR_WANT_WRITE) {
                (void) conn_want(c, EPOLLOUT);
                return true;
        }
        return false;
}

static int conn_fail_tls(Conn *c, int ssl_error, unsigned long queued_error, int sys_errno) {
        char message[512];
        ProblemCode code;

        code = tls_classify_failure(ssl_error, queued_error, sys_errno, &c->observations, message, sizeof(message));
        ERR_clear_error();
        return conn_complete(c, code, "%s", message);
}

static int conn_analyse(Conn *c) {
        STACK_OF(X509) *served = SSL_get_peer_cert_chain(c->ssl);
        const char *server_name = c->settings->server_name ?: c->settings->host;

        CertCheckInput input = {
                .served = served,
                .verified = served ? SSL_get0_verified_chain(c->ssl) : NULL,
                .errors = c->observations.errors,
                .n_errors = c->observations.n_errors,
                .server_name = server_name,
                .now = time(NULL),
                .warn_days = c->settings->warn_days,
                .crit_days = c->settings->crit_days,
        };
        return cert_check(&input, c->report);
}

static int conn_prepare_request(Conn *c) {
        const char *host = c->settings->server_name ?: c->settings->host;
        int n;

        switch (c->settings->protocol) {
        case PROTOCOL_MQTT: {
                unsigned char random[4];
                char client_id[32];

                if (RAND_bytes(random, sizeof(random)) != 1)
                        return -EIO;
                snprintf(client_id, sizeof(client_id), "tlswatch-%02x%02x%02x%02x", random[0], random[1],
                         random[2], random[3]);
                n = proto_mqtt_build_connect(client_id, 10, c->request, sizeof(c->request));
                break;
        }
        case PROTOCOL_HTTPS: {
                /* RFC 9110 §7.2: Host carries the port unless it is the scheme's default, and an
                 * IPv6 literal in brackets. */
                char authority[300];
                bool ipv6 = strchr(host, ':') != NULL;
                if (c->settings->port == 443)
                        snprintf(authority, sizeof(authority), ipv6 ? "[%s]" : "%s", host);
                else
                        snprintf(authority, sizeof(authority), ipv6 ? "[%s]:%u" : "%s:%u", host, c->settings->port);
                n = proto_http_build_get(authority, c->settings->http_path ?: "/", (char *) c->request,
                                         sizeof(c->request));
                break;
        }
        default:
                /* wss gets its WebSocket exchange with the protocol work; until then, TLS checks only. */
                n = 0;
        }
        if (n < 0)
                return n;
        c->request_length = (size_t) n;
        return 0;
}

/* Judges the answer so far: 0 to read on, 1 when the conn has completed. */
static int conn_judge_answer(Conn *c) {
        int value = 0, r;

        if (c->settings->protocol == PROTOCOL_MQTT) {
                r = proto_mqtt_parse_connack(c->response, c->response_length, &value);
                if (r == 0)
                        return 0;
                if (r < 0) {
                        conn_complete(c, PROBLEM_PROTOCOL_FAILED,
                                      "the listener answered the MQTT CONNECT with something that is not a "
                                      "CONNACK: is this port an MQTT listener?");
                        return 1;
                }
                if (asprintf(&c->report->protocol_detail, "MQTT CONNACK %d (%s)", value,
                             proto_mqtt_connack_reason(value)) < 0)
                        c->report->protocol_detail = NULL;
                /* Leave politely, so the broker logs a clean disconnect rather than a lost client. */
                ERR_clear_error();
                (void) SSL_write(c->ssl, proto_mqtt_disconnect, sizeof(proto_mqtt_disconnect));
                conn_succeed(c);
                return 1;
        }

        r = proto_http_parse_status_line((const char *) c->response, c->response_length, &value);
        if (r == 0)
                return 0;
        if (r < 0) {
                conn_complete(c, PROBLEM_PROTOCOL_FAILED,
                              "the listener's answer to an HTTP request is not HTTP: is this port an HTTPS listener?");
                return 1;
        }
        if (asprintf(&c->report->protocol_detail, "HTTP %d", value) < 0)
                c->report->protocol_detail = NULL;
        if (value >= 500)
                conn_complete(c, PROBLEM_PROTOCOL_FAILED,
                              "HTTP %d on %s: the service behind the listener is failing", value,
                              c->settings->http_path ?: "/");
        else
                conn_succeed(c);
        return 1;
}

static int conn_step_protocol(Conn *c) {
        int n;

        while (c->request_sent < c->request_length) {
                ERR_clear_error();
                n = SSL_write(c->ssl, c->request + c->request_sent, (int) (c->request_length - c->request_sent));
                if (n <= 0) {
                        int ssl_error = SSL_get_error(c->ssl, n);
                        if (conn_wait_for_tls(c, ssl_error))
                                return 0;
                        return conn_fail_tls(c, ssl_error, ERR_peek_error(), errno);
                }
                c->request_sent += (size_t) n;
        }

        for (;;) {
                if (c->response_length >= sizeof(c->response))
                        return conn_complete(c, PROBLEM_PROTOCOL_FAILED,
                                             "the listener sent %zu bytes without a recognisable answer",
                                             c->response_length);

                ERR_clear_error();
                n = SSL_read(c->ssl, c->response + c->response_length,
                             (int) (sizeof(c->response) - c->response_length));
                if (n > 0) {
                        c->response_length += (size_t) n;
                        if (conn_judge_answer(c) > 0)
                                return 0;
                        continue;
                }

                int ssl_error = SSL_get_error(c->ssl, n);
                if (conn_wait_for_tls(c, ssl_error))
                        return 0;
                unsigned long queued_error = ERR_peek_error();
                if (tls_failure_is_client_certificate_verdict(queued_error, &c->observations))
                        return conn_fail_tls(c, ssl_error, queued_error, errno);
                ERR_clear_error();
                return conn_complete(c, PROBLEM_PROTOCOL_FAILED,
                                     "the listener closed the connection without answering the %s request",
                                     protocol_to_string(c->settings->protocol));
        }
}

static int conn_step_settle(Conn *c) {
        unsigned char scratch[256];
        int n;

        /* Anything the server sends now (session tickets, data) is read and dropped; only an alert matters. */
        for (int i = 0; i < 16; i++) {
                ERR_clear_error();
                n = SSL_read(c->ssl, scratch, sizeof(scratch));
                if (n > 0)
                        continue;

                int ssl_error = SSL_get_error(c->ssl, n);
                if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE)
                        return conn_want(c, ssl_error == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
                unsigned long queued_error = ERR_peek_error();
                if (tls_failure_is_client_certificate_verdict(queued_error, &c->observations))
                        return conn_fail_tls(c, ssl_error, queued_error, errno);
                /* A close right after the handshake is the listener's business, not a TLS fault. */
                ERR_clear_error();
                return conn_succeed(c);
        }
        return conn_succeed(c);
}

static int conn_after_handshake(Conn *c) {
        int r;

        c->report->tls_version = strdup(SSL_get_version(c->ssl));
        c->report->cipher = strdup(SSL_get_cipher_name(c->ssl) ?: "");
        if (!c->report->tls_version || !c->report->cipher)
                return conn_fail_internal(c, -ENOMEM);

        r = conn_analyse(c);
        if (r < 0)
                return conn_fail_internal(c, r);

        if (SSL_version(c->ssl) < TLS1_2_VERSION)
                (void) problem_list_add(&c->report->problems, PROBLEM_OLD_TLS_VERSION, STATUS_WARNING, -1, -1,
                                        "the best TLS version the listener agrees to is %s: enable TLS 1.2 and "
                                        "1.3 on the listener",
                                        c->report->tls_version);

        r = conn_prepare_request(c);
        if (r < 0)
                return conn_fail_internal(c, r);
        if (c->request_length > 0) {
                c->state = CONN_PROTOCOL;
                return conn_step_protocol(c);
        }

        if (SSL_version(c->ssl) >= TLS1_3_VERSION && c->observations.certificate_requested) {
                c->state = CONN_TLS_SETTLE;
                c->settle_until_usec = MIN(c->deadline_usec, now_usec(c) + SETTLE_USEC);
                r = sd_event_source_set_time(c->timer, c->settle_until_usec);
                if (r < 0)
                        return conn_fail_internal(c, r);
                return conn_step_settle(c);
        }
        return conn_succeed(c);
}

static int conn_step_handshake(Conn *c) {
        int r;

        ERR_clear_error();
        errno = 0;
        r = SSL_connect(c->ssl);
        if (r == 1)
                return conn_after_handshake(c);

        int sys_errno = errno;
        int ssl_error = SSL_get_error(c->ssl, r);
        if (conn_wait_for_tls(c, ssl_error))
                return 0;
        unsigned long queued_error = ERR_peek_error();

        /* The certificate may have arrived before the failure (a TLS 1.2 server that rejects our client
         * certificate has sent its own); judge it too, so one probe says everything. */
        if (SSL_get0_peer_certificate(c->ssl))
                (void) conn_analyse(c);
        return conn_fail_tls(c, ssl_error, queued_error, sys_errno);
}

static int conn_finish_connect(Conn *c) {
        int error = c->connect_error;
        socklen_t length = sizeof(error);
        int r;

        if (error == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
                error = errno;
        if (error != 0)
                return conn_complete(c, PROBLEM_CONNECT_FAILED, "TCP connect to %s port %u failed: %s",
                                     c->report->address, c->settings->port, strerror(error));

        const char *server_name = c->settings->server_name ?: c->settings->host;
        /* RFC 6066 §3: SNI carries host names only, never IP literals. */
        r = tls_session_new(c->settings->tls_context, c->fd,
                            cert_check_name_is_ip(server_name) ? NULL : server_name, &c->observations, &c->ssl);
        if (r < 0)
                return conn_fail_internal(c, r);

        c->state = CONN_TLS_HANDSHAKE;
        return conn_step_handshake(c);
}

static int on_conn_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;

        switch (c->state) {
        case CONN_CONNECTING:
                return conn_finish_connect(c);
        case CONN_TLS_HANDSHAKE:
                return conn_step_handshake(c);
        case CONN_TLS_SETTLE:
                return conn_step_settle(c);
        case CONN_PROTOCOL:
                return conn_step_protocol(c);
        default:
                return 0;
        }
}

static int on_conn_immediate(sd_event_source *source, void *userdata) {
        return conn_finish_connect(userdata);
}

static int on_conn_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Conn *c = userdata;

        if (c->state == CONN_TLS_SETTLE && usec < c->deadline_usec)
                return conn_succeed(c); /* no verdict: the server accepted our certificate */

        /* TLS worked and the service behind it stayed silent: that is the protocol failing. */
        if (c->state == CONN_PROTOCOL)
                return conn_complete(c, PROBLEM_PROTOCOL_FAILED,
                                     "no answer to the %s request within %.1f s: is this port a %s listener?",
                                     protocol_to_string(c->settings->protocol),
                                     (double) c->settings->timeout_usec / 1e6,
                                     protocol_to_string(c->settings->protocol));

        return conn_complete(c, PROBLEM_TIMEOUT, "no answer from %s within %.1f s, %s", c->report->address,
                             (double) c->settings->timeout_usec / 1e6, state_description(c->state));
}

int conn_start(sd_event *event, const ProbeSettings *settings, const struct sockaddr *address,
               socklen_t address_length, uint64_t deadline_usec, AddressReport *report, conn_handler_t handler,
               void *userdata, Conn **ret) {
        _cleanup_(conn_freep) Conn *c = NULL;
        int r;

        c = calloc(1, sizeof(Conn));
        if (!c)
                return -ENOMEM;
        *c = (Conn) {
                .event = sd_event_ref(event),
                .settings = settings,
                .report = report,
                .state = CONN_CONNECTING,
                .fd = -EBADF,
                .deadline_usec = deadline_usec,
                .handler = handler,
                .userdata = userdata,
        };
        c->started_usec = now_usec(c);

        r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, deadline_usec, 0, on_conn_timer, c);
        if (r < 0)
                return r;

        c->fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (c->fd < 0)
                return -errno;
        r = sd_event_add_io(event, &c->io, c->fd, EPOLLOUT, on_conn_io, c);
        if (r < 0)
                return r;

        if (connect(c->fd, address, address_length) < 0 && errno != EINPROGRESS) {
                /* Refusals on loopback can be immediate; report them from the loop like any other. */
                c->connect_error = errno;
                r = sd_event_add_defer(event, &c->immediate, on_conn_immediate, c);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

Conn *conn_free(Conn *c) {
        if (!c)
                return NULL;
        conn_stop(c);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
