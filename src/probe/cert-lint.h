/* SPDX-License-Identifier: MIT */
/* The listener-mapping rules of the seed: certfile = the server certificate followed by its
 * intermediates (fullchain.pem, not cert.pem), keyfile = the private key of its first certificate,
 * cacertfile = the root CA of the clients (two-way TLS only). Each violation is a problem code with a
 * sentence saying what to change. Works on parsed files; reading them is the caller's. */
#pragma once

#include <openssl/x509_vfy.h>
#include <sys/types.h>

#include "cert-file.h"
#include "expiry-policy.h"
#include "report.h"

typedef struct LintInput {
        const CertFile *certfile;
        const CertFile *keyfile;   /* may be the same file as certfile (a combined .pem) */
        const CertFile *cacertfile; /* NULL: not given */
        int key_mode;              /* the keyfile's permission bits, -1 if unknown */
        X509_STORE *trust;         /* the anchors clients trust */
        time_t now;
        ExpiryPolicy expiry;
} LintInput;

/* Appends problems and the certfile's chain to `report`. Returns 0 or -ENOMEM. */
int cert_lint(const LintInput *input, AddressReport *report);
