/* SPDX-License-Identifier: MIT */
/* OpenSSL client contexts for probing. They run at security level 0 and accept TLS 1.0 so that a
 * weak listener completes its handshake and the analysis, not OpenSSL, names what is wrong; they never
 * resume sessions, so every probe sees the certificate the listener serves now. */
#include <assert.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "file-util.h"
#include "log.h"
#include "tls.h"

typedef struct CachedContext {
        char *key; /* ca_file \n cert_file \n key_file \n groups */
        SSL_CTX *ctx;
} CachedContext;

struct TlsContextCache {
        CachedContext *entries;
        size_t n_entries;
};

static int observations_index = -1;

int tls_context_cache_new(TlsContextCache **ret) {
        TlsContextCache *cache = calloc(1, sizeof(TlsContextCache));
        if (!cache)
                return -ENOMEM;

        if (observations_index < 0) {
                observations_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
                if (observations_index < 0) {
                        free(cache);
                        return -ENOMEM;
                }
        }
        *ret = cache;
        return 0;
}

TlsContextCache *tls_context_cache_free(TlsContextCache *cache) {
        if (!cache)
                return NULL;
        for (size_t i = 0; i < cache->n_entries; i++) {
                free(cache->entries[i].key);
                SSL_CTX_free(cache->entries[i].ctx);
        }
        free(cache->entries);
        free(cache);
        return NULL;
}

static TlsObservations *observations_of(SSL *ssl) {
        return ssl ? SSL_get_ex_data(ssl, observations_index) : NULL;
}

/* Records every verification error and lets the handshake go on, so one probe reports them all. */
static int on_verify(int preverify_ok, X509_STORE_CTX *store) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
        TlsObservations *observations = observations_of(ssl);

        if (!preverify_ok && observations && observations->n_errors < VERIFY_ERRORS_MAX)
                observations->errors[observations->n_errors++] = (VerifyError) {
                        .depth = X509_STORE_CTX_get_error_depth(store),
                        .code = X509_STORE_CTX_get_error(store),
                };
        return 1;
}

/* On a client, called when the server sends a CertificateRequest: the one sign, in TLS 1.2, that a
 * later handshake failure is about our (missing) certificate. */
static int on_certificate_request(SSL *ssl, void *userdata) {
        TlsObservations *observations = observations_of(ssl);

        if (observations)
                observations->certificate_requested = true;
        return 1;
}

/* A CA bundle of every public root is some 200 KiB; a certificate file of megabytes is a mistake. */
#define TLS_FILE_MAX (16 * 1024 * 1024)

/* The files are read by us, not by OpenSSL's *_file() functions: those open() the path plainly, and a
 * FIFO named there would block the whole daemon (file-util.h). Returns a memory BIO over the data. */
static int open_pem(const char *path, char **ret_data, BIO **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_regular_file(path, TLS_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        BIO *bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        *ret_data = TAKE_PTR(data);
        *ret = bio;
        return 0;
}

/* What SSL_CTX_load_verify_locations(ctx, path, NULL) does: every certificate and CRL in the file. */
static int load_ca_file(SSL_CTX *ctx, const char *path) {
        _cleanup_free_ char *data = NULL;
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        BIO *bio = NULL;
        int r, n = 0;

        r = open_pem(path, &data, &bio);
        if (r < 0)
                return r;
        STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
        BIO_free(bio);
        if (!infos)
                return -EBADMSG;
        for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
                X509_INFO *info = sk_X509_INFO_value(infos, i);
                if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1)
                        n++;
                if (info->crl && X509_STORE_add_crl(store, info->crl) == 1)
                        n++;
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        return n > 0 ? 0 : -EBADMSG;
}

/* No passphrase prompt: OpenSSL's default would read one from the terminal, and a daemon waiting at
 * a prompt nobody sees is as frozen as one waiting on a FIFO. */
static int no_passphrase(char *buffer, int size, int rwflag, void *userdata) {
        return -1;
}

/* What SSL_CTX_use_certificate_chain_file() and SSL_CTX_use_PrivateKey_file() do, from memory. */
static int load_client_certificate(SSL_CTX *ctx, const char *cert_file, const char *key_file) {
        _cleanup_free_ char *data = NULL;
        BIO *bio = NULL;
        X509 *x;
        int r;

        r = open_pem(cert_file, &data, &bio);
        if (r < 0)
                return r;
        x = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
        r = x && SSL_CTX_use_certificate(ctx, x) == 1 ? 0 : -EBADMSG;
        X509_free(x);
        while (r >= 0 && (x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)))
                if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
                        X509_free(x);
                        r = -ENOMEM;
                }
        BIO_free(bio);
        if (r < 0)
                return r;
        ERR_clear_error(); /* the end of the chain is a PEM "no start line" */
        data = mfree(data);

        r = open_pem(key_file, &data, &bio);
        if (r < 0)
                return r;
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
        /* A key that does not match the certificate fails in use_PrivateKey already. */
        if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
                unsigned long e = ERR_peek_last_error();
                r = ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ? -EKEYREJECTED : -EBADMSG;
        }
        EVP_PKEY_free(key);
        if (key)
                explicit_bzero(data, strlen(data));
        return r;
}

static void debug_openssl_errors(const char *what) {
        unsigned long e;
        char buffer[256];

        while ((e = ERR_get_error()) != 0) {
                ERR_error_string_n(e, buffer, sizeof(buffer));
                log_debug("%s: %s", what, buffer);
        }
}

static int context_new(const TlsSettings *settings, SSL_CTX **ret) {
        SSL_CTX *ctx;
        int r;

        ERR_clear_error();
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return -ENOMEM;

        /* Judge weak listeners ourselves instead of refusing them: level 0, TLS 1.0 and up, and
         * anonymous suites last (+aNULL) so a listener without a certificate is still seen as such. */
        SSL_CTX_set_security_level(ctx, 0);
        r = SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) == 1 &&
                SSL_CTX_set_cipher_list(ctx, "ALL:!eNULL:+aNULL:@SECLEVEL=0") == 1 ? 0 : -EINVAL;
        if (r < 0)
                goto fail;
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
        SSL_CTX_set_cert_cb(ctx, on_certificate_request, NULL);

        /* The settings' parsers checked every name (tls_groups_check()); a failure here is not expected. */
        if (settings->groups && SSL_CTX_set1_groups_list(ctx, settings->groups) != 1) {
                r = -EOPNOTSUPP;
                goto fail;
        }

        if (settings->ca_file) {
                r = load_ca_file(ctx, settings->ca_file);
                if (r < 0)
                        goto fail;
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
                r = -EIO;
                goto fail;
        }

        if (settings->cert_file || settings->key_file) {
                if (!settings->cert_file) {
                        r = -EBADMSG;
                        goto fail;
                }
                r = load_client_certificate(ctx, settings->cert_file, settings->key_file ?: settings->cert_file);
                if (r < 0)
                        goto fail;
                if (SSL_CTX_check_private_key(ctx) != 1) {
                        r = -EKEYREJECTED;
                        goto fail;
                }
        }

        *ret = ctx;
        return 0;

fail:
        debug_openssl_errors("creating TLS context");
        SSL_CTX_free(ctx);
        return r;
}

int tls_context_cache_get(TlsContextCache *cache, const TlsSettings *settings, SSL_CTX **ret) {
        _cleanup_free_ char *key = NULL;
        SSL_CTX *ctx = NULL;
        int r;

        if (asprintf(&key, "%s\n%s\n%s\n%s", settings->ca_file ?: "", settings->cert_file ?: "",
                     settings->key_file ?: "", settings->groups ?: "") < 0)
                return -ENOMEM;

        for (size_t i = 0; i < cache->n_entries; i++)
                if (strcmp(cache->entries[i].key, key) == 0) {
                        SSL_CTX_up_ref(cache->entries[i].ctx);
                        *ret = cache->entries[i].ctx;
                        return 0;
                }

        r = context_new(settings, &ctx);
        if (r < 0)
                return r;

        CachedContext *entries = realloc(cache->entries, (cache->n_entries + 1) * sizeof(CachedContext));
        if (!entries) {
                SSL_CTX_free(ctx);
                return -ENOMEM;
        }
        cache->entries = entries;
        cache->entries[cache->n_entries++] = (CachedContext) { .key = TAKE_PTR(key), .ctx = ctx };

        SSL_CTX_up_ref(ctx);
        *ret = ctx;
        return 0;
}

int tls_session_new(SSL_CTX *ctx, int fd, const char *sni, TlsObservations *observations, SSL **ret) {
        SSL *ssl;

        ERR_clear_error();
        ssl = SSL_new(ctx);
        if (!ssl)
                return -ENOMEM;

        observations->client_certificate_set = SSL_get_certificate(ssl) != NULL;
        if (SSL_set_ex_data(ssl, observations_index, observations) != 1 || SSL_set_fd(ssl, fd) != 1 ||
            (sni && SSL_set_tlsext_host_name(ssl, sni) != 1)) {
                debug_openssl_errors("creating TLS session");
                SSL_free(ssl);
                return -ENOMEM;
        }
        SSL_set_connect_state(ssl);
        *ret = ssl;
        return 0;
}

/* A context only for asking OpenSSL which group names it takes: made once, since making a context
 * costs some 0.2 ms and a configuration may name groups for each of 100,000 targets. */
static SSL_CTX *group_check_context;

int tls_groups_check(const char *list) {
        int r;

        if (!group_check_context) {
                group_check_context = SSL_CTX_new(TLS_client_method());
                if (!group_check_context)
                        return -ENOMEM;
        }
        ERR_clear_error();
        r = SSL_CTX_set1_groups_list(group_check_context, list) == 1 ? 0 : -EOPNOTSUPP;
        ERR_clear_error();
        return r;
}

/* The groups worth naming, in the order one would offer them; what a build lacks is left out. */
static const char *const well_known_groups[] = {
        "X25519MLKEM768",
        "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024",
        "X25519",
        "X448",
        "P-256",
        "P-384",
        "P-521",
        "ffdhe2048",
        "ffdhe3072",
        "ffdhe4096",
        "ffdhe6144",
        "ffdhe8192",
};

void tls_groups_available(char *buffer, size_t size) {
        size_t used = 0;

        assert(size > 0);
        buffer[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(well_known_groups); i++) {
                if (tls_groups_check(well_known_groups[i]) < 0)
                        continue;
                int n = snprintf(buffer + used, size - used, "%s%s", used ? ", " : "", well_known_groups[i]);
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += (size_t) n;
        }
}

const char *tls_group_display_name(const char *openssl_name) {
        /* OpenSSL's TLS names for these (RFC 8446 §4.2.7 spells them secp256r1, x25519) beside the
         * names people and `openssl s_server -groups` use. */
        static const struct {
                const char *openssl, *display;
        } names[] = {
                { "x25519", "X25519" },    { "x448", "X448" },       { "secp256r1", "P-256" },
                { "prime256v1", "P-256" }, { "secp384r1", "P-384" }, { "secp521r1", "P-521" },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(openssl_name, names[i].openssl) == 0)
                        return names[i].display;
        return openssl_name;
}

void tls_negotiated_group(SSL *ssl, char *buffer, size_t size) {
        int nid = SSL_get_negotiated_group(ssl);
        const char *name;

        assert(size > 0);
        buffer[0] = '\0';
        if (nid == NID_undef)
                return;
        /* OpenSSL 3.0 returns a NID for the groups it has one for, else TLSEXT_nid_unknown ORed with
         * the IANA code point, and SSL_group_to_name() takes both. */
        name = SSL_group_to_name(ssl, nid);
        if (name)
                snprintf(buffer, size, "%s", tls_group_display_name(name));
        else
                snprintf(buffer, size, "0x%04x", (unsigned) nid & 0xffff);
}

/* Alerts arrive as ERR reasons at SSL_AD_REASON_OFFSET plus the alert number (RFC 8446 §6). */
static int alert_of(unsigned long queued_error) {
        int reason = ERR_GET_REASON(queued_error);

        if (ERR_GET_LIB(queued_error) != ERR_LIB_SSL || reason < SSL_AD_REASON_OFFSET)
                return -1;
        return reason - SSL_AD_REASON_OFFSET;
}

bool tls_failure_may_be_groups(unsigned long queued_error) {
        return IN_SET(alert_of(queued_error), SSL_AD_HANDSHAKE_FAILURE, SSL_AD_INSUFFICIENT_SECURITY,
                      SSL_AD_ILLEGAL_PARAMETER);
}

bool tls_failure_is_client_certificate_verdict(unsigned long queued_error, const TlsObservations *observations) {
        int alert = alert_of(queued_error);

        if (alert == TLS13_AD_CERTIFICATE_REQUIRED)
                return true;
        if (!observations->certificate_requested)
                return false;
        return IN_SET(alert, SSL_AD_HANDSHAKE_FAILURE, SSL_AD_BAD_CERTIFICATE, SSL_AD_UNSUPPORTED_CERTIFICATE,
                      SSL_AD_CERTIFICATE_REVOKED, SSL_AD_CERTIFICATE_EXPIRED, SSL_AD_CERTIFICATE_UNKNOWN,
                      SSL_AD_UNKNOWN_CA, SSL_AD_ACCESS_DENIED, SSL_AD_DECRYPT_ERROR);
}

/* OpenSSL 3.0 has no name for TLS 1.3's alert 116 (RFC 8446 §6.2). */
static const char *alert_name(int alert) {
        if (alert == TLS13_AD_CERTIFICATE_REQUIRED)
                return "certificate required";
        return SSL_alert_desc_string_long(alert);
}

ProblemCode tls_classify_failure(int ssl_error, unsigned long queued_error, int sys_errno,
                                 const TlsObservations *observations, bool handshake_done, char *message,
                                 size_t size) {
        int alert = alert_of(queued_error);
        int reason = ERR_GET_REASON(queued_error);
        const char *when = handshake_done ? "right after the TLS handshake" : "during the TLS handshake";

        if (tls_failure_is_client_certificate_verdict(queued_error, observations)) {
                if (observations->client_certificate_set)
                        snprintf(message, size,
                                 "the listener rejected our client certificate (TLS alert %d, %s): its "
                                 "cacertfile must hold the CA that issued the client certificate",
                                 alert, alert_name(alert));
                else
                        snprintf(message, size,
                                 "the listener demands a client certificate (two-way TLS; TLS alert %d, %s): "
                                 "configure a client certificate and key",
                                 alert, alert_name(alert));
                return PROBLEM_CLIENT_CERTIFICATE_REQUIRED;
        }

        if (alert >= 0) {
                snprintf(message, size, "the listener sent TLS alert %d (%s) %s", alert, alert_name(alert), when);
                return PROBLEM_TLS_HANDSHAKE_FAILED;
        }

        if (ERR_GET_LIB(queued_error) == ERR_LIB_SSL &&
            IN_SET(reason, SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_RECORD_LENGTH_MISMATCH,
                   SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_UNKNOWN_PROTOCOL)) {
                snprintf(message, size, "the listener does not speak TLS (%s): is this a plain MQTT or HTTP port?",
                         ERR_reason_error_string(queued_error) ?: "unexpected record");
                return PROBLEM_TLS_HANDSHAKE_FAILED;
        }

        if ((ssl_error == SSL_ERROR_SYSCALL && queued_error == 0) || ssl_error == SSL_ERROR_ZERO_RETURN ||
            (ERR_GET_LIB(queued_error) == ERR_LIB_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
                if (sys_errno == ECONNRESET)
                        snprintf(message, size, "the listener reset the connection %s", when);
                else
                        snprintf(message, size, "the listener closed the connection %s", when);
                return PROBLEM_TLS_HANDSHAKE_FAILED;
        }

        if (ssl_error == SSL_ERROR_SYSCALL) {
                snprintf(message, size, "TLS failed %s: %s", when, strerror(sys_errno));
                return PROBLEM_TLS_HANDSHAKE_FAILED;
        }

        snprintf(message, size, "TLS failed %s: %s", when, ERR_reason_error_string(queued_error) ?: "unknown error");
        return PROBLEM_TLS_HANDSHAKE_FAILED;
}
