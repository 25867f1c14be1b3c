/* SPDX-License-Identifier: MIT */
/* The per-address state machine of a probe. Every state names what it waits for; the IO events wanted
 * follow from the state and from what OpenSSL last asked for; every way out goes through
 * conn_complete(), which stops the sources before it reports. */
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "cert-check.h"
#include "crl.h"
#include "conn.h"
#include "log.h"
#include "exchange.h"
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

struct Conn {
        sd_event *event;
        const ProbeSettings *settings;
        const Protocol *protocol; /* what to speak after the handshake */
        SSL_CTX *tls_context;
        const char *password;
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

        Exchange *exchange; /* the protocol's exchange, NULL for plain tls */
        STACK_OF(X509) *verified; /* Revocation= on: the verified path, kept past SSL_free() for the CRLs */
        uint64_t handshake_done_usec;
        uint64_t first_byte_usec; /* the first byte of the application's answer */

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

/* The real clock, not the loop's cached iteration time: durations of fast local exchanges matter. */
static uint64_t now_usec(Conn *c) {
        struct timespec ts;

        (void) c;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void conn_stop(Conn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->immediate = sd_event_source_disable_unref(c->immediate);
        if (c->ssl) {
                SSL_free(c->ssl);
                c->ssl = NULL;
        }
        c->exchange = exchange_free(c->exchange);
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

        code = tls_classify_failure(ssl_error, queued_error, sys_errno, &c->observations,
                                    c->state != CONN_TLS_HANDSHAKE, message, sizeof(message));
        ERR_clear_error();
        /* With the groups narrowed, the likeliest reason for a refused handshake is that the listener
         * has none of them; say which were offered, so the fix is one setting away. */
        if (code == PROBLEM_TLS_HANDSHAKE_FAILED && c->state == CONN_TLS_HANDSHAKE && c->settings->groups &&
            tls_failure_may_be_groups(queued_error))
                return conn_complete(
                        c, code,
                        "%s: the probe offered only the key-exchange groups %s (Groups=, --groups), "
                        "and the listener may support none of them",
                        message, c->settings->groups);
        return conn_complete(c, code, "%s", message);
}

/* A write after the handshake can fail on the reset that follows a TLS 1.3 server's verdict on our
 * certificate (alert 116, then close with our CONNECT unread): the alert still waits in the receive
 * queue, so read it before deciding what went wrong. */
static int conn_fail_write(Conn *c, int ssl_error, unsigned long queued_error, int sys_errno) {
        unsigned char scratch[256];
        int n;

        ERR_clear_error();
        n = SSL_read(c->ssl, scratch, sizeof(scratch));
        if (n <= 0) {
                unsigned long verdict = ERR_peek_error();
                if (tls_failure_is_client_certificate_verdict(verdict, &c->observations))
                        return conn_fail_tls(c, SSL_get_error(c->ssl, n), verdict, errno);
        }
        return conn_fail_tls(c, ssl_error, queued_error, sys_errno);
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
                .expiry = probe_settings_expiry(c->settings),
                .name_only_in_cn = c->settings->name_only_in_cn,
                .pins = c->settings->pin_sha256,
        };
        int r = cert_check(&input, c->report);
        if (r < 0)
                return r;

        if (c->settings->revocation != REVOCATION_MODE_OFF && input.verified && c->ssl &&
            !problem_list_has(&c->report->problems, PROBLEM_CHAIN_UNVERIFIED)) {
                const unsigned char *staple = NULL;
                long size = SSL_get_tlsext_status_ocsp_resp(c->ssl, &staple);

                if (size > 0) {
                        r = crl_ocsp_staple(staple, (size_t) size, input.verified, input.now,
                                            &c->report->ocsp_staple);
                        if (r < 0)
                                return r;
                }
        }

        /* Only a path that verified to a trust anchor has issuers whose CRLs mean anything. */
        if (c->settings->revocation != REVOCATION_MODE_OFF && input.verified && !c->verified &&
            !problem_list_has(&c->report->problems, PROBLEM_CHAIN_UNVERIFIED) &&
            sk_X509_num(input.verified) == (int) c->report->n_chain) {
                c->verified = X509_chain_up_ref(input.verified);
                if (!c->verified)
                        return -ENOMEM;
        }
        return 0;
}

/* Host header value: RFC 9110 §7.2, the port unless it is the scheme's default, IPv6 in brackets. */
static void format_authority(const Conn *c, char *buffer, size_t size) {
        const char *host = c->settings->server_name ?: c->settings->host;
        bool ipv6 = strchr(host, ':') != NULL;

        if (c->settings->port == 443)
                snprintf(buffer, size, ipv6 ? "[%s]" : "%s", host);
        else
                snprintf(buffer, size, ipv6 ? "[%s]:%u" : "%s:%u", host, c->settings->port);
}

static void conn_record_application(Conn *c) {
        const ExchangeResult *result = exchange_result(c->exchange);
        AddressReport *a = c->report;

        a->application = (ApplicationReport) {
                .present = true,
                .http_status = result->http_status,
                .connack = result->connack,
                .mqtt_version = result->mqtt_version,
                .connack_text = result->connack_text,
                .duration_usec = now_usec(c) - c->handshake_done_usec,
                .first_byte_usec = c->first_byte_usec ? c->first_byte_usec - c->handshake_done_usec : 0,
        };
        snprintf(a->application.websocket_protocol, sizeof(a->application.websocket_protocol), "%s",
                 result->websocket_protocol);

        if (c->protocol->describe && c->protocol->describe(result, &a->protocol_detail) < 0)
                a->protocol_detail = NULL;
}

/* Ends the exchange: says goodbye if there is something polite to say, then completes. */
static int conn_finish_exchange(Conn *c) {
        const uint8_t *output;
        size_t n;

        conn_record_application(c);
        if (exchange_status(c->exchange) == EXCHANGE_FAILED)
                return conn_complete(c, PROBLEM_PROTOCOL_FAILED, "%s", exchange_failure(c->exchange));

        /* One best-effort write of the DISCONNECT (and close frame): the broker then logs a clean
         * goodbye instead of a lost client; whether it arrives changes nothing in the verdict. */
        n = exchange_output(c->exchange, &output);
        if (n > 0) {
                ERR_clear_error();
                (void) SSL_write(c->ssl, output, (int) n);
                ERR_clear_error();
        }
        return conn_succeed(c);
}

static int conn_step_protocol(Conn *c) {
        const uint8_t *output;
        size_t pending;
        int n;

write_pending:
        while ((pending = exchange_output(c->exchange, &output)) > 0) {
                ERR_clear_error();
                n = SSL_write(c->ssl, output, (int) pending);
                if (n <= 0) {
                        int sys_errno = errno;
                        int ssl_error = SSL_get_error(c->ssl, n);
                        if (conn_wait_for_tls(c, ssl_error))
                                return 0;
                        return conn_fail_write(c, ssl_error, ERR_peek_error(), sys_errno);
                }
                exchange_sent(c->exchange, (size_t) n);
        }

        for (;;) {
                uint8_t buffer[16 * 1024];

                ERR_clear_error();
                n = SSL_read(c->ssl, buffer, sizeof(buffer));
                if (n > 0) {
                        if (!c->first_byte_usec)
                                c->first_byte_usec = now_usec(c);
                        ExchangeStatus status = exchange_input(c->exchange, buffer, (size_t) n);
                        if (status != EXCHANGE_RUNNING)
                                return conn_finish_exchange(c);
                        /* The answer may call for more from us (the CONNACK after a 101 needs a CONNECT). */
                        if (exchange_output(c->exchange, &output) > 0)
                                goto write_pending;
                        continue;
                }

                int ssl_error = SSL_get_error(c->ssl, n);
                if (conn_wait_for_tls(c, ssl_error))
                        return 0;
                unsigned long queued_error = ERR_peek_error();
                if (tls_failure_is_client_certificate_verdict(queued_error, &c->observations))
                        return conn_fail_tls(c, ssl_error, queued_error, errno);
                ERR_clear_error();
                (void) exchange_end_of_input(c->exchange);
                return conn_finish_exchange(c);
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

        /* Both names are OpenSSL's static strings: a report keeps the pointers, not copies. */
        c->report->tls_version = SSL_get_version(c->ssl);
        c->report->cipher = SSL_get_cipher_name(c->ssl) ?: "";
        tls_negotiated_group(c->ssl, c->report->group, sizeof(c->report->group));

        r = conn_analyse(c);
        if (r < 0)
                return conn_fail_internal(c, r);

        if (SSL_version(c->ssl) < TLS1_2_VERSION)
                (void) problem_list_add(&c->report->problems, PROBLEM_OLD_TLS_VERSION, STATUS_WARNING, -1, -1,
                                        "the best TLS version the listener agrees to is %s: enable TLS 1.2 and "
                                        "1.3 on the listener",
                                        c->report->tls_version);

        c->handshake_done_usec = now_usec(c);
        c->report->handshake_usec = c->handshake_done_usec - c->started_usec;
        if (c->protocol->start && c->password &&
            !cert_check_identity_verified(&c->report->problems)) {
                /* The password goes only to a listener that proved its identity: an impostor on the
                 * path would otherwise collect it from every probe. The chain problems already make
                 * the verdict critical, so skipping the exchange hides nothing. */
                c->report->protocol_detail = strdup("MQTT credentials withheld: the listener's identity "
                                                    "is not verified");
                if (!c->report->protocol_detail)
                        return conn_fail_internal(c, -ENOMEM);
                return conn_succeed(c);
        }
        if (c->protocol->start) {
                char authority[300];
                format_authority(c, authority, sizeof(authority));
                ExchangeSettings exchange = {
                        .probe = *c->settings, /* a view: the exchange copies what it keeps */
                        .authority = authority,
                        .password = c->password,
                };
                exchange.probe.protocol = c->protocol; /* resolved, also when set by port */
                r = exchange_new(&exchange, &c->exchange);
                if (r < 0)
                        return conn_fail_internal(c, r);
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
        r = tls_session_new(c->tls_context, c->fd,
                            cert_check_name_is_ip(server_name) ? NULL : server_name, &c->observations, &c->ssl);
        if (r < 0)
                return conn_fail_internal(c, r);
        /* With Revocation= on, ask for a stapled OCSP response (RFC 6066 §8), shown for information;
         * off, the ClientHello stays as it was. */
        if (c->settings->revocation != REVOCATION_MODE_OFF &&
            SSL_set_tlsext_status_type(c->ssl, TLSEXT_STATUSTYPE_ocsp) != 1)
                return conn_fail_internal(c, -ENOMEM);

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
                                     c->protocol->name, (double) c->settings->timeout_usec / 1e6, c->protocol->name);

        return conn_complete(c, PROBLEM_TIMEOUT, "no answer from %s within %.1f s, %s", c->report->address,
                             (double) c->settings->timeout_usec / 1e6, state_description(c->state));
}

int conn_start(sd_event *event, const ProbeSettings *settings, SSL_CTX *tls_context, const char *password,
               const struct sockaddr *address,
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
                .protocol = probe_settings_protocol(settings),
                .tls_context = tls_context,
                .password = password,
                .report = report,
                .state = CONN_CONNECTING,
                .fd = -EBADF,
                .deadline_usec = deadline_usec,
                .handler = handler,
                .userdata = userdata,
        };
        c->started_usec = now_usec(c);

        r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, deadline_usec, PROBE_DEADLINE_ACCURACY_USEC,
                              on_conn_timer, c);
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

STACK_OF(X509) *conn_verified_chain(Conn *c) {
        return c ? c->verified : NULL;
}

Conn *conn_free(Conn *c) {
        if (!c)
                return NULL;
        conn_stop(c);
        sk_X509_pop_free(c->verified, X509_free);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
