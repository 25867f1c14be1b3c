/* SPDX-License-Identifier: MIT */
/* CRL distribution points, CRL parsing and the verdict on one certificate, with OpenSSL's X509_CRL_*
 * functions. Kept apart from the fetching (crl-cache.c) so that unit tests and the fuzz target can
 * feed it any bytes and any clock. */
#include <assert.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "crl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(CRL_DIST_POINTS *, CRL_DIST_POINTS_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_ENUMERATED *, ASN1_ENUMERATED_free);

const char *crl_reason_to_string(int reason) {
        /* RFC 5280 §5.3.1; 7 is not used. */
        static const char *const names[] = {
                [0] = "unspecified",        [1] = "keyCompromise", [2] = "cACompromise",
                [3] = "affiliationChanged", [4] = "superseded",    [5] = "cessationOfOperation",
                [6] = "certificateHold",    [8] = "removeFromCRL", [9] = "privilegeWithdrawn",
                [10] = "aACompromise",
        };

        if (reason < 0 || (size_t) reason >= ELEMENTSOF(names) || !names[reason])
                return "unspecified";
        return names[reason];
}

void crl_urls_free(char **urls) {
        if (!urls)
                return;
        for (char **u = urls; *u; u++)
                free(*u);
        free(urls);
}

int crl_distribution_points(X509 *cert, char ***ret_urls, size_t *ret_n) {
        _cleanup_(CRL_DIST_POINTS_freep) CRL_DIST_POINTS *points = NULL;
        char **urls = NULL;
        size_t n = 0;

        assert(cert);
        assert(ret_urls);
        assert(ret_n);

        *ret_urls = NULL;
        *ret_n = 0;
        points = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
        if (!points)
                return 0;

        urls = calloc(CRL_URLS_MAX + 1, sizeof(char *));
        if (!urls)
                return -ENOMEM;
        for (int i = 0; i < sk_DIST_POINT_num(points) && n < CRL_URLS_MAX; i++) {
                DIST_POINT *point = sk_DIST_POINT_value(points, i);

                /* A point limited to some reasons, or whose CRL another authority issues, is not the
                 * complete direct CRL this check relies on. */
                if (!point->distpoint || point->distpoint->type != 0 || point->reasons || point->CRLissuer)
                        continue;
                GENERAL_NAMES *names = point->distpoint->name.fullname;
                for (int j = 0; j < sk_GENERAL_NAME_num(names) && n < CRL_URLS_MAX; j++) {
                        GENERAL_NAME *name = sk_GENERAL_NAME_value(names, j);
                        const unsigned char *data;
                        int length;

                        if (name->type != GEN_URI)
                                continue;
                        data = ASN1_STRING_get0_data(name->d.uniformResourceIdentifier);
                        length = ASN1_STRING_length(name->d.uniformResourceIdentifier);
                        /* http:// only (RFC 5280 §4.2.1.13: CRLs are fetched over plain HTTP, signed);
                         * no NULs, blanks or controls in what goes to libcurl. */
                        if (length < 8 || length > 2048 ||
                            strncasecmp((const char *) data, "http://", 7) != 0)
                                continue;
                        bool clean = true;
                        for (int k = 0; k < length; k++)
                                if (data[k] <= ' ' || data[k] >= 0x7f)
                                        clean = false;
                        if (!clean)
                                continue;
                        urls[n] = strndup((const char *) data, (size_t) length);
                        if (!urls[n]) {
                                crl_urls_free(urls);
                                return -ENOMEM;
                        }
                        n++;
                }
        }
        if (n == 0) {
                free(urls);
                return 0;
        }
        *ret_urls = urls;
        *ret_n = n;
        return 0;
}

int crl_parse(const void *data, size_t size, X509_CRL **ret) {
        X509_CRL *crl = NULL;

        assert(data || size == 0);
        assert(ret);

        *ret = NULL;
        if (size > CRL_SIZE_MAX)
                return -EFBIG;
        if (size == 0 || size > INT32_MAX)
                return -EBADMSG;

        const unsigned char *p = data;
        crl = d2i_X509_CRL(NULL, &p, (long) size);
        if (!crl) {
                _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(data, (int) size);
                if (!bio)
                        return -ENOMEM;
                crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        }
        if (!crl)
                return -EBADMSG;
        *ret = crl;
        return 0;
}

static int asn1_time_to_unix(const ASN1_TIME *t, int64_t *ret) {
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return -EINVAL;
        *ret = (int64_t) timegm(&tm);
        return 0;
}

int64_t crl_next_update(X509_CRL *crl) {
        int64_t t;

        assert(crl);
        return asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &t) < 0 ? 0 : t;
}

static bool crl_signature_verified(X509_CRL *crl, X509 *issuer, EVP_PKEY *key, CrlSignatureMemo *memo) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned length = 0;

        if (!memo || X509_pubkey_digest(issuer, EVP_sha256(), digest, &length) != 1 ||
            length != sizeof(memo->key_sha256))
                return X509_CRL_verify(crl, key) == 1;
        if (memo->set && memcmp(memo->key_sha256, digest, sizeof(memo->key_sha256)) == 0)
                return true;
        if (X509_CRL_verify(crl, key) != 1)
                return false;
        memcpy(memo->key_sha256, digest, sizeof(memo->key_sha256));
        memo->set = true;
        return true;
}

static void unknown(CrlVerdict *v, const char *detail) {
        v->status = REVOCATION_UNKNOWN;
        snprintf(v->detail, sizeof(v->detail), "%s", detail);
}

void crl_judge(X509_CRL *crl, X509 *cert, X509 *issuer, time_t now, CrlSignatureMemo *memo,
               CrlVerdict *ret) {
        int64_t this_update;
        EVP_PKEY *key;
        X509_REVOKED *entry = NULL;

        assert(crl);
        assert(cert);
        assert(issuer);
        assert(ret);

        *ret = (CrlVerdict){ .status = REVOCATION_UNKNOWN, .reason = -1 };
        ret->next_update = crl_next_update(crl);

        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0)
                return unknown(ret, "the CRL is issued by another name than the certificate's issuer");
        key = X509_get0_pubkey(issuer);
        if (!key || !crl_signature_verified(crl, issuer, key, memo))
                return unknown(ret, "the CRL's signature does not verify with the issuer's key");
        if (asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &this_update) < 0)
                return unknown(ret, "the CRL has no readable thisUpdate");
        if (this_update > (int64_t) now + CRL_CLOCK_SKEW_SEC)
                return unknown(ret, "the CRL's thisUpdate is in the future");
        if (ret->next_update != 0 && ret->next_update < (int64_t) now)
                return unknown(ret, "the CRL is stale: its nextUpdate has passed");
        /* Delta CRLs and indirect CRLs need more than one CRL per answer; not for this check. */
        if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
                return unknown(ret, "the distribution point serves a delta CRL");

        int r = X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert));
        if (r != 1 || !entry) {
                /* 0: not listed; 2: listed as removeFromCRL, i.e. taken off hold. */
                ret->status = REVOCATION_GOOD;
                return;
        }

        ret->status = REVOCATION_REVOKED;
        if (asn1_time_to_unix(X509_REVOKED_get0_revocationDate(entry), &ret->revoked_at) < 0)
                ret->revoked_at = 0;
        _cleanup_(ASN1_ENUMERATED_freep)
                ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, NULL, NULL);
        if (reason) {
                long value = ASN1_ENUMERATED_get(reason);
                ret->reason = value >= 0 && value <= 10 ? (int) value : 0;
        }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_RESPONSE *, OCSP_RESPONSE_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_BASICRESP *, OCSP_BASICRESP_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_CERTID *, OCSP_CERTID_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free);

int crl_ocsp_staple(const uint8_t *der, size_t size, STACK_OF(X509) * path, time_t now, OcspStaple *ret) {
        _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *response = NULL;
        _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *basic = NULL;
        _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
        int status, reason = -1;

        assert(ret);

        *ret = (OcspStaple){ .reason = -1 };
        if (!der || size == 0 || size > CRL_SIZE_MAX || !path || sk_X509_num(path) < 2)
                return 0;
        const unsigned char *p = der;
        response = d2i_OCSP_RESPONSE(NULL, &p, (long) size);
        if (!response || OCSP_response_status(response) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
                return 0;
        basic = OCSP_response_get1_basic(response);
        if (!basic)
                return 0;
        X509 *leaf = sk_X509_value(path, 0), *issuer = sk_X509_value(path, 1);
        id = OCSP_cert_to_id(NULL, leaf, issuer);
        if (!id)
                return -ENOMEM;
        if (OCSP_resp_find_status(basic, id, &status, &reason, &revoked_at, &this_update, &next_update) != 1)
                return 0; /* about another certificate */

        ret->present = true;
        ret->status = status == V_OCSP_CERTSTATUS_GOOD      ? REVOCATION_GOOD
                      : status == V_OCSP_CERTSTATUS_REVOKED ? REVOCATION_REVOKED
                                                            : REVOCATION_UNKNOWN;
        ret->reason = ret->status == REVOCATION_REVOKED && reason >= 0 && reason <= 10 ? reason : -1;
        if (asn1_time_to_unix(this_update, &ret->this_update) < 0)
                ret->this_update = 0;
        if (asn1_time_to_unix(next_update, &ret->next_update) < 0)
                ret->next_update = 0;

        /* The signer must be the issuer, or a responder it delegated to (RFC 6960 §4.2.2.2), whose
         * chain ends at the path's trust anchor; OpenSSL's checks, with that one anchor. */
        store = X509_STORE_new();
        if (!store)
                return -ENOMEM;
        if (X509_STORE_add_cert(store, sk_X509_value(path, sk_X509_num(path) - 1)) != 1)
                return -ENOMEM;
        ret->verified = OCSP_basic_verify(basic, path, store, 0) == 1 &&
                        OCSP_check_validity(this_update, next_update, CRL_CLOCK_SKEW_SEC, -1) == 1 &&
                        (ret->next_update == 0 || ret->next_update >= (int64_t) now);
        ERR_clear_error();
        return 0;
}
