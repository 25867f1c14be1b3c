/* SPDX-License-Identifier: MIT */
/* TLS contexts for probing and the classification of handshake failures. Contexts are cached per
 * trust, client-credential and key-exchange-group settings: loading the system bundle costs more
 * than a handshake. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>

#include "cert-check.h"
#include "macro.h"
#include "problem.h"

typedef struct TlsSettings {
        const char *ca_file;   /* PEM trust anchors; NULL: the system store */
        const char *cert_file; /* client certificate chain for two-way TLS; NULL: none */
        const char *key_file;
        const char
                *groups; /* key-exchange groups to offer, OpenSSL's "X25519:P-256" form; NULL: its default */
} TlsSettings;

typedef struct TlsContextCache TlsContextCache;

int tls_context_cache_new(TlsContextCache **ret);
TlsContextCache *tls_context_cache_free(TlsContextCache *cache);
DEFINE_TRIVIAL_CLEANUP_FUNC(TlsContextCache *, tls_context_cache_free);

/* Returns a new reference to the context for these settings, created on first use. Errors:
 * -ENOENT/-EACCES (a file cannot be read), -EBADMSG (no usable certificate or key in it),
 * -EKEYREJECTED (the key does not belong to the client certificate), -ENOMEM. */
int tls_context_cache_get(TlsContextCache *cache, const TlsSettings *settings, SSL_CTX **ret);

/* What the callbacks saw during one handshake. Owned by the connection, attached to its SSL. */
typedef struct TlsObservations {
        VerifyError errors[VERIFY_ERRORS_MAX];
        size_t n_errors;
        bool certificate_requested; /* the server sent a CertificateRequest */
        bool client_certificate_set;
} TlsObservations;

/* Creates a client SSL on `fd`; `sni` NULL sends no server name (IP literals). */
int tls_session_new(SSL_CTX *ctx, int fd, const char *sni, TlsObservations *observations, SSL **ret);

/* Key-exchange groups. OpenSSL's list syntax takes names it knows under several spellings (X25519 and
 * x25519, P-256, secp256r1 and prime256v1); which groups exist depends on the build: Debian 12's
 * OpenSSL 3.0 has the elliptic curves and FFDHE groups, the hybrid post-quantum ones (X25519MLKEM768)
 * need OpenSSL 3.5. */

/* 0 when this OpenSSL takes `list` (one name, or names joined by ':') as the groups to offer,
 * -EOPNOTSUPP when it does not (an unknown name, one group named twice), -ENOMEM. */
int tls_groups_check(const char *list);

/* The well-known groups this OpenSSL can offer, comma-separated, for a message naming the choice. */
void tls_groups_available(char *buffer, size_t size);

/* The group's name as reports show it: "X25519", "P-256", "P-384", "P-521", "X448" for OpenSSL's
 * x25519, secp256r1, ...; any other name (ffdhe2048, X25519MLKEM768) as OpenSSL gives it. */
const char *tls_group_display_name(const char *openssl_name);

/* The group the handshake on `ssl` negotiated, by its display name, into `buffer`; "" when none was
 * (TLS 1.2 with RSA key exchange, or no handshake). */
void tls_negotiated_group(SSL *ssl, char *buffer, size_t size);

/* Whether a handshake failure may be the listener refusing every group offered: an alert
 * handshake_failure, insufficient_security or illegal_parameter, which is what a TLS 1.3 server
 * without a common group sends. */
bool tls_failure_may_be_groups(unsigned long queued_error);

/* Turns a failed SSL_connect()/SSL_read() into a stable problem code and a sentence for the operator.
 * `ssl_error` is SSL_get_error()'s value, `queued_error` the ERR_get_error() value taken right after,
 * `sys_errno` errno for SSL_ERROR_SYSCALL. Pure: it inspects no connection. */
ProblemCode tls_classify_failure(int ssl_error, unsigned long queued_error, int sys_errno,
                                 const TlsObservations *observations, bool handshake_done, char *message,
                                 size_t size);

/* TLS 1.3's verdict on a client certificate comes after the client's handshake is complete; this
 * says whether a post-handshake read failure is that verdict. */
bool tls_failure_is_client_certificate_verdict(unsigned long queued_error, const TlsObservations *observations);
