/* SPDX-License-Identifier: MIT */
/* What a certificate or key file holds, as an operator mapping certfile/keyfile/cacertfile needs to
 * know it: certificates (in file order), private keys (and whether they are encrypted), CSRs, other
 * PEM blocks, DER, or nothing usable. Parsing works on bytes, so it is tested without files. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "macro.h"

typedef enum CertFileItemType {
        CERT_FILE_CERTIFICATE,
        CERT_FILE_PRIVATE_KEY,
        CERT_FILE_ENCRYPTED_PRIVATE_KEY,
        CERT_FILE_CERTIFICATE_REQUEST,
        CERT_FILE_PUBLIC_KEY,
        CERT_FILE_OTHER, /* a PEM block of another kind, its label kept */
        _CERT_FILE_ITEM_TYPE_MAX,
} CertFileItemType;

typedef struct CertFileItem {
        CertFileItemType type;
        char label[64];    /* the PEM label, "DER" for a DER file */
        X509 *certificate; /* CERT_FILE_CERTIFICATE */
        EVP_PKEY *key;     /* CERT_FILE_PRIVATE_KEY, CERT_FILE_PUBLIC_KEY */
} CertFileItem;

typedef struct CertFile {
        CertFileItem *items;
        size_t n_items;
        bool der;
        char *problem; /* why nothing usable was found ("empty", "a truncated PEM block", ...), or NULL */
} CertFile;

/* Parses the bytes of a file. Returns 0 (findings, even "garbage", are in the CertFile) or -ENOMEM. */
int cert_file_parse(const void *data, size_t size, CertFile **ret);

/* Reads and parses `path` (a regular file of at most 1 MiB). Returns 0, or -errno / -EISDIR / -EFBIG. */
int cert_file_load(const char *path, CertFile **ret);

CertFile *cert_file_free(CertFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(CertFile *, cert_file_free);

/* The file's certificates in order; the stack holds references the caller frees with
 * sk_X509_pop_free(..., X509_free). NULL when there are none. */
STACK_OF(X509) *cert_file_certificates(const CertFile *f);

/* The first private key in the file, or NULL (not a new reference). */
EVP_PKEY *cert_file_private_key(const CertFile *f);

typedef struct ChainOrder {
        bool ordered;         /* each certificate issued the one before it */
        int break_after;      /* the depth after which the order breaks, -1 if it does not */
        bool root_included;   /* a self-signed certificate among several */
} ChainOrder;

/* How the certificates of a certfile line up: leaf first, then each issuer. */
ChainOrder cert_file_chain_order(STACK_OF(X509) *chain);

const char *cert_file_item_type_to_string(CertFileItemType type);
