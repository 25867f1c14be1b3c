/* SPDX-License-Identifier: MIT */
/* The test certificate factory: keys cached per type, size and slot, certificates built field by field
 * with the OpenSSL 3 API (no files, no openssl(1)), and a verification run that mirrors the one
 * OpenSSL does inside the probe's handshake. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <string.h>

#include "test-certs.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_NAME *, X509_NAME_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_EXTENSION *, X509_EXTENSION_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAME *, GENERAL_NAME_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_STRING *, ASN1_STRING_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free);

/* Distinct (type, size) pairs: EC P-256 and RSA 1024 and 2048 today, one to spare. */
#define KEY_SIZES_MAX 4

typedef struct CachedKeys {
        TestKeyType type;
        unsigned bits;
        EVP_PKEY *slots[TEST_KEY_SLOTS];
} CachedKeys;

/* Process-wide on purpose: one cmocka program builds hundreds of certificates from a handful of
 * keys, and generating RSA keys per test would take most of its run time. */
static CachedKeys key_cache[KEY_SIZES_MAX];
static size_t n_key_cache;

static EVP_PKEY *key_generate(TestKeyType type, unsigned bits) {
        switch (type) {
        case TEST_KEY_EC:
                return bits == 256 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") : NULL;
        case TEST_KEY_RSA:
                return bits >= 512 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) bits) : NULL;
        default:
                return NULL;
        }
}

EVP_PKEY *test_key(TestKeyType type, unsigned bits, unsigned slot) {
        CachedKeys *entry = NULL;

        if (slot >= TEST_KEY_SLOTS)
                return NULL;

        for (size_t i = 0; i < n_key_cache && !entry; i++)
                if (key_cache[i].type == type && key_cache[i].bits == bits)
                        entry = &key_cache[i];
        if (!entry) {
                if (n_key_cache >= ELEMENTSOF(key_cache))
                        return NULL;
                entry = &key_cache[n_key_cache++];
                *entry = (CachedKeys) { .type = type, .bits = bits };
        }

        if (!entry->slots[slot])
                entry->slots[slot] = key_generate(type, bits);
        return entry->slots[slot];
}

void test_keys_free(void) {
        for (size_t i = 0; i < n_key_cache; i++)
                for (size_t j = 0; j < TEST_KEY_SLOTS; j++)
                        EVP_PKEY_free(key_cache[i].slots[j]);
        n_key_cache = 0;
}

static X509_NAME *name_new(const char *cn) {
        _cleanup_(X509_NAME_freep) X509_NAME *name = X509_NAME_new();

        if (!name)
                return NULL;
        /* A plain UTF8String type, not MBSTRING_UTF8: the latter enforces RFC 5280's 64-character
         * upper bound on commonName, and the tests need hostile, oversized names too. */
        if (cn && X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_UTF8STRING, (const unsigned char *) cn,
                                             (int) strlen(cn), -1, 0) != 1)
                return NULL;
        return TAKE_PTR(name);
}

static int add_extension(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

        if (!ext || X509_add_ext(x, ext, -1) != 1)
                return -EIO;
        return 0;
}

static int names_add_dns(GENERAL_NAMES *names, const char *data, size_t length) {
        _cleanup_(ASN1_STRING_freep) ASN1_STRING *s = ASN1_IA5STRING_new();
        _cleanup_(GENERAL_NAME_freep) GENERAL_NAME *name = GENERAL_NAME_new();

        if (!s || !name || ASN1_STRING_set(s, data, (int) length) != 1)
                return -ENOMEM;
        GENERAL_NAME_set0_value(name, GEN_DNS, TAKE_PTR(s));
        if (sk_GENERAL_NAME_push(names, name) <= 0)
                return -ENOMEM;
        TAKE_PTR(name);
        return 0;
}

static int names_add_ip(GENERAL_NAMES *names, const char *literal) {
        _cleanup_(ASN1_STRING_freep) ASN1_STRING *address = a2i_IPADDRESS(literal);
        _cleanup_(GENERAL_NAME_freep) GENERAL_NAME *name = GENERAL_NAME_new();

        if (!address)
                return -EINVAL;
        if (!name)
                return -ENOMEM;
        GENERAL_NAME_set0_value(name, GEN_IPADD, TAKE_PTR(address));
        if (sk_GENERAL_NAME_push(names, name) <= 0)
                return -ENOMEM;
        TAKE_PTR(name);
        return 0;
}

/* Built by hand rather than from a config string, so a name can carry any byte (a NUL included). */
static int add_subject_alt_names(X509 *x, const TestCertSpec *spec) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
        int r;

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; spec->dns && spec->dns[i]; i++) {
                r = names_add_dns(names, spec->dns[i], strlen(spec->dns[i]));
                if (r < 0)
                        return r;
        }
        if (spec->raw_dns) {
                r = names_add_dns(names, spec->raw_dns, spec->raw_dns_length);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; spec->ips && spec->ips[i]; i++) {
                r = names_add_ip(names, spec->ips[i]);
                if (r < 0)
                        return r;
        }

        if (sk_GENERAL_NAME_num(names) == 0)
                return 0;
        return X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -EIO;
}

int test_cert_new(const TestCertSpec *spec, X509 **ret) {
        /* Distinct serials keep issuer+serial unique, as a real CA would. */
        static long next_serial = 1000;
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(X509_NAME_freep) X509_NAME *subject = NULL;
        X509V3_CTX ctx;
        time_t now = spec->now;
        int r;

        if (!spec->key || (spec->issuer && !spec->issuer_key))
                return -EINVAL;

        x = X509_new();
        subject = name_new(spec->subject_cn);
        if (!x || !subject)
                return -ENOMEM;

        if (X509_set_version(x, X509_VERSION_3) != 1 ||
            ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++) != 1 ||
            X509_set_subject_name(x, subject) != 1 ||
            X509_set_issuer_name(x, spec->issuer ? X509_get_subject_name(spec->issuer) : subject) != 1 ||
            !X509_time_adj(X509_getm_notBefore(x), spec->not_before, &now) ||
            !X509_time_adj(X509_getm_notAfter(x), spec->not_after, &now) ||
            X509_set_pubkey(x, spec->key) != 1)
                return -ENOMEM;

        /* The key identifiers are what OpenSSL's chain building matches first (RFC 5280 4.2.1.1-2),
         * so a cross-signed root and its self-signed twin must share a subjectKeyIdentifier. */
        X509V3_set_ctx(&ctx, spec->issuer ?: x, x, NULL, NULL, 0);
        r = add_extension(x, &ctx, NID_basic_constraints,
                          spec->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        if (r < 0)
                return r;
        r = add_extension(x, &ctx, NID_subject_key_identifier, "hash");
        if (r < 0)
                return r;
        if (spec->issuer) {
                r = add_extension(x, &ctx, NID_authority_key_identifier, "keyid:always");
                if (r < 0)
                        return r;
        }
        if (spec->extended_key_usage) {
                r = add_extension(x, &ctx, NID_ext_key_usage, spec->extended_key_usage);
                if (r < 0)
                        return r;
        }
        r = add_subject_alt_names(x, spec);
        if (r < 0)
                return r;

        if (X509_sign(x, spec->issuer ? spec->issuer_key : spec->key, spec->digest ?: EVP_sha256()) <= 0)
                return -EIO;

        *ret = TAKE_PTR(x);
        return 0;
}

static STACK_OF(X509) *chain_new_va(X509 *first, va_list ap) {
        STACK_OF(X509) *chain = sk_X509_new_null();

        if (!chain)
                return NULL;
        for (X509 *x = first; x; x = va_arg(ap, X509 *)) {
                if (!X509_up_ref(x)) {
                        test_chain_free(chain);
                        return NULL;
                }
                if (!sk_X509_push(chain, x)) {
                        X509_free(x); /* the reference just taken, which the stack did not */
                        test_chain_free(chain);
                        return NULL;
                }
        }
        return chain;
}

STACK_OF(X509) *test_chain_new(X509 *first, ...) {
        STACK_OF(X509) *chain;
        va_list ap;

        va_start(ap, first);
        chain = chain_new_va(first, ap);
        va_end(ap);
        return chain;
}

void test_chain_free(STACK_OF(X509) *chain) {
        sk_X509_pop_free(chain, X509_free);
}

X509_STORE *test_store_new(X509 *first, ...) {
        X509_STORE *store = X509_STORE_new();
        va_list ap;

        if (!store)
                return NULL;
        va_start(ap, first);
        for (X509 *x = first; x; x = va_arg(ap, X509 *))
                if (X509_STORE_add_cert(store, x) != 1) {
                        X509_STORE_free(store);
                        store = NULL;
                        break;
                }
        va_end(ap);
        return store;
}

typedef struct Recorder {
        VerifyError *errors;
        size_t n_errors;
} Recorder;

/* The same contract as the probe's on_verify() in tls.c: record, then carry on. */
static int on_verify(int preverify_ok, X509_STORE_CTX *ctx) {
        Recorder *recorder = X509_STORE_CTX_get_app_data(ctx);

        if (!preverify_ok && recorder && recorder->n_errors < VERIFY_ERRORS_MAX)
                recorder->errors[recorder->n_errors++] = (VerifyError) {
                        .depth = X509_STORE_CTX_get_error_depth(ctx),
                        .code = X509_STORE_CTX_get_error(ctx),
                };
        return 1;
}

int test_verify(X509_STORE *roots, STACK_OF(X509) *served, time_t now, STACK_OF(X509) **ret_verified,
                VerifyError errors[static VERIFY_ERRORS_MAX], size_t *ret_n_errors) {
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        Recorder recorder = { .errors = errors };

        *ret_verified = NULL;
        *ret_n_errors = 0;
        if (!served || sk_X509_num(served) == 0)
                return 0;

        ctx = X509_STORE_CTX_new();
        if (!ctx)
                return -ENOMEM;

        /* As ssl_verify_cert_chain() in OpenSSL 3.0 does for a client: the whole served list is the
         * untrusted pool (the leaf included), purpose ssl_server, and the auth level of the probe's
         * SSL_CTX, which runs at security level 0 to judge weak keys itself. */
        if (X509_STORE_CTX_init(ctx, roots, sk_X509_value(served, 0), served) != 1 ||
            X509_STORE_CTX_set_default(ctx, "ssl_server") != 1 ||
            X509_STORE_CTX_set_app_data(ctx, &recorder) != 1)
                return -ENOMEM;
        X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), 0);
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
        X509_STORE_CTX_set_verify_cb(ctx, on_verify);

        ERR_clear_error();
        if (X509_verify_cert(ctx) < 0)
                return -EIO;

        *ret_verified = X509_STORE_CTX_get1_chain(ctx);
        if (!*ret_verified)
                return -ENOMEM;
        *ret_n_errors = recorder.n_errors;
        return 0;
}
