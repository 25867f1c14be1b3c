/* SPDX-License-Identifier: MIT */
/* Linting the files of a listener. The certfile's chain is verified against the trust store exactly as
 * a served chain is (cert_check), so a file and a listener get the same verdicts on trust, expiry and
 * strength; the rules only files can break (key, order, root, cacertfile, permissions) come first. */
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cert-check.h"
#include "cert-lint.h"

typedef struct Recorder {
        VerifyError errors[VERIFY_ERRORS_MAX];
        size_t n;
} Recorder;

static int recorder_index = -1;

static int on_verify(int ok, X509_STORE_CTX *store) {
        Recorder *recorder = X509_STORE_CTX_get_ex_data(store, recorder_index);

        if (!ok && recorder && recorder->n < VERIFY_ERRORS_MAX)
                recorder->errors[recorder->n++] = (VerifyError) {
                        .depth = X509_STORE_CTX_get_error_depth(store),
                        .code = X509_STORE_CTX_get_error(store),
                };
        return 1;
}

static void public_key_sha256(X509 *x, EVP_PKEY *key, char ret[65]) {
        unsigned char *der = NULL, digest[32];
        int length = i2d_PUBKEY(key ?: X509_get0_pubkey(x), &der);
        unsigned size = 0;

        ret[0] = '\0';
        if (length > 0 && EVP_Digest(der, (size_t) length, digest, &size, EVP_sha256(), NULL) && size == 32)
                for (unsigned i = 0; i < 32; i++)
                        snprintf(ret + 2 * i, 3, "%02x", digest[i]);
        OPENSSL_free(der);
}

static int lint_key(const LintInput *in, X509 *leaf, AddressReport *report) {
        EVP_PKEY *key = cert_file_private_key(in->keyfile);
        char key_hash[65], cert_hash[65];

        if (!key) {
                bool encrypted = false;
                for (size_t i = 0; i < in->keyfile->n_items; i++)
                        encrypted |= in->keyfile->items[i].type == CERT_FILE_ENCRYPTED_PRIVATE_KEY;
                return problem_list_add(&report->problems, PROBLEM_KEY_MISMATCH, STATUS_CRITICAL, -1, -1,
                                        encrypted ? "the keyfile's private key is encrypted: the broker cannot use it "
                                                    "without its passphrase; give it an unencrypted key (openssl pkey "
                                                    "-in KEY -out KEY.plain) or configure the passphrase"
                                                  : "the keyfile holds no private key: keyfile must name the private "
                                                    "key (privkey.pem, server.key), not a certificate");
        }
        if (!leaf || EVP_PKEY_eq(X509_get0_pubkey(leaf), key) == 1)
                return 0;

        public_key_sha256(NULL, key, key_hash);
        public_key_sha256(leaf, NULL, cert_hash);
        return problem_list_add(&report->problems, PROBLEM_KEY_MISMATCH, STATUS_CRITICAL, 0, -1,
                                "the key does not belong to the certfile's first certificate (public key sha256 %.16s... "
                                "in the key, %.16s... in the certificate): map the key issued with this certificate",
                                key_hash, cert_hash);
}

static int lint_order(STACK_OF(X509) *chain, AddressReport *report) {
        ChainOrder order = cert_file_chain_order(chain);
        int r;

        if (!order.ordered) {
                r = problem_list_add(&report->problems, PROBLEM_CERTFILE_ORDER, STATUS_CRITICAL, order.break_after, -1,
                                     "certificate %d of the certfile was not issued by certificate %d: the server's own "
                                     "certificate goes first, then each issuer in turn (as in fullchain.pem)",
                                     order.break_after, order.break_after + 1);
                if (r < 0)
                        return r;
        }
        if (order.root_included)
                return problem_list_add(&report->problems, PROBLEM_ROOT_IN_CERTFILE, STATUS_OK, -1, -1,
                                        "the certfile includes a root certificate; harmless, but clients must have the "
                                        "root already, so it only costs bytes in every handshake");
        return 0;
}

static int lint_cacertfile(const LintInput *in, AddressReport *report) {
        STACK_OF(X509) *certificates = cert_file_certificates(in->cacertfile);
        int r = 0;

        if (!certificates)
                return problem_list_add(&report->problems, PROBLEM_CACERTFILE_NOT_CA, STATUS_CRITICAL, -1, -1,
                                        "the cacertfile holds no certificate: for two-way TLS it must hold the CA that "
                                        "issued the clients' certificates");

        for (int i = 0; i < sk_X509_num(certificates) && r >= 0; i++) {
                X509 *x = sk_X509_value(certificates, i);
                if (X509_check_ca(x) == 0)
                        r = problem_list_add(&report->problems, PROBLEM_CACERTFILE_NOT_CA, STATUS_CRITICAL, i, -1,
                                             "certificate %d of the cacertfile is not a CA certificate (a leaf?): the "
                                             "cacertfile holds the CA of the clients, not a server or client certificate",
                                             i);
                else if (X509_self_signed(x, 0) != 1)
                        r = problem_list_add(&report->problems, PROBLEM_CACERTFILE_NOT_ROOT, STATUS_WARNING, i, -1,
                                             "certificate %d of the cacertfile is an intermediate, not a root: put the "
                                             "root CA of the clients' certificates there (or both)", i);
        }
        sk_X509_pop_free(certificates, X509_free);
        return r;
}

int cert_lint(const LintInput *in, AddressReport *report) {
        STACK_OF(X509) *chain = cert_file_certificates(in->certfile);
        STACK_OF(X509) *verified = NULL;
        X509_STORE_CTX *ctx = NULL;
        Recorder recorder = {};
        int r;

        if (!chain)
                return problem_list_add(&report->problems, PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, -1, -1,
                                        "the certfile holds no certificate%s%s", in->certfile->problem ? ": " : "",
                                        in->certfile->problem ?: "");
        X509 *leaf = sk_X509_value(chain, 0);

        r = lint_key(in, leaf, report);
        if (r >= 0)
                r = lint_order(chain, report);
        if (r >= 0 && in->cacertfile)
                r = lint_cacertfile(in, report);
        if (r >= 0 && in->key_mode >= 0 && (in->key_mode & 077))
                r = problem_list_add(&report->problems, PROBLEM_KEY_PERMISSIONS, STATUS_WARNING, -1, -1,
                                     "the private key is readable by %s (mode %04o): chmod 600 it, owned by the "
                                     "broker's user",
                                     (in->key_mode & 007) ? "everyone" : "its group", in->key_mode & 07777);
        if (r < 0)
                goto finish;

        /* Verify as a client would: the certfile is what the listener sends. */
        if (recorder_index < 0)
                recorder_index = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        ctx = X509_STORE_CTX_new();
        if (!ctx || X509_STORE_CTX_init(ctx, in->trust, leaf, chain) != 1) {
                r = -ENOMEM;
                goto finish;
        }
        X509_STORE_CTX_set_ex_data(ctx, recorder_index, &recorder);
        X509_STORE_CTX_set_verify_cb(ctx, on_verify);
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), in->now);
        X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), 0);
        (void) X509_verify_cert(ctx);
        verified = X509_STORE_CTX_get1_chain(ctx);

        CertCheckInput check = {
                .served = chain,
                .verified = verified,
                .errors = recorder.errors,
                .n_errors = recorder.n,
                .now = in->now,
                .expiry = in->expiry,
                .from_file = true,
        };
        r = cert_check(&check, report);

finish:
        X509_STORE_CTX_free(ctx);
        sk_X509_pop_free(verified, X509_free);
        sk_X509_pop_free(chain, X509_free);
        return r;
}
