/* SPDX-License-Identifier: MIT */
/* Fuzzes the renewal diff with arbitrary PEM or DER: the certificates cert_file_parse() finds are
 * split in two paths, the first half the old one and the second the new, each described as a probe
 * would, then diffed and rendered; an input of odd length diffs against the old leaf as the state
 * file rebuilds it (fingerprint and names only), the partial diff after a restart. */
#include <stdlib.h>
#include <string.h>

#include "cert-check.h"
#include "cert-diff.h"
#include "cert-file.h"
#include "fuzz.h"
#include "report.h"

#define LINKS_MAX 8

static size_t describe(STACK_OF(X509) * chain, int from, int to, ChainLink *links) {
        size_t n = 0;

        for (int i = from; i < to && n < LINKS_MAX; i++) {
                Certificate *c = NULL;
                if (cert_check_describe(sk_X509_value(chain, i), &c) < 0)
                        break;
                links[n++] = (ChainLink){ .certificate = c, .sent = true };
        }
        return n;
}

static void release(ChainLink *links, size_t n) {
        for (size_t i = 0; i < n; i++)
                certificate_unref(links[i].certificate);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(cert_file_freep) CertFile *file = NULL;
        ChainLink old_links[LINKS_MAX], new_links[LINKS_MAX];
        Certificate *stub = NULL;
        STACK_OF(X509) * chain;

        if (cert_file_parse(data, size, &file) < 0)
                return 0;
        chain = cert_file_certificates(file);
        if (!chain)
                return 0;
        if (sk_X509_num(chain) == 0) {
                sk_X509_pop_free(chain, X509_free);
                return 0;
        }
        int n = sk_X509_num(chain), half = (n + 1) / 2;
        /* One certificate is both paths: a "change" to itself must yield no more than key_reused. */
        size_t n_old = describe(chain, 0, half, old_links);
        size_t n_new = describe(chain, n == 1 ? 0 : n / 2, n, new_links);

        if (n_old > 0 && n_new > 0) {
                CertPath old_path = cert_path_of(old_links, n_old),
                         new_path = cert_path_of(new_links, n_new);
                if (size % 2 == 1 &&
                    certificate_new(old_path.leaf->sha256, 0, 0, NULL, 0, NULL, old_path.leaf->subject,
                                    old_path.leaf->issuer, NULL, 0, &stub) == 0)
                        old_path = (CertPath){ .leaf = stub };

                CertDiff diff = {};
                if (cert_diff(&old_path, &new_path, &diff) == 0) {
                        char text[4096];
                        cert_diff_describe(&diff, text, sizeof(text));
                        if (strlen(text) >= sizeof(text))
                                abort();
                        for (size_t i = 0; i < diff.n_changes; i++) {
                                const CertChange *c = &diff.changes[i];
                                if (!cert_change_kind_to_string(c->kind) ||
                                    c->n_names > CERT_CHANGE_NAMES_MAX || c->n_names > c->n_names_total)
                                        abort();
                        }
                        if (old_path.leaf == new_path.leaf && diff.n_changes > 1)
                                abort(); /* a certificate compared with itself changed nothing but "reuse" */
                        cert_diff_clear(&diff);
                }
        }
        certificate_unref(stub);
        release(old_links, n_old);
        release(new_links, n_new);
        sk_X509_pop_free(chain, X509_free);
        return 0;
}
