/* SPDX-License-Identifier: MIT */
/* TLS contexts for probing and the classification of handshake failures. Contexts are cached per
 * trust and client-credential settings: loading the system bundle costs more than a handshake. */
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

/* Turns a failed SSL_connect()/SSL_read() into a stable problem code and a sentence for the operator.
 * `ssl_error` is SSL_get_error()'s value, `queued_error` the ERR_get_error() value taken right after,
 * `sys_errno` errno for SSL_ERROR_SYSCALL. Pure: it inspects no connection. */
ProblemCode tls_classify_failure(int ssl_error, unsigned long queued_error, int sys_errno,
                                 const TlsObservations *observations, bool handshake_done, char *message,
                                 size_t size);

/* TLS 1.3's verdict on a client certificate comes after the client's handshake is complete; this
 * says whether a post-handshake read failure is that verdict. */
bool tls_failure_is_client_certificate_verdict(unsigned long queued_error, const TlsObservations *observations);
