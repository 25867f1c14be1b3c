/* SPDX-License-Identifier: MIT */
/* Chain analysis. The handshake runs with a verify callback that records every error and carries on,
 * so here we see the whole picture and turn it into the problems an operator can act on: trust,
 * missing intermediates, names, dates, weak keys and signatures, each judged on the path that verified. */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cert-check.h"
#include "string-util.h"

/* Names can be huge on hostile certificates; what a person reads is cut here. */
#define NAME_MAX_CHARS 512
#define SECONDS_PER_DAY 86400.0

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free_all);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_TIME *, ASN1_TIME_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free);

bool cert_check_name_is_ip(const char *name) {
        unsigned char buffer[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, name, buffer) == 1 || inet_pton(AF_INET6, name, buffer) == 1;
}

static char *name_to_string(const X509_NAME *name) {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        long length;

        if (!bio)
                return NULL;
        if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
                return strdup("(unprintable)");

        /* An empty name (allowed when the SAN carries the names) leaves the BIO without a buffer. */
        length = BIO_get_mem_data(bio, &data);
        if (length <= 0 || !data)
                return strdup("");
        return text_sanitize(data, (size_t) length, NAME_MAX_CHARS);
}

static void format_time(const ASN1_TIME *t, char *buffer, size_t size) {
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buffer, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buffer, size, "invalid");
}

static double days_between(const ASN1_TIME *from, const ASN1_TIME *to) {
        int days = 0, seconds = 0;

        if (!from || !to || ASN1_TIME_diff(&days, &seconds, from, to) != 1)
                return 0;
        return days + seconds / SECONDS_PER_DAY;
}

static bool is_self_signed(X509 *x) {
        return X509_self_signed(x, 0) == 1;
}

/* The same certificate for chain purposes. A store may hold another issue (other dates, other serial)
 * of the intermediate the listener sends: same subject and key, so it still counts as sent. A
 * self-signed root and a cross-signed certificate of the same key are different things, though: the
 * listener sending the cross-sign did not send the root. */
static bool same_certificate(X509 *a, X509 *b) {
        if (X509_cmp(a, b) == 0)
                return true;
        if (is_self_signed(a) || is_self_signed(b))
                return false;
        EVP_PKEY *key_a = X509_get0_pubkey(a), *key_b = X509_get0_pubkey(b);
        return key_a && key_b && X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
                EVP_PKEY_eq(key_a, key_b) == 1;
}

static bool chain_contains(STACK_OF(X509) *chain, X509 *x) {
        for (int i = 0; chain && i < sk_X509_num(chain); i++)
                if (same_certificate(sk_X509_value(chain, i), x))
                        return true;
        return false;
}

static bool chain_has_issuer_of(STACK_OF(X509) *chain, X509 *x) {
        for (int i = 0; chain && i < sk_X509_num(chain); i++) {
                X509 *candidate = sk_X509_value(chain, i);
                if (candidate != x && X509_check_issued(candidate, x) == X509_V_OK)
                        return true;
        }
        return false;
}

static bool verify_code_is_about_time(int code) {
        return IN_SET(code, X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED,
                      X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
}

/* Errors the analysis judges itself, with its own codes, so they never count as distrust. */
static bool verify_code_is_judged_elsewhere(int code) {
        return verify_code_is_about_time(code) ||
                IN_SET(code, X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH,
                       X509_V_ERR_EMAIL_MISMATCH, X509_V_ERR_EE_KEY_TOO_SMALL, X509_V_ERR_CA_KEY_TOO_SMALL,
                       X509_V_ERR_CA_MD_TOO_WEAK, X509_V_ERR_UNABLE_TO_GET_CRL,
                       X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER);
}

static bool verify_code_is_missing_issuer(int code) {
        return IN_SET(code, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                      X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
}

static const char *advice_for_verify_code(int code) {
        switch (code) {
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
                return "the listener serves a self-signed certificate; have it issued by a CA, or trust this "
                       "certificate explicitly with a CA file";
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
                return "the chain ends in a root that is not among the trust anchors; configure the CA file "
                       "that holds this root, or serve a certificate from a trusted CA";
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
                return "the issuer of the last certificate sent is not a trust anchor here; configure the CA "
                       "file that holds the root CA";
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
                return "a signature in the chain does not verify; the certfile mixes certificates from "
                       "different CAs or a corrupted file";
        case X509_V_ERR_INVALID_CA:
                return "a certificate used as an issuer is not a CA certificate; the certfile's order or "
                       "content is wrong";
        case X509_V_ERR_INVALID_PURPOSE:
                return "the certificate is not meant for TLS servers (extended key usage)";
        default:
                return "the listener's chain does not verify against the trust anchors";
        }
}

static char *subject_alt_names_to_string(X509 *leaf) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        char buffer[NAME_MAX_CHARS] = "";
        size_t used = 0;
        int shown = 0;

        for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && shown < 6; i++) {
                const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
                _cleanup_free_ char *item = NULL;

                if (name->type == GEN_DNS) {
                        /* Bytes as they are, NULs included, so a name like "evil\0.localhost" shows whole. */
                        const ASN1_IA5STRING *s = name->d.dNSName;
                        item = text_sanitize((const char *) s->data, (size_t) MAX(s->length, 0), 80);
                } else if (name->type == GEN_IPADD) {
                        const ASN1_OCTET_STRING *s = name->d.iPAddress;
                        char text[INET6_ADDRSTRLEN] = "?";
                        if (s->length == 4)
                                inet_ntop(AF_INET, s->data, text, sizeof(text));
                        else if (s->length == 16)
                                inet_ntop(AF_INET6, s->data, text, sizeof(text));
                        item = strdup(text);
                } else
                        continue;
                if (!item)
                        return NULL;

                int n = snprintf(buffer + used, sizeof(buffer) - used, "%s%s", shown ? ", " : "", item);
                if (n < 0 || (size_t) n >= sizeof(buffer) - used)
                        break;
                used += (size_t) n;
                shown++;
        }

        if (shown == 0)
                return strdup("no DNS or IP names (subjectAltName)");
        return strdup(buffer);
}

static const char *key_type_name(int base_id) {
        switch (base_id) {
        case EVP_PKEY_RSA:
                return "RSA";
        case EVP_PKEY_RSA_PSS:
                return "RSA-PSS";
        case EVP_PKEY_DSA:
                return "DSA";
        case EVP_PKEY_EC:
                return "EC";
        default:
                return OBJ_nid2sn(base_id);
        }
}

static char *key_description(X509 *x) {
        EVP_PKEY *key = X509_get0_pubkey(x);
        char *result = NULL;

        if (!key)
                return strdup("unknown");
        if (asprintf(&result, "%s %d", key_type_name(EVP_PKEY_get_base_id(key)), EVP_PKEY_get_bits(key)) < 0)
                return NULL;
        return result;
}

static bool key_is_weak(X509 *x) {
        EVP_PKEY *key = X509_get0_pubkey(x);

        if (!key)
                return false;
        switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
        case EVP_PKEY_RSA_PSS:
        case EVP_PKEY_DSA:
                return EVP_PKEY_get_bits(key) < 2048;
        case EVP_PKEY_EC:
                return EVP_PKEY_get_bits(key) < 224;
        default:
                return false;
        }
}

static bool signature_is_weak(X509 *x) {
        int digest_nid = NID_undef;

        if (X509_get_signature_info(x, &digest_nid, NULL, NULL, NULL) != 1)
                return false;
        return IN_SET(digest_nid, NID_sha1, NID_md5, NID_md5_sha1, NID_md4, NID_md2);
}

static int describe_certificate(X509 *x, int depth, bool sent, const ASN1_TIME *now, CertificateInfo *ret) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned digest_length = 0;

        *ret = (CertificateInfo) { .depth = depth, .sent = sent };
        ret->subject = name_to_string(X509_get_subject_name(x));
        ret->issuer = name_to_string(X509_get_issuer_name(x));
        ret->key = key_description(x);
        ret->signature_algorithm = strdup(OBJ_nid2ln(X509_get_signature_nid(x)));
        ret->subject_alt_names = subject_alt_names_to_string(x);
        if (!ret->subject || !ret->issuer || !ret->key || !ret->signature_algorithm || !ret->subject_alt_names) {
                certificate_info_clear(ret);
                return -ENOMEM;
        }

        format_time(X509_get0_notBefore(x), ret->not_before, sizeof(ret->not_before));
        format_time(X509_get0_notAfter(x), ret->not_after, sizeof(ret->not_after));
        ret->days_left = days_between(now, X509_get0_notAfter(x));

        if (X509_digest(x, EVP_sha256(), digest, &digest_length) == 1)
                for (unsigned i = 0; i < digest_length && i < 32; i++)
                        snprintf(ret->sha256 + 2 * i, 3, "%02x", digest[i]);
        return 0;
}

int cert_check_describe(X509 *x, int depth, bool sent, time_t now, CertificateInfo *ret) {
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *at = ASN1_TIME_set(NULL, now);

        if (!at)
                return -ENOMEM;
        return describe_certificate(x, depth, sent, at, ret);
}

static int check_trust(const CertCheckInput *input, STACK_OF(X509) *path, AddressReport *report) {
        const VerifyError *distrust = NULL;
        int n_path = sk_X509_num(path);

        for (size_t i = 0; i < input->n_errors && !distrust; i++)
                if (!verify_code_is_judged_elsewhere(input->errors[i].code))
                        distrust = &input->errors[i];

        if (!distrust) {
                /* Verified, but perhaps only because the local store holds an intermediate the listener
                 * should have sent: other clients, with other stores, will fail. */
                for (int depth = 1; depth < n_path; depth++) {
                        X509 *x = sk_X509_value(path, depth);

                        if (depth == n_path - 1 && is_self_signed(x))
                                break;
                        if (chain_contains(input->served, x))
                                continue;

                        _cleanup_free_ char *subject = name_to_string(X509_get_subject_name(x));
                        return problem_list_add(&report->problems, PROBLEM_INCOMPLETE_CHAIN, STATUS_WARNING, depth, -1,
                                                "%s the intermediate \"%s\"; it verified only "
                                                "because the local trust store holds it, clients without it fail with "
                                                "code 20: map the fullchain file as certfile, not cert.pem",
                                                input->from_file ? "the certfile does not hold" : "the listener does not send",
                                                subject ?: "?");
                }
                return 0;
        }

        X509 *top = sk_X509_value(path, n_path - 1);
        if (verify_code_is_missing_issuer(distrust->code) && n_path == 1 && !is_self_signed(top) &&
            !chain_has_issuer_of(input->served, top)) {
                _cleanup_free_ char *issuer = name_to_string(X509_get_issuer_name(top));
                return problem_list_add(&report->problems, PROBLEM_INCOMPLETE_CHAIN, STATUS_CRITICAL, distrust->depth,
                                        distrust->code,
                                        "%s its own certificate and its issuer \"%s\" is neither "
                                        "sent nor trusted (verify code %d): the certfile lacks the intermediate, map "
                                        "the fullchain file, not cert.pem (or, for a private CA, configure the CA "
                                        "file that holds it)",
                                        input->from_file ? "the certfile holds only" : "the listener sent only",
                                        issuer ?: "?", distrust->code);
        }

        return problem_list_add(&report->problems, PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, distrust->depth,
                                distrust->code, "%s (verify code %d at depth %d): %s",
                                X509_verify_cert_error_string(distrust->code), distrust->code, distrust->depth,
                                advice_for_verify_code(distrust->code));
}

static int check_name(const CertCheckInput *input, X509 *leaf, AddressReport *report) {
        const char *name = input->server_name;
        int matched;

        if (!name || !*name)
                return 0;

        if (cert_check_name_is_ip(name))
                matched = X509_check_ip_asc(leaf, name, 0);
        else
                matched = X509_check_host(leaf, name, strlen(name), 0, NULL);
        if (matched == 1)
                return 0;

        _cleanup_free_ char *names = subject_alt_names_to_string(leaf);
        return problem_list_add(&report->problems, PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1,
                                "the certificate does not cover \"%s\"; it names %s: issue it with this name in "
                                "subjectAltName, or probe the name clients use",
                                name, names ?: "?");
}

static int check_dates(const CertCheckInput *input, STACK_OF(X509) *path, AddressReport *report) {
        int earliest_depth = -1;
        bool any_invalid = false;
        int r;

        for (int depth = 0; depth < sk_X509_num(path); depth++) {
                X509 *x = sk_X509_value(path, depth);
                const CertificateInfo *info = &report->chain[depth];

                if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), input->now) > 0) {
                        any_invalid = true;
                        r = problem_list_add(&report->problems, PROBLEM_NOT_YET_VALID, STATUS_CRITICAL, depth, -1,
                                             "\"%s\" (depth %d) is not valid before %s: check the clock of the "
                                             "issuing host and of this monitor",
                                             info->subject, depth, info->not_before);
                        if (r < 0)
                                return r;
                }
                if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), input->now) < 0) {
                        any_invalid = true;
                        r = problem_list_add(&report->problems, PROBLEM_EXPIRED, STATUS_CRITICAL, depth, -1,
                                             "\"%s\" (depth %d) expired on %s, %.1f days ago: renew it and reload "
                                             "the listener",
                                             info->subject, depth, info->not_after, -info->days_left);
                        if (r < 0)
                                return r;
                }
                if (earliest_depth < 0 || info->days_left < report->days_left) {
                        earliest_depth = depth;
                        report->days_left = info->days_left;
                        report->has_days_left = true;
                }
        }

        if (any_invalid || earliest_depth < 0)
                return 0;

        const CertificateInfo *earliest = &report->chain[earliest_depth];
        Status severity;
        if (earliest->days_left < input->crit_days)
                severity = STATUS_CRITICAL;
        else if (earliest->days_left < input->warn_days)
                severity = STATUS_WARNING;
        else
                return 0;

        return problem_list_add(&report->problems, PROBLEM_EXPIRES_SOON, severity, earliest_depth, -1,
                                "\"%s\" (depth %d) expires in %.1f days, on %s: renew it and reload the listener",
                                earliest->subject, earliest_depth, earliest->days_left, earliest->not_after);
}

static int check_strength(STACK_OF(X509) *path, AddressReport *report) {
        int r;

        for (int depth = 0; depth < sk_X509_num(path); depth++) {
                X509 *x = sk_X509_value(path, depth);
                const CertificateInfo *info = &report->chain[depth];

                if (key_is_weak(x)) {
                        r = problem_list_add(&report->problems, PROBLEM_WEAK_KEY, STATUS_WARNING, depth, -1,
                                             "\"%s\" (depth %d) has a weak key (%s bits): reissue it with RSA 2048 "
                                             "or more, or EC P-256",
                                             info->subject, depth, info->key);
                        if (r < 0)
                                return r;
                }
                /* A self-signed certificate's own signature proves nothing either way (trust in it comes
                 * from the store), so its digest is not judged. */
                if (!is_self_signed(x) && signature_is_weak(x)) {
                        r = problem_list_add(&report->problems, PROBLEM_WEAK_SIGNATURE, STATUS_WARNING, depth, -1,
                                             "\"%s\" (depth %d) is signed with %s, which clients reject: reissue "
                                             "it with SHA-256",
                                             info->subject, depth, info->signature_algorithm);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int cert_check(const CertCheckInput *input, AddressReport *report) {
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *now = NULL;
        STACK_OF(X509) *path;
        int r;

        if (!input->served || sk_X509_num(input->served) == 0)
                return problem_list_add(&report->problems, PROBLEM_NO_PEER_CERTIFICATE, STATUS_CRITICAL, -1, -1,
                                        "the handshake completed without a server certificate (anonymous cipher): "
                                        "configure certfile and keyfile on the listener");

        /* The path that verified is what clients rely on; extra certificates the listener sends but
         * the path does not use (an expired cross-sign) are not judged. */
        path = input->verified && sk_X509_num(input->verified) > 0 ? input->verified : input->served;

        now = ASN1_TIME_set(NULL, input->now);
        if (!now)
                return -ENOMEM;

        int n_path = sk_X509_num(path);
        report->chain = calloc((size_t) n_path, sizeof(CertificateInfo));
        if (!report->chain)
                return -ENOMEM;
        for (int depth = 0; depth < n_path; depth++) {
                X509 *x = sk_X509_value(path, depth);

                r = describe_certificate(x, depth, chain_contains(input->served, x), now, &report->chain[depth]);
                if (r < 0)
                        return r;
                report->n_chain++;
        }

        r = check_trust(input, path, report);
        if (r < 0)
                return r;
        r = check_name(input, sk_X509_value(input->served, 0), report);
        if (r < 0)
                return r;
        r = check_dates(input, path, report);
        if (r < 0)
                return r;
        return check_strength(path, report);
}

bool cert_check_identity_verified(const ProblemList *problems) {
        for (size_t i = 0; i < problems->n; i++) {
                const Problem *problem = &problems->items[i];

                switch (problem->code) {
                case PROBLEM_NO_PEER_CERTIFICATE:
                case PROBLEM_CHAIN_UNVERIFIED:
                case PROBLEM_HOSTNAME_MISMATCH:
                        return false;
                case PROBLEM_INCOMPLETE_CHAIN:
                        /* A warning: the local store completed the path, which then verified. */
                        if (problem->severity == STATUS_CRITICAL)
                                return false;
                        break;
                default:
                        break;
                }
        }
        return true;
}
