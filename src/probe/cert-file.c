/* SPDX-License-Identifier: MIT */
/* File inspection. PEM blocks are read one by one with PEM_read_bio(), so a file that mixes keys and
 * certificates (a combined .pem) is described whole; a file without PEM is tried as DER; anything else
 * is reported for what it is, not as an error. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>

#include "cert-file.h"
#include "file-util.h"

#define CERT_FILE_MAX (1024 * 1024)
#define ITEMS_MAX 256

static const char *const item_type_table[_CERT_FILE_ITEM_TYPE_MAX] = {
        [CERT_FILE_CERTIFICATE] = "certificate",
        [CERT_FILE_PRIVATE_KEY] = "private key",
        [CERT_FILE_ENCRYPTED_PRIVATE_KEY] = "encrypted private key",
        [CERT_FILE_CERTIFICATE_REQUEST] = "certificate request (CSR)",
        [CERT_FILE_PUBLIC_KEY] = "public key",
        [CERT_FILE_OTHER] = "other PEM block",
};

const char *cert_file_item_type_to_string(CertFileItemType type) {
        return (int) type >= 0 && type < _CERT_FILE_ITEM_TYPE_MAX ? item_type_table[type] : "unknown";
}

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);

static int add_item(CertFile *f, CertFileItem item) {
        if (f->n_items >= ITEMS_MAX) {
                X509_free(item.certificate);
                EVP_PKEY_free(item.key);
                return 0;
        }
        CertFileItem *items = realloc(f->items, (f->n_items + 1) * sizeof(CertFileItem));
        if (!items) {
                X509_free(item.certificate);
                EVP_PKEY_free(item.key);
                return -ENOMEM;
        }
        f->items = items;
        f->items[f->n_items++] = item;
        return 0;
}

static int parse_block(CertFile *f, const char *name, const char *header, const unsigned char *data, long length) {
        CertFileItem item = {};
        const unsigned char *p = data;

        snprintf(item.label, sizeof(item.label), "%s", name);
        if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "TRUSTED CERTIFICATE") == 0 ||
            strcmp(name, "X509 CERTIFICATE") == 0) {
                item.type = CERT_FILE_CERTIFICATE;
                item.certificate = strcmp(name, "TRUSTED CERTIFICATE") == 0 ? d2i_X509_AUX(NULL, &p, length)
                                                                            : d2i_X509(NULL, &p, length);
                if (!item.certificate)
                        item.type = CERT_FILE_OTHER;
        } else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0 || (header && strstr(header, "ENCRYPTED")))
                /* PKCS#8 encryption, or the traditional "Proc-Type: 4,ENCRYPTED" header. */
                item.type = CERT_FILE_ENCRYPTED_PRIVATE_KEY;
        else if (strstr(name, "PRIVATE KEY")) {
                item.type = CERT_FILE_PRIVATE_KEY;
                item.key = d2i_AutoPrivateKey(NULL, &p, length);
                if (!item.key)
                        item.type = CERT_FILE_OTHER;
        } else if (strcmp(name, "CERTIFICATE REQUEST") == 0 || strcmp(name, "NEW CERTIFICATE REQUEST") == 0)
                item.type = CERT_FILE_CERTIFICATE_REQUEST;
        else if (strcmp(name, "PUBLIC KEY") == 0) {
                item.type = CERT_FILE_PUBLIC_KEY;
                item.key = d2i_PUBKEY(NULL, &p, length);
        } else
                item.type = CERT_FILE_OTHER;
        return add_item(f, item);
}

static int parse_der(CertFile *f, const unsigned char *data, size_t size) {
        const unsigned char *p = data;
        X509 *certificate = d2i_X509(NULL, &p, (long) size);

        if (certificate) {
                f->der = true;
                return add_item(f, (CertFileItem) { .type = CERT_FILE_CERTIFICATE, .label = "DER", .certificate = certificate });
        }
        p = data;
        EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long) size);
        if (key) {
                f->der = true;
                return add_item(f, (CertFileItem) { .type = CERT_FILE_PRIVATE_KEY, .label = "DER", .key = key });
        }
        return 0;
}

int cert_file_parse(const void *data, size_t size, CertFile **ret) {
        _cleanup_(cert_file_freep) CertFile *f = calloc(1, sizeof(CertFile));
        _cleanup_(BIO_freep) BIO *bio = NULL;
        bool truncated = false;
        int r;

        if (!f)
                return -ENOMEM;
        if (size == 0) {
                f->problem = strdup("the file is empty");
                if (!f->problem)
                        return -ENOMEM;
                *ret = TAKE_PTR(f);
                return 0;
        }

        bio = BIO_new_mem_buf(data, (int) MIN(size, (size_t) CERT_FILE_MAX));
        if (!bio)
                return -ENOMEM;

        for (;;) {
                char *name = NULL, *header = NULL;
                unsigned char *block = NULL;
                long length = 0;

                ERR_clear_error();
                if (PEM_read_bio(bio, &name, &header, &block, &length) != 1) {
                        unsigned long e = ERR_peek_last_error();
                        /* "no start line" is the normal end; anything else is a broken block. */
                        truncated = ERR_GET_REASON(e) != PEM_R_NO_START_LINE && e != 0;
                        ERR_clear_error();
                        break;
                }
                r = parse_block(f, name, header, block, length);
                OPENSSL_free(name);
                OPENSSL_free(header);
                OPENSSL_free(block);
                if (r < 0)
                        return r;
        }

        if (f->n_items == 0) {
                r = parse_der(f, data, size);
                if (r < 0)
                        return r;
        }
        if (f->n_items == 0 || truncated)
                f->problem = strdup(truncated ? "a PEM block is truncated or damaged"
                                              : "neither PEM nor DER: no certificate or key in it");
        *ret = TAKE_PTR(f);
        return 0;
}

int cert_file_load(const char *path, CertFile **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        /* DER may hold NUL bytes, so raw bytes rather than text; never blocking on a FIFO (file-util.h). */
        r = read_regular_file(path, CERT_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        return cert_file_parse(data, size, ret);
}

STACK_OF(X509) *cert_file_certificates(const CertFile *f) {
        STACK_OF(X509) *chain = NULL;

        for (size_t i = 0; i < f->n_items; i++) {
                if (f->items[i].type != CERT_FILE_CERTIFICATE)
                        continue;
                if (!chain)
                        chain = sk_X509_new_null();
                if (!chain || X509_up_ref(f->items[i].certificate) != 1)
                        break;
                if (sk_X509_push(chain, f->items[i].certificate) <= 0)
                        X509_free(f->items[i].certificate);
        }
        return chain;
}

EVP_PKEY *cert_file_private_key(const CertFile *f) {
        for (size_t i = 0; i < f->n_items; i++)
                if (f->items[i].type == CERT_FILE_PRIVATE_KEY)
                        return f->items[i].key;
        return NULL;
}

ChainOrder cert_file_chain_order(STACK_OF(X509) *chain) {
        ChainOrder order = { .ordered = true, .break_after = -1 };
        int n = chain ? sk_X509_num(chain) : 0;

        for (int i = 0; i + 1 < n; i++)
                if (X509_check_issued(sk_X509_value(chain, i + 1), sk_X509_value(chain, i)) != X509_V_OK) {
                        order.ordered = false;
                        order.break_after = i;
                        break;
                }
        /* A root anywhere in a file of several certificates: a certfile that carries one sends it. */
        for (int i = 0; i < n && n > 1; i++)
                if (X509_self_signed(sk_X509_value(chain, i), 0) == 1)
                        order.root_included = true;
        return order;
}

CertFile *cert_file_free(CertFile *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_items; i++) {
                X509_free(f->items[i].certificate);
                EVP_PKEY_free(f->items[i].key);
        }
        free(f->items);
        free(f->problem);
        free(f);
        return NULL;
}
