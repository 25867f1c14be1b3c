/* SPDX-License-Identifier: MIT */
/* Chain analysis. The handshake runs with a verify callback that records every error and carries on,
 * so here we see the whole picture and turn it into the problems an operator can act on: trust,
 * missing intermediates, names, dates, weak keys and signatures, each judged on the path that verified. */
#include <arpa/inet.h>
#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cert-check.h"
#include "string-util.h"
#include "time-util.h"

/* Names can be huge on hostile certificates; what a person reads is cut here. */
#define NAME_MAX_CHARS 512
#define SECONDS_PER_DAY 86400.0

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free_all);
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

/* ASN1_TIME -> Unix seconds; a time OpenSSL cannot read counts as the epoch (it parsed the
 * certificate, so this does not happen in practice). */
static int64_t asn1_time_to_unix(const ASN1_TIME *t) {
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return 0;
        return (int64_t) timegm(&tm);
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

/* Every DNS name and IP address of subjectAltName, as sanitised strings; each is cut at 255 bytes (a
 * DNS name's limit), the list at SUBJECT_ALT_NAMES_MAX (public CAs issue at most 100), so a hostile
 * certificate costs a report at most some 64 KiB. Returns 0 or -ENOMEM. */
#define SUBJECT_ALT_NAMES_MAX 256

typedef struct NameList {
        char **items;
        size_t n;
} NameList;

static void name_list_clear(NameList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i]);
        free(l->items);
        *l = (NameList) {};
}

static int subject_alt_names(X509 *leaf, NameList *ret) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        NameList list = {};
        int n = names ? sk_GENERAL_NAME_num(names) : 0;

        if (n > 0) {
                list.items = calloc((size_t) MIN(n, SUBJECT_ALT_NAMES_MAX), sizeof(char *));
                if (!list.items)
                        return -ENOMEM;
        }
        for (int i = 0; i < n && list.n < SUBJECT_ALT_NAMES_MAX; i++) {
                const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
                char *item;

                if (name->type == GEN_DNS) {
                        /* Bytes as they are, NULs included, so a name like "evil\0.localhost" shows whole. */
                        const ASN1_IA5STRING *s = name->d.dNSName;
                        item = text_sanitize((const char *) s->data, (size_t) MAX(s->length, 0), 255);
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
                if (!item) {
                        name_list_clear(&list);
                        return -ENOMEM;
                }
                list.items[list.n++] = item;
        }
        *ret = list;
        return 0;
}

/* The names for a sentence: the first six, comma-separated, or a sentence when there are none. */
static void names_sentence(const Certificate *c, char *buffer, size_t size) {
        size_t used = 0;

        assert(c);
        if (c->n_subject_alt_names == 0) {
                snprintf(buffer, size, "no DNS or IP names (subjectAltName)");
                return;
        }
        buffer[0] = '\0';
        for (size_t i = 0; i < c->n_subject_alt_names && i < 6; i++) {
                int n = snprintf(buffer + used, size - used, "%s%s", i ? ", " : "", c->subject_alt_names[i]);
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += (size_t) n;
        }
        if (c->n_subject_alt_names > 6 && used + 16 < size)
                snprintf(buffer + used, size - used, " and %zu more", c->n_subject_alt_names - 6);
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

int cert_check_spki_sha256(X509 *x, uint8_t ret[32]) {
        unsigned length = 0;

        /* X509_pubkey_digest() hashes the key bits only; a pin (RFC 7469, curl's --pinnedpubkey) is
         * over the whole DER SubjectPublicKeyInfo, algorithm included. */
        X509_PUBKEY *spki = X509_get_X509_PUBKEY(x);
        unsigned char *der = NULL;
        int n = spki ? i2d_X509_PUBKEY(spki, &der) : -1;
        if (n <= 0)
                return -EIO;
        int ok = EVP_Digest(der, (size_t) n, ret, &length, EVP_sha256(), NULL);
        OPENSSL_free(der);
        return ok == 1 && length == 32 ? 0 : -EIO;
}

static void copy_key_id(const ASN1_OCTET_STRING *id, uint8_t *to, uint8_t *n) {
        if (!id || id->length <= 0)
                return;
        *n = (uint8_t) MIN(id->length, CERTIFICATE_KEY_ID_MAX);
        memcpy(to, id->data, *n);
}

/* The certificate is still ours alone (not interned): what the renewal diff and pins compare. */
static void describe_details(X509 *x, Certificate *c) {
        c->has_details = cert_check_spki_sha256(x, c->spki_sha256) == 0;
        copy_key_id(X509_get0_subject_key_id(x), c->subject_key_id, &c->n_subject_key_id);
        copy_key_id(X509_get0_authority_key_id(x), c->authority_key_id, &c->n_authority_key_id);
        c->extended_key_usage = X509_get_extended_key_usage(x);
}

int cert_check_describe(X509 *x, Certificate **ret) {
        _cleanup_free_ char *subject = NULL, *issuer = NULL;
        _cleanup_(name_list_clear) NameList names = {};
        uint8_t digest[EVP_MAX_MD_SIZE] = {};
        unsigned digest_length = 0;
        EVP_PKEY *key = X509_get0_pubkey(x);
        int r;

        assert(x);
        assert(ret);

        subject = name_to_string(X509_get_subject_name(x));
        issuer = name_to_string(X509_get_issuer_name(x));
        if (!subject || !issuer)
                return -ENOMEM;
        r = subject_alt_names(x, &names);
        if (r < 0)
                return r;
        if (X509_digest(x, EVP_sha256(), digest, &digest_length) != 1 || digest_length != 32)
                return -EIO;

        Certificate *c = NULL;
        r = certificate_new(
                digest, asn1_time_to_unix(X509_get0_notBefore(x)), asn1_time_to_unix(X509_get0_notAfter(x)),
                key ? key_type_name(EVP_PKEY_get_base_id(key)) : NULL, key ? EVP_PKEY_get_bits(key) : 0,
                OBJ_nid2ln(X509_get_signature_nid(x)), subject, issuer, names.items, names.n, &c);
        if (r < 0)
                return r;
        describe_details(x, c);
        *ret = c;
        return 0;
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
                /* Both codes: the cause (incomplete_chain) for the one who fixes it, and the effect
                 * (chain_unverified) for whoever alerts on "the chain does not verify", of which this
                 * is the most common cause. */
                _cleanup_free_ char *issuer = name_to_string(X509_get_issuer_name(top));
                int r = problem_list_add(&report->problems, PROBLEM_INCOMPLETE_CHAIN, STATUS_CRITICAL, distrust->depth,
                                        distrust->code,
                                        "%s its own certificate and its issuer \"%s\" is neither "
                                        "sent nor trusted (verify code %d): the certfile lacks the intermediate, map "
                                        "the fullchain file, not cert.pem (or, for a private CA, configure the CA "
                                        "file that holds it)",
                                        input->from_file ? "the certfile holds only" : "the listener sent only",
                                        issuer ?: "?", distrust->code);
                if (r < 0)
                        return r;
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
        else {
                matched = X509_check_host(leaf, name, strlen(name), 0, NULL);
                /* OpenSSL, as RFC 6125 §6.4.4 once allowed, falls back to the subject's CN when
                 * subjectAltName holds no DNS name; the clients that follow RFC 9525 do not. Matching
                 * again without the fallback tells a name in subjectAltName from one in the CN alone. */
                if (matched == 1 && X509_check_host(leaf, name, strlen(name),
                                                    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) != 1) {
                        Status severity = severity_choice_apply(
                                input->name_only_in_cn,
                                problem_code_default_severity(PROBLEM_NAME_ONLY_IN_CN));
                        return problem_list_add(
                                &report->problems, PROBLEM_NAME_ONLY_IN_CN, severity, 0, -1,
                                "\"%s\" is only in the certificate's subject CN, and subjectAltName "
                                "holds no DNS name: OpenSSL-based clients accept it, but browsers "
                                "refuse it (Chrome since 58, NET::ERR_CERT_COMMON_NAME_INVALID; Safari "
                                "since iOS 13 and macOS 10.15), so does a web dashboard on this "
                                "certificate, as do Go programs since Go 1.15 (\"x509: certificate "
                                "relies on legacy Common Name field\") and rustls-based MQTT clients: "
                                "reissue it with subjectAltName DNS:%s",
                                name, name);
                }
        }
        if (matched == 1)
                return 0;

        char names[NAME_MAX_CHARS];
        names_sentence(report->chain[0].certificate, names, sizeof(names));
        return problem_list_add(&report->problems, PROBLEM_HOSTNAME_MISMATCH, STATUS_CRITICAL, 0, -1,
                                "the certificate does not cover \"%s\"; it names %s: issue it with this name in "
                                "subjectAltName, or probe the name clients use",
                                name, names);
}

/* The leaf against the expiry policy: renewal_overdue past its renew point, expires_soon below the
 * fixed days or the renewal floor. The messages give the lifetime and when renewal was due, which is
 * what tells a stuck ACME client from a certificate that was never meant to be renewed. */
static int check_leaf_expiry(const CertCheckInput *input, AddressReport *report) {
        const Certificate *leaf = report->chain[0].certificate;
        ProblemList *problems = &report->problems;
        ExpiryAssessment a;
        char when[32], renew[32], left[32], life[32], floor[32];

        expiry_assess(&input->expiry, leaf->not_before, leaf->not_after, input->now, &a);
        expiry_format_span(a.left, left, sizeof(left));
        expiry_format_span(a.lifetime, life, sizeof(life));
        expiry_format_span(a.floor, floor, sizeof(floor));
        format_timestamp_rfc3339(when, sizeof(when), leaf->not_after);
        format_timestamp_rfc3339(renew, sizeof(renew), a.renew_at);
        double days = (double) a.left / 86400.0;

        switch (a.verdict) {
        case EXPIRY_OK:
                return 0;
        case EXPIRY_RENEWAL_OVERDUE:
                return problem_list_add(problems, PROBLEM_RENEWAL_OVERDUE, STATUS_WARNING, 0, -1,
                                        "\"%s\" expires in %s, on %s, with %.0f%% of its %s lifetime left: "
                                        "its ACME client should have renewed it by %s (%.0f%% left); check "
                                        "the client's timer and log, then reload the listener",
                                        leaf->subject, left, when, a.left_fraction * 100, life, renew,
                                        a.renew_fraction * 100);
        case EXPIRY_EXPIRES_SOON:
                return problem_list_add(problems, PROBLEM_EXPIRES_SOON, STATUS_WARNING, 0, -1,
                                        "\"%s\" (depth 0) expires in %.1f days, on %s: renew it and "
                                        "reload the listener",
                                        leaf->subject, days, when);
        case EXPIRY_CRITICAL:
                if (a.by_days)
                        return problem_list_add(problems, PROBLEM_EXPIRES_SOON, STATUS_CRITICAL, 0, -1,
                                                "\"%s\" (depth 0) expires in %.1f days, on %s: renew it and "
                                                "reload the listener",
                                                leaf->subject, days, when);
                return problem_list_add(problems, PROBLEM_EXPIRES_SOON, STATUS_CRITICAL, 0, -1,
                                        "\"%s\" expires in %s, on %s, less than the %s a renewal needs "
                                        "(%s lifetime, renewal was due by %s): renew it now and reload "
                                        "the listener",
                                        leaf->subject, left, when, floor, life, renew);
        }
        return 0;
}

static int check_dates(const CertCheckInput *input, STACK_OF(X509) *path, AddressReport *report) {
        int earliest_depth = -1;
        double earliest_days = 0;
        bool any_invalid = false;
        char when[32];
        int r;

        for (int depth = 0; depth < sk_X509_num(path); depth++) {
                X509 *x = sk_X509_value(path, depth);
                const Certificate *info = report->chain[depth].certificate;
                assert(info); /* every link was described before the checks run */
                double days_left = certificate_days_left(info, input->now);

                if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), input->now) > 0) {
                        any_invalid = true;
                        r = problem_list_add(&report->problems, PROBLEM_NOT_YET_VALID, STATUS_CRITICAL, depth, -1,
                                             "\"%s\" (depth %d) is not valid before %s: check the clock of the "
                                             "issuing host and of this monitor",
                                             info->subject, depth,
                                             format_timestamp_rfc3339(when, sizeof(when), info->not_before));
                        if (r < 0)
                                return r;
                }
                if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), input->now) < 0) {
                        any_invalid = true;
                        r = problem_list_add(&report->problems, PROBLEM_EXPIRED, STATUS_CRITICAL, depth, -1,
                                             "\"%s\" (depth %d) expired on %s, %.1f days ago: renew it and reload "
                                             "the listener",
                                             info->subject, depth,
                                             format_timestamp_rfc3339(when, sizeof(when), info->not_after), -days_left);
                        if (r < 0)
                                return r;
                }
                if (earliest_depth < 0 || days_left < earliest_days) {
                        earliest_depth = depth;
                        earliest_days = days_left;
                        report->days_left = days_left;
                        report->has_days_left = true;
                }
        }

        if (any_invalid || earliest_depth < 0)
                return 0;

        /* The leaf by the expiry policy (its lifetime, or the fixed days when given); the CA certificates
         * on the path by the fixed days alone: nothing renews them at a fraction of their life. */
        int ca_depth = -1;
        double ca_days = 0;
        for (int depth = 1; depth < sk_X509_num(path); depth++) {
                double days_left = certificate_days_left(report->chain[depth].certificate, input->now);
                if (ca_depth < 0 || days_left < ca_days) {
                        ca_depth = depth;
                        ca_days = days_left;
                }
        }
        /* WarnDays=/CritDays= alone judge the earliest certificate of the path, as they always did. */
        if (expiry_policy_lifetime_active(&input->expiry) || earliest_depth == 0) {
                r = check_leaf_expiry(input, report);
                if (r < 0)
                        return r;
        }
        if (ca_depth < 0 || (!expiry_policy_lifetime_active(&input->expiry) && earliest_depth == 0))
                return 0;
        unsigned warn_days = input->expiry.days_set ? input->expiry.warn_days : EXPIRY_DEFAULT_WARN_DAYS;
        unsigned crit_days = input->expiry.days_set ? input->expiry.crit_days : EXPIRY_DEFAULT_CRIT_DAYS;
        const Certificate *ca = report->chain[ca_depth].certificate;
        Status severity;
        if (ca_days < crit_days)
                severity = STATUS_CRITICAL;
        else if (ca_days < warn_days)
                severity = STATUS_WARNING;
        else
                return 0;

        return problem_list_add(&report->problems, PROBLEM_EXPIRES_SOON, severity, ca_depth, -1,
                                "\"%s\" (depth %d) expires in %.1f days, on %s: renew it and reload the listener",
                                ca->subject, ca_depth, ca_days,
                                format_timestamp_rfc3339(when, sizeof(when), ca->not_after));
}

static int check_strength(STACK_OF(X509) *path, AddressReport *report) {
        int r;

        for (int depth = 0; depth < sk_X509_num(path); depth++) {
                X509 *x = sk_X509_value(path, depth);
                const Certificate *info = report->chain[depth].certificate;
                assert(info); /* every link was described before the checks run */

                if (key_is_weak(x)) {
                        r = problem_list_add(&report->problems, PROBLEM_WEAK_KEY, STATUS_WARNING, depth, -1,
                                             "\"%s\" (depth %d) has a weak key (%s %d bits): reissue it with RSA "
                                             "2048 or more, or EC P-256",
                                             info->subject, depth, info->key_type, info->key_bits);
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

int cert_check_parse_pins(const char *text, uint8_t (*pins)[32], size_t max, size_t *ret_n) {
        size_t n = 0;

        assert(text);
        for (const char *p = text; *p;) {
                char word[128];
                size_t length = strcspn(p, " \t,");

                if (length == 0) {
                        p++;
                        continue;
                }
                if (length >= sizeof(word) || n >= max)
                        return -EINVAL;
                memcpy(word, p, length);
                word[length] = '\0';
                p += length;

                /* curl's --pinnedpubkey form "sha256//BASE64", plain base64 (HPKP, `openssl ... | base64`)
                 * or the 64 hex digits `openssl dgst -sha256` prints. */
                const char *value = strncmp(word, "sha256//", 8) == 0 ? word + 8 : word;
                uint8_t digest[32];
                size_t value_length = strlen(value);
                if (value_length == 64 && strspn(value, "0123456789abcdefABCDEF") == 64) {
                        size_t decoded_length = 0;
                        if (OPENSSL_hexstr2buf_ex(digest, sizeof(digest), &decoded_length, value, '\0') != 1 ||
                            decoded_length != sizeof(digest))
                                return -EINVAL;
                } else if (value_length == 44 && value[43] == '=' && value[42] != '=') {
                        unsigned char decoded[33];
                        if (EVP_DecodeBlock(decoded, (const unsigned char *) value, 44) != 33)
                                return -EINVAL;
                        memcpy(digest, decoded, 32); /* the 33rd byte is the padding's zero */
                } else
                        return -EINVAL;
                if (pins)
                        memcpy(pins[n], digest, 32);
                n++;
        }
        if (n == 0)
                return -EINVAL;
        if (ret_n)
                *ret_n = n;
        return 0;
}

/* As HPKP and curl do: the pin holds if any key on the verified path is pinned (the leaf's for who
 * pins the server, the intermediate's or root's for who pins the CA). */
static int check_pins(const CertCheckInput *input, AddressReport *report) {
        uint8_t pins[CERT_CHECK_PINS_MAX][32];
        size_t n_pins = 0;

        if (!input->pins || !*input->pins)
                return 0;
        if (cert_check_parse_pins(input->pins, pins, CERT_CHECK_PINS_MAX, &n_pins) < 0)
                return 0; /* refused where the setting was read */
        for (size_t depth = 0; depth < report->n_chain; depth++)
                for (size_t i = 0; i < n_pins; i++)
                        if (report->chain[depth].certificate->has_details &&
                            memcmp(report->chain[depth].certificate->spki_sha256, pins[i], 32) == 0)
                                return 0;

        char leaf_pin[65];
        const Certificate *leaf = report->chain[0].certificate;
        certificate_hex(leaf->spki_sha256, 32, leaf_pin);
        return problem_list_add(
                &report->problems, PROBLEM_PIN_MISMATCH, STATUS_WARNING, 0, -1,
                "no key on the path matches a pinned one (%zu pin%s): the leaf \"%s\" has key "
                "sha256 %s; devices that pin the old key or CA refuse this listener: update the "
                "pins with the renewal, or reuse the pinned key",
                n_pins, n_pins == 1 ? "" : "s", leaf->subject, leaf_pin);
}

int cert_check(const CertCheckInput *input, AddressReport *report) {
        STACK_OF(X509) *path;
        int r;

        if (!input->served || sk_X509_num(input->served) == 0)
                return problem_list_add(&report->problems, PROBLEM_NO_PEER_CERTIFICATE, STATUS_CRITICAL, -1, -1,
                                        "the handshake completed without a server certificate (anonymous cipher): "
                                        "configure certfile and keyfile on the listener");

        /* The path that verified is what clients rely on; extra certificates the listener sends but
         * the path does not use (an expired cross-sign) are not judged. */
        path = input->verified && sk_X509_num(input->verified) > 0 ? input->verified : input->served;

        int n_path = sk_X509_num(path);
        report->chain = calloc((size_t) n_path, sizeof(ChainLink));
        if (!report->chain)
                return -ENOMEM;
        report->checked_at = (int64_t) input->now;
        for (int depth = 0; depth < n_path; depth++) {
                X509 *x = sk_X509_value(path, depth);

                r = cert_check_describe(x, &report->chain[depth].certificate);
                if (r < 0)
                        return r;
                report->chain[depth].sent = chain_contains(input->served, x);
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
        r = check_pins(input, report);
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
