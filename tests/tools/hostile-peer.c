/* SPDX-License-Identifier: MIT */
/*
 * A hostile TLS listener for the integration tests: built on OpenSSL's server side, it misbehaves at one
 * chosen step (oversized or absurd certificates made at start-up, endless or huge protocol answers,
 * resets, trickles, renegotiation). Each connection is served by a forked child, so one slow client
 * never holds up the next; every process dies when its lifetime ends or its parent goes.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIFETIME_MAX_SEC 3600
/* What one read of a ClientHello or a request head takes; a probe's are far smaller. */
#define REQUEST_MAX (16 * 1024)
#define NAME_HUGE_LEN (64 * 1024)
#define BIG_CHAIN_CERTS 17
#define BIG_CHAIN_PADDING (64 * 1024)
#define MANY_CHAIN_CERTS 200
#define FLAP_SEC 20

typedef enum Mode {
        MODE_BIG_CHAIN,      /* a chain of more than 1 MiB */
        MODE_MANY_CERTS,     /* 200 certificates */
        MODE_SLOWLORIS,      /* one byte of a ServerHello per second */
        MODE_RANDOM_RECORDS, /* TLS record headers around random bytes */
        MODE_HTTP_ENDLESS,   /* HTTP 101, then a header that never ends */
        MODE_MQTT_HUGE,      /* a CONNACK whose remaining length is 268,435,455 */
        MODE_WS_HUGE,        /* a WebSocket upgrade, then a frame claiming 2^63 bytes */
        MODE_RESET,          /* RST after reading the ClientHello */
        MODE_CLOSE,          /* FIN after reading the ClientHello, before any ServerHello */
        MODE_RENEGOTIATE,    /* TLS 1.2, a HelloRequest after another, never an answer */
        MODE_LONG_NAMES,     /* a subject and a DNS name of 64 KiB */
        MODE_NUL_NAMES,      /* "localhost\0.evil.example" as CN and as DNS name */
        MODE_YEAR_9999,      /* notAfter 9999-12-31 (GeneralizedTime) */
        MODE_YEAR_1950,      /* 1950 (UTCTime "50"), expired */
        MODE_GOOD,           /* a plain good TLS server, for load and soak runs */
        MODE_FLAP,           /* good for FLAP_SEC, then closing at once for FLAP_SEC, and so on */
        _MODE_MAX,
} Mode;

static const char *const mode_names[_MODE_MAX] = {
        [MODE_BIG_CHAIN] = "big-chain",         [MODE_MANY_CERTS] = "many-certs",
        [MODE_SLOWLORIS] = "slowloris",         [MODE_RANDOM_RECORDS] = "random-records",
        [MODE_HTTP_ENDLESS] = "http-endless",   [MODE_MQTT_HUGE] = "mqtt-huge",
        [MODE_WS_HUGE] = "ws-huge",             [MODE_RESET] = "reset",
        [MODE_CLOSE] = "close",                 [MODE_RENEGOTIATE] = "renegotiate",
        [MODE_LONG_NAMES] = "long-names",       [MODE_NUL_NAMES] = "nul-names",
        [MODE_YEAR_9999] = "year-9999",         [MODE_YEAR_1950] = "year-1950",
        [MODE_GOOD] = "good",                   [MODE_FLAP] = "flap",
};

static const char nul_name[] = "localhost\0.evil.example";

static void usage(FILE *f) {
        int i;

        fprintf(f,
                "usage: hostile-peer --mode MODE --port-file FILE [--lifetime SECONDS] [--cert-out PEM]\n"
                "Listens on an ephemeral 127.0.0.1 port, writes it to FILE and serves every client in\n"
                "the chosen hostile way until SECONDS (default 60) have passed. --cert-out writes its\n"
                "self-signed certificate (CN and DNS name localhost), for a client to trust. Modes:");
        for (i = 0; i < _MODE_MAX; i++)
                fprintf(f, " %s", mode_names[i]);
        fputc('\n', f);
}

static void die_ssl(const char *what) {
        fprintf(stderr, "hostile-peer: %s failed\n", what);
        ERR_print_errors_fp(stderr);
        exit(EXIT_FAILURE);
}

static int write_port_file(const char *path, unsigned port) {
        char tmp[4096];
        FILE *f;

        if ((size_t) snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
                return -ENAMETOOLONG;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fprintf(f, "%u\n", port);
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                int r = -errno;

                (void) unlink(tmp);
                return r;
        }
        return 0;
}

/* Adds a name entry without OpenSSL's string-table length limits, which are the point of the test. */
static void name_add_raw(X509_NAME *name, int nid, const void *bytes, size_t len) {
        if (!X509_NAME_add_entry_by_NID(name, nid, V_ASN1_UTF8STRING, bytes, (int) len, -1, 0))
                die_ssl("X509_NAME_add_entry_by_NID");
}

static void add_dns_name(X509 *x, const void *bytes, size_t len) {
        GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
        GENERAL_NAME *name = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();

        if (!names || !name || !s || !ASN1_STRING_set(s, bytes, (int) len))
                die_ssl("building subjectAltName");
        GENERAL_NAME_set0_value(name, GEN_DNS, s);
        if (!sk_GENERAL_NAME_push(names, name) || !X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0))
                die_ssl("adding subjectAltName");
        GENERAL_NAMES_free(names);
}

/* An opaque private extension (OID under the documentation arc) that makes a certificate big. */
static void add_padding(X509 *x, size_t len) {
        ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.32473.1", 1);
        ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
        unsigned char *bytes = malloc(len);

        if (!oid || !data || !bytes)
                die_ssl("allocating padding");
        memset(bytes, 'P', len);
        if (!ASN1_OCTET_STRING_set(data, bytes, (int) len) ||
            !X509_add_ext(x, X509_EXTENSION_create_by_OBJ(NULL, oid, 0, data), -1))
                die_ssl("adding padding");
        free(bytes);
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(data);
}

/* A self-signed certificate; the caller adds what makes it hostile before sign_cert(). */
static X509 *new_cert(EVP_PKEY *key, long serial) {
        X509 *x = X509_new();

        if (!x || !X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
            !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
            !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) || !X509_set_pubkey(x, key))
                die_ssl("creating a certificate");
        return x;
}

static void sign_cert(X509 *x, EVP_PKEY *key) {
        /* Self-signed: the issuer is the subject. */
        if (!X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_sign(x, key, EVP_sha256()))
                die_ssl("signing a certificate");
}

static SSL_CTX *make_context(Mode mode, const char *cert_out) {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        X509 *leaf;
        int extra = 0, i;

        if (!key || !ctx)
                die_ssl("creating the key and context");

        leaf = new_cert(key, 1);
        switch (mode) {
        case MODE_LONG_NAMES: {
                char *huge = malloc(NAME_HUGE_LEN);

                if (!huge)
                        die_ssl("malloc");
                memset(huge, 'a', NAME_HUGE_LEN);
                /* A DNS name of 64 KiB and a CN of 16 KiB: together they stay below OpenSSL's default
                 * 100 KiB certificate-list limit, so the client gets as far as reading the names. */
                name_add_raw(X509_get_subject_name(leaf), NID_commonName, huge, 16 * 1024);
                add_dns_name(leaf, huge, NAME_HUGE_LEN);
                free(huge);
                break;
        }
        case MODE_NUL_NAMES:
                name_add_raw(X509_get_subject_name(leaf), NID_commonName, nul_name, sizeof nul_name - 1);
                add_dns_name(leaf, nul_name, sizeof nul_name - 1);
                break;
        case MODE_YEAR_9999:
                name_add_raw(X509_get_subject_name(leaf), NID_commonName, "localhost", 9);
                add_dns_name(leaf, "localhost", 9);
                if (!ASN1_TIME_set_string(X509_getm_notAfter(leaf), "99991231235959Z"))
                        die_ssl("setting notAfter");
                break;
        case MODE_YEAR_1950:
                name_add_raw(X509_get_subject_name(leaf), NID_commonName, "localhost", 9);
                add_dns_name(leaf, "localhost", 9);
                /* Two-digit UTCTime years 50-99 are 19xx (RFC 5280 4.1.2.5.1). */
                if (!ASN1_TIME_set_string(X509_getm_notBefore(leaf), "500101000000Z") ||
                    !ASN1_TIME_set_string(X509_getm_notAfter(leaf), "501231235959Z"))
                        die_ssl("setting the validity");
                break;
        default:
                name_add_raw(X509_get_subject_name(leaf), NID_commonName, "localhost", 9);
                add_dns_name(leaf, "localhost", 9);
                break;
        }
        sign_cert(leaf, key);
        if (cert_out) {
                /* The leaf is self-signed: a client that trusts this file trusts the listener. */
                FILE *f = fopen(cert_out, "we");

                if (!f || PEM_write_X509(f, leaf) != 1 || fclose(f) != 0)
                        die_ssl("writing --cert-out");
        }
        if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
                die_ssl("loading the certificate");
        X509_free(leaf);

        if (mode == MODE_BIG_CHAIN)
                extra = BIG_CHAIN_CERTS - 1;
        else if (mode == MODE_MANY_CERTS)
                extra = MANY_CHAIN_CERTS - 1;
        for (i = 0; i < extra; i++) {
                X509 *x = new_cert(key, 2 + i);
                char cn[64];

                snprintf(cn, sizeof cn, "hostile-peer filler %d", i);
                name_add_raw(X509_get_subject_name(x), NID_commonName, cn, strlen(cn));
                if (mode == MODE_BIG_CHAIN)
                        add_padding(x, BIG_CHAIN_PADDING);
                sign_cert(x, key);
                /* Takes the reference. */
                if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1)
                        die_ssl("adding a chain certificate");
        }

        /* Renegotiation exists only up to TLS 1.2. */
        if (mode == MODE_RENEGOTIATE && SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1)
                die_ssl("limiting to TLS 1.2");

        EVP_PKEY_free(key);
        return ctx;
}

static int listen_loopback(unsigned *ret_port) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sin;
        int fd;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sin, len) < 0 || listen(fd, 1024) < 0 ||
            getsockname(fd, (struct sockaddr *) &sin, &len) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        *ret_port = ntohs(sin.sin_port);
        return fd;
}

/* Reads what the client sent first (its ClientHello), with a bound on the wait. */
static void read_first(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char buf[REQUEST_MAX];

        if (poll(&p, 1, 5000) > 0)
                (void) recv(fd, buf, sizeof buf, 0);
}

/* Reads a request head up to its blank line; returns its length, or -1. */
static int ssl_read_head(SSL *ssl, char *buf, size_t size) {
        size_t len = 0;

        while (len + 1 < size) {
                int n = SSL_read(ssl, buf + len, (int) (size - 1 - len));

                if (n <= 0)
                        return -1;
                len += (size_t) n;
                buf[len] = '\0';
                if (strstr(buf, "\r\n\r\n"))
                        return (int) len;
        }
        return -1;
}

/* Writes `prefix`, then `filler` over and over until the client gives up. */
static void ssl_write_forever(SSL *ssl, const void *prefix, size_t prefix_len, const char *filler) {
        if (prefix_len > 0 && SSL_write(ssl, prefix, (int) prefix_len) <= 0)
                return;
        while (SSL_write(ssl, filler, (int) strlen(filler)) > 0)
                ;
}

static void serve_ws_huge(SSL *ssl) {
        static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; /* RFC 6455 1.3 */
        static const uint8_t frame[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0 };
        unsigned char digest[SHA_DIGEST_LENGTH], accept[64];
        char head[REQUEST_MAX], keyed[256], answer[512];
        const char *key, *end;
        int n;

        if (ssl_read_head(ssl, head, sizeof head) < 0)
                return;
        key = strcasestr(head, "\r\nSec-WebSocket-Key:");
        if (!key)
                return;
        key += strlen("\r\nSec-WebSocket-Key:");
        key += strspn(key, " \t");
        end = strstr(key, "\r\n");
        if (!end || (size_t) (end - key) > 100)
                return;
        snprintf(keyed, sizeof keyed, "%.*s%s", (int) (end - key), key, guid);
        SHA1((const unsigned char *) keyed, strlen(keyed), digest);
        EVP_EncodeBlock(accept, digest, sizeof digest);
        n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
                     accept);
        if (SSL_write(ssl, answer, n) <= 0)
                return;
        /* The client's CONNECT frame, then the answer that claims to go on for 2^63 bytes. */
        if (SSL_read(ssl, head, sizeof head) <= 0)
                return;
        ssl_write_forever(ssl, frame, sizeof frame, "0123456789abcdef0123456789abcdef");
}

static void serve_renegotiate(SSL *ssl, int fd) {
        struct timeval tv = { .tv_usec = 200 * 1000 };
        char buf[4096];
        int i;

        /* A short receive timeout turns the blocking reads into a pulse: another HelloRequest each time. */
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        for (i = 0; i < 10000; i++) {
                int n;

                (void) SSL_renegotiate(ssl);
                (void) SSL_do_handshake(ssl);
                n = SSL_read(ssl, buf, sizeof buf);
                if (n <= 0) {
                        int e = SSL_get_error(ssl, n);

                        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                                return;
                }
                ERR_clear_error();
        }
}

static void serve_tls(SSL_CTX *ctx, Mode mode, int fd) {
        static const uint8_t connack_huge[] = { 0x20, 0xff, 0xff, 0xff, 0x7f };
        static const char endless_head[] =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Endless: ";
        char buf[REQUEST_MAX];
        SSL *ssl = SSL_new(ctx);

        if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
                return;

        switch (mode) {
        case MODE_HTTP_ENDLESS:
                if (ssl_read_head(ssl, buf, sizeof buf) >= 0)
                        ssl_write_forever(ssl, endless_head, sizeof endless_head - 1,
                                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
                break;
        case MODE_MQTT_HUGE:
                if (SSL_read(ssl, buf, sizeof buf) > 0)
                        ssl_write_forever(ssl, connack_huge, sizeof connack_huge, "\x01\x02\x03\x04");
                break;
        case MODE_WS_HUGE:
                serve_ws_huge(ssl);
                break;
        case MODE_RENEGOTIATE:
                serve_renegotiate(ssl, fd);
                break;
        default:
                /* Whatever the client sends, until it hangs up; a good server answers HTTP. */
                while (SSL_read(ssl, buf, sizeof buf) > 0)
                        if (mode == MODE_GOOD)
                                (void) SSL_write(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
                (void) SSL_shutdown(ssl);
                break;
        }
        SSL_free(ssl);
}

static void serve_raw(Mode mode, int fd) {
        static const uint8_t server_hello_start[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76 };
        uint8_t record[5 + 4096];
        size_t i;

        read_first(fd);
        switch (mode) {
        case MODE_RESET: {
                struct linger l = { .l_onoff = 1, .l_linger = 0 };

                (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                break;
        }
        case MODE_SLOWLORIS:
                /* A plausible ServerHello, then zeros, one byte a second until the client leaves. */
                for (i = 0;; i++) {
                        uint8_t b = i < sizeof server_hello_start ? server_hello_start[i] : 0;

                        if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
                                break;
                        sleep(1);
                }
                break;
        case MODE_RANDOM_RECORDS:
                for (i = 0; i < 256; i++) {
                        uint16_t len = sizeof record - 5;

                        if (RAND_bytes(record, sizeof record) != 1)
                                break;
                        /* Mostly handshake records, some of every other type, all of random content. */
                        record[0] = (uint8_t) (i % 4 == 0 ? 20 + record[1] % 5 : 22);
                        record[1] = 3;
                        record[2] = 3;
                        record[3] = (uint8_t) (len >> 8);
                        record[4] = (uint8_t) len;
                        if (send(fd, record, sizeof record, MSG_NOSIGNAL) < 0)
                                break;
                }
                break;
        default:
                break;
        }
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "mode",      required_argument, NULL, 'm' },
                { "port-file", required_argument, NULL, 'p' },
                { "lifetime",  required_argument, NULL, 'l' },
                { "cert-out",  required_argument, NULL, 'c' },
                { "help",      no_argument,       NULL, 'h' },
                {}
        };
        const char *port_file = NULL, *cert_out = NULL;
        Mode mode = _MODE_MAX;
        long lifetime = 60;
        time_t deadline;
        SSL_CTX *ctx = NULL;
        unsigned port = 0;
        int c, lfd, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        for (mode = 0; mode < _MODE_MAX; mode++)
                                if (strcmp(optarg, mode_names[mode]) == 0)
                                        break;
                        break;
                case 'p':
                        port_file = optarg;
                        break;
                case 'l':
                        lifetime = strtol(optarg, NULL, 10);
                        break;
                case 'c':
                        cert_out = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return EXIT_FAILURE;
                }
        if (mode == _MODE_MAX || !port_file || lifetime < 1 || lifetime > LIFETIME_MAX_SEC || optind != argc) {
                usage(stderr);
                return EXIT_FAILURE;
        }

        if (mode != MODE_SLOWLORIS && mode != MODE_RANDOM_RECORDS && mode != MODE_RESET && mode != MODE_CLOSE)
                ctx = make_context(mode, cert_out);

        lfd = listen_loopback(&port);
        if (lfd < 0) {
                fprintf(stderr, "hostile-peer: cannot listen on 127.0.0.1: %s\n", strerror(-lfd));
                return EXIT_FAILURE;
        }
        r = write_port_file(port_file, port);
        if (r < 0) {
                fprintf(stderr, "hostile-peer: cannot write %s: %s\n", port_file, strerror(-r));
                return EXIT_FAILURE;
        }

        /* Children are reaped by the kernel; a client that left must not kill us with SIGPIPE. */
        (void) signal(SIGCHLD, SIG_IGN);
        (void) signal(SIGPIPE, SIG_IGN);
        deadline = time(NULL) + lifetime;

        for (;;) {
                struct pollfd p = { .fd = lfd, .events = POLLIN };
                time_t left = deadline - time(NULL);
                int fd;

                if (left <= 0)
                        break;
                if (poll(&p, 1, (int) (left > 1 ? 1000 : left * 1000)) <= 0)
                        continue;
                fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;

                switch (fork()) {
                case -1:
                        break;
                case 0:
                        /* Gone with the parent, and never past the lifetime either way. */
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() == 1)
                                _exit(EXIT_SUCCESS);
                        alarm((unsigned) (deadline - time(NULL) + 1));
                        close(lfd);
                        if (mode == MODE_FLAP && time(NULL) / FLAP_SEC % 2 == 1)
                                ; /* the down half: closed at once */
                        else if (ctx)
                                serve_tls(ctx, mode == MODE_FLAP ? MODE_GOOD : mode, fd);
                        else
                                serve_raw(mode, fd);
                        close(fd);
                        _exit(EXIT_SUCCESS);
                default:
                        break;
                }
                close(fd);
        }
        SSL_CTX_free(ctx);
        close(lfd);
        return EXIT_SUCCESS;
}
