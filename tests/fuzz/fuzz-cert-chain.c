/* SPDX-License-Identifier: MIT */
/* Fuzzes the certificate analysis with arbitrary PEM or DER: cert_file_parse() as for CertFile=, then
 * the certificates found as a served chain, verified by OpenSSL against the last one as the trusted
 * root the way the probe's handshake does, and judged by cert_check() like a probe's result. */
#include <stdlib.h>
#include <string.h>

#include "cert-check.h"
#include "cert-file.h"
#include "fuzz.h"
#include "report-json.h"
#include "report.h"
#include "test-certs.h"

/* The clock: a day after the leaf's notBefore, so that certificates made for the seeds are valid
 * however old the seeds are, and a run stays repeatable; 2026-01-01T00:00:00Z for an unusable date. */
#define DEFAULT_NOW ((time_t) 1767225600)

static time_t clock_for(X509 *leaf) {
        struct tm tm;

        if (ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm) != 1 || tm.tm_year < 70 || tm.tm_year > 1000)
                return DEFAULT_NOW;
        return timegm(&tm) + 86400;
}

static void check_chain(STACK_OF(X509) *served, const char *server_name, time_t now) {
        _cleanup_(X509_STORE_freep) X509_STORE *roots = NULL;
        _cleanup_(test_chain_freep) STACK_OF(X509) *verified = NULL;
        _cleanup_(report_freep) Report *report = NULL;
        VerifyError errors[VERIFY_ERRORS_MAX];
        size_t n_errors = 0;
        AddressReport *address;

        roots = test_store_new(sk_X509_value(served, sk_X509_num(served) - 1), (X509 *) NULL);
        if (!roots || test_verify(roots, served, now, &verified, errors, &n_errors) < 0)
                return;

        report = calloc(1, sizeof(Report));
        address = report ? report_add_address(report, "127.0.0.1") : NULL;
        if (!address)
                return;
        CertCheckInput input = {
                .served = served,
                .verified = verified,
                .errors = errors,
                .n_errors = n_errors,
                .server_name = server_name,
                .now = now,
                .expiry = {}, /* the default lifetime policy, whatever the dates */
        };
        if (cert_check(&input, address) < 0)
                return;
        (void) report_finalize(report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(cert_file_freep) CertFile *file = NULL;
        STACK_OF(X509) *chain;

        if (cert_file_parse(data, size, &file) < 0)
                return 0;
        for (size_t i = 0; i < file->n_items; i++)
                (void) cert_file_item_type_to_string(file->items[i].type);
        (void) cert_file_private_key(file);

        chain = cert_file_certificates(file);
        if (!chain)
                return 0;
        (void) cert_file_chain_order(chain);
        time_t now = clock_for(sk_X509_value(chain, 0));
        for (int i = 0; i < sk_X509_num(chain); i++) {
                Certificate *c = NULL;

                if (cert_check_describe(sk_X509_value(chain, i), &c) == 0) {
                        json_t *o = certificate_to_json(c, i, true, now);
                        char *text = o ? json_dumps(o, JSON_COMPACT | REPORT_JSON_DUMP_FLAGS) : NULL;
                        if (o && !text)
                                abort(); /* every string a certificate gives us must be valid JSON */
                        free(text);
                        json_decref(o);
                        certificate_unref(c);
                }
        }
        /* The name the probe checks: a DNS name and an IP literal, as both kinds of target exist. */
        check_chain(chain, size % 2 ? "127.0.0.1" : "localhost", now);
        sk_X509_pop_free(chain, X509_free);
        return 0;
}
