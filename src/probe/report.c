/* SPDX-License-Identifier: MIT */
/* Building and freeing the probe result model. Statuses are never stored by hand: report_finalize()
 * derives them from the problems, so a report cannot say "ok" while carrying a critical finding. */
#include <assert.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "string-table.h"
#include "time-util.h"

static const char *const revocation_table[_REVOCATION_MAX] = {
        [REVOCATION_NOT_CHECKED] = "not_checked",
        [REVOCATION_GOOD] = "good",
        [REVOCATION_REVOKED] = "revoked",
        [REVOCATION_UNKNOWN] = "unknown",
};

DEFINE_STRING_TABLE_LOOKUP(revocation, Revocation, _REVOCATION_MAX);

Status problem_code_default_severity(ProblemCode code) {
        switch (code) {
        case PROBLEM_INCOMPLETE_CHAIN:
        case PROBLEM_EXPIRES_SOON:
        case PROBLEM_WEAK_KEY:
        case PROBLEM_WEAK_SIGNATURE:
        case PROBLEM_OLD_TLS_VERSION:
        case PROBLEM_CACERTFILE_NOT_ROOT:
        case PROBLEM_KEY_PERMISSIONS:
        case PROBLEM_STALE_CERTIFICATE:
        case PROBLEM_NAME_ONLY_IN_CN:
        case PROBLEM_RENEWAL_OVERDUE:
        case PROBLEM_REVOCATION_UNKNOWN: /* a note with Revocation=crl */
        case PROBLEM_PIN_MISMATCH:
        case PROBLEM_INTERMEDIATE_CHANGED:
        case PROBLEM_NODES_DIFFER:
                return STATUS_WARNING;
        /* Notes: an extra root is harmless (clients ignore it); a dropped clientAuth matters only
         * where the target says the certificate authenticates clients (ExpectClientAuth=). */
        case PROBLEM_CLIENT_AUTH_DROPPED:
        case PROBLEM_ROOT_IN_CERTFILE:
                return STATUS_OK;
        default:
                return STATUS_CRITICAL;
        }
}

/* A probe can only find a bounded number of distinct things; a hostile peer must not be able to
 * grow this list without limit. */
#define PROBLEMS_MAX 64

int problem_list_add(ProblemList *list, ProblemCode code, Status severity, int depth, int verify_code,
                     const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        if (list->n >= PROBLEMS_MAX)
                return 0;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        Problem *items = realloc(list->items, (list->n + 1) * sizeof(Problem));
        if (!items)
                return -ENOMEM;
        list->items = items;
        list->items[list->n++] = (Problem) {
                .code = code,
                .severity = severity,
                .message = TAKE_PTR(message),
                .depth = depth,
                .verify_code = verify_code,
        };
        return 0;
}

bool problem_list_has(const ProblemList *list, ProblemCode code) {
        for (size_t i = 0; i < list->n; i++)
                if (list->items[i].code == code)
                        return true;
        return false;
}

void problem_list_clear(ProblemList *list) {
        for (size_t i = 0; i < list->n; i++)
                free(list->items[i].message);
        free(list->items);
        *list = (ProblemList) {};
}

Status problem_list_worst(const ProblemList *list) {
        Status worst = STATUS_OK;

        for (size_t i = 0; i < list->n; i++)
                worst = status_worst(worst, list->items[i].severity);
        return worst;
}

const Problem *problem_list_worst_item(const ProblemList *list) {
        const Problem *worst = NULL;

        assert(list);
        for (size_t i = 0; i < list->n; i++)
                if (!worst || list->items[i].severity > worst->severity)
                        worst = &list->items[i];
        return worst;
}

int certificate_new(const uint8_t sha256[32], int64_t not_before, int64_t not_after, const char *key_type,
                    int key_bits, const char *signature_algorithm, const char *subject, const char *issuer,
                    char *const *subject_alt_names, size_t n_subject_alt_names, Certificate **ret) {
        assert(sha256);
        assert(subject);
        assert(issuer);
        assert(ret);

        size_t text = strlen(subject) + 1 + strlen(issuer) + 1;
        for (size_t i = 0; i < n_subject_alt_names; i++)
                text += strlen(subject_alt_names[i]) + 1;

        Certificate *c = malloc(sizeof(Certificate) + n_subject_alt_names * sizeof(char *) + text);
        if (!c)
                return -ENOMEM;
        *c = (Certificate){
                .n_ref = 1,
                .not_before = not_before,
                .not_after = not_after,
                .key_type = key_type ?: "unknown",
                .key_bits = key_bits,
                .signature_algorithm = signature_algorithm ?: "unknown",
                .extended_key_usage = UINT32_MAX,
                .n_subject_alt_names = n_subject_alt_names,
        };
        memcpy(c->sha256, sha256, sizeof(c->sha256));

        char *p = (char *) &c->subject_alt_names[n_subject_alt_names];
        c->subject = p;
        p = stpcpy(p, subject) + 1;
        c->issuer = p;
        p = stpcpy(p, issuer) + 1;
        for (size_t i = 0; i < n_subject_alt_names; i++) {
                c->subject_alt_names[i] = p;
                p = stpcpy(p, subject_alt_names[i]) + 1;
        }
        *ret = c;
        return 0;
}

Certificate *certificate_ref(Certificate *c) {
        if (c) {
                assert(c->n_ref > 0);
                c->n_ref++;
        }
        return c;
}

static void certificate_cache_unlink(CertificateCache *cache, Certificate *c);

Certificate *certificate_unref(Certificate *c) {
        if (!c)
                return NULL;
        assert(c->n_ref > 0);
        if (--c->n_ref > 0)
                return NULL;
        if (c->cache)
                certificate_cache_unlink(c->cache, c);
        free(c);
        return NULL;
}

double certificate_days_left(const Certificate *c, int64_t at) {
        assert(c);
        return (double) (c->not_after - at) / 86400.0;
}

void certificate_hex(const uint8_t *bytes, size_t n, char *ret) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = digits[bytes[i] >> 4];
                ret[2 * i + 1] = digits[bytes[i] & 15];
        }
        ret[2 * n] = '\0';
}

void certificate_sha256_hex(const Certificate *c, char ret[65]) {
        assert(c);
        certificate_hex(c->sha256, sizeof(c->sha256), ret);
}

/* XKU_SSL_CLIENT is OpenSSL's bit for id-kp-clientAuth (x509v3.h); kept here as a number so that
 * report.c needs no OpenSSL header. */
#define XKU_CLIENT_AUTH_BIT 0x2

bool certificate_allows_client_auth(const Certificate *c) {
        assert(c);
        return c->extended_key_usage == UINT32_MAX || (c->extended_key_usage & XKU_CLIENT_AUTH_BIT);
}

/* Chained buckets, doubled when the load passes 2: a fleet of 10,000 targets holds a few dozen
 * distinct intermediates and roots, and as many leaves as it has distinct listeners. */
struct CertificateCache {
        Certificate **buckets;
        size_t n_buckets; /* a power of two */
        size_t n;
};

static size_t bucket_of(const CertificateCache *cache, const uint8_t sha256[32]) {
        uint64_t h;

        memcpy(&h, sha256, sizeof(h)); /* a digest: its first bytes are as good a hash as any */
        return (size_t) (h & (cache->n_buckets - 1));
}

int certificate_cache_new(CertificateCache **ret) {
        assert(ret);

        CertificateCache *cache = calloc(1, sizeof(CertificateCache));
        if (!cache)
                return -ENOMEM;
        cache->n_buckets = 64;
        cache->buckets = calloc(cache->n_buckets, sizeof(Certificate *));
        if (!cache->buckets) {
                free(cache);
                return -ENOMEM;
        }
        *ret = cache;
        return 0;
}

CertificateCache *certificate_cache_free(CertificateCache *cache) {
        if (!cache)
                return NULL;
        /* Certificates outlive the cache only in reports still held: they simply stop being shared. */
        for (size_t i = 0; i < cache->n_buckets; i++)
                for (Certificate *c = cache->buckets[i], *next; c; c = next) {
                        next = c->cache_next;
                        c->cache = NULL;
                        c->cache_next = NULL;
                }
        free(cache->buckets);
        free(cache);
        return NULL;
}

static void certificate_cache_grow(CertificateCache *cache) {
        size_t n_buckets = cache->n_buckets * 2;
        Certificate **buckets = calloc(n_buckets, sizeof(Certificate *));

        if (!buckets) /* out of memory: longer chains, still correct */
                return;
        Certificate **old = cache->buckets;
        size_t n_old = cache->n_buckets;
        cache->buckets = buckets;
        cache->n_buckets = n_buckets;
        for (size_t i = 0; i < n_old; i++)
                for (Certificate *c = old[i], *next; c; c = next) {
                        next = c->cache_next;
                        size_t b = bucket_of(cache, c->sha256);
                        c->cache_next = buckets[b];
                        buckets[b] = c;
                }
        free(old);
}

void certificate_cache_intern(CertificateCache *cache, Certificate **c) {
        assert(cache);
        assert(c && *c);

        if ((*c)->cache == cache)
                return;
        for (Certificate *hit = cache->buckets[bucket_of(cache, (*c)->sha256)]; hit; hit = hit->cache_next)
                if (memcmp(hit->sha256, (*c)->sha256, sizeof(hit->sha256)) == 0) {
                        certificate_unref(*c);
                        *c = certificate_ref(hit);
                        return;
                }
        if ((*c)->cache) /* interned elsewhere: not ours to move */
                return;
        if (cache->n >= 2 * cache->n_buckets)
                certificate_cache_grow(cache);
        size_t b = bucket_of(cache, (*c)->sha256);
        (*c)->cache = cache;
        (*c)->cache_next = cache->buckets[b];
        cache->buckets[b] = *c;
        cache->n++;
}

static void certificate_cache_unlink(CertificateCache *cache, Certificate *c) {
        for (Certificate **p = &cache->buckets[bucket_of(cache, c->sha256)]; *p; p = &(*p)->cache_next)
                if (*p == c) {
                        *p = c->cache_next;
                        cache->n--;
                        return;
                }
        assert(!"an interned certificate is missing from its cache");
}

size_t certificate_cache_size(const CertificateCache *cache) {
        return cache ? cache->n : 0;
}

void report_intern_certificates(Report *report, CertificateCache *cache) {
        assert(report);
        assert(cache);

        for (size_t i = 0; i < report->n_addresses; i++)
                for (size_t j = 0; j < report->addresses[i].n_chain; j++)
                        certificate_cache_intern(cache, &report->addresses[i].chain[j].certificate);
}

/* Bump allocation inside the block report_pack() sized: every piece aligned as a pointer. */
typedef struct Packer {
        char *next;
        char *end;
} Packer;

#define PACK_ALIGN(n) (((n) + sizeof(void *) - 1) & ~(sizeof(void *) - 1))

static void *pack_take(Packer *p, size_t n) {
        void *result = p->next;

        p->next += PACK_ALIGN(n);
        assert(p->next <= p->end);
        return result;
}

static char *pack_string(Packer *p, const char *s) {
        return s ? strcpy(pack_take(p, strlen(s) + 1), s) : NULL;
}

static size_t string_size(const char *s) {
        return s ? PACK_ALIGN(strlen(s) + 1) : 0;
}

static size_t problems_size(const ProblemList *list) {
        size_t n = PACK_ALIGN(list->n * sizeof(Problem));

        for (size_t i = 0; i < list->n; i++)
                n += string_size(list->items[i].message);
        return n;
}

static void pack_problems(Packer *p, const ProblemList *from, ProblemList *to) {
        *to = (ProblemList) { .n = from->n };
        if (from->n == 0)
                return;
        to->items = pack_take(p, from->n * sizeof(Problem));
        for (size_t i = 0; i < from->n; i++) {
                to->items[i] = from->items[i];
                to->items[i].message = pack_string(p, from->items[i].message);
        }
}

int report_pack(Report **report) {
        Report *r;
        size_t size;

        assert(report && *report);
        r = *report;
        if (r->packed)
                return 0;

        size = PACK_ALIGN(sizeof(Report)) + string_size(r->target) + string_size(r->server_name) +
                string_size(r->protocol) + problems_size(&r->problems) +
                PACK_ALIGN(r->n_addresses * sizeof(AddressReport));
        for (size_t i = 0; i < r->n_addresses; i++) {
                const AddressReport *a = &r->addresses[i];
                size += problems_size(&a->problems) + PACK_ALIGN(a->n_chain * sizeof(ChainLink)) +
                        string_size(a->protocol_detail) + string_size(a->internal_error);
        }

        char *block = malloc(size);
        if (!block)
                return -ENOMEM;
        Packer p = { .next = block, .end = block + size };
        Report *packed = pack_take(&p, sizeof(Report));
        *packed = (Report) {
                .status = r->status,
                .n_addresses = r->n_addresses,
                .duration_usec = r->duration_usec,
                .packed = true,
        };
        packed->target = pack_string(&p, r->target);
        packed->server_name = pack_string(&p, r->server_name);
        packed->protocol = pack_string(&p, r->protocol);
        pack_problems(&p, &r->problems, &packed->problems);
        packed->addresses = r->n_addresses > 0 ? pack_take(&p, r->n_addresses * sizeof(AddressReport)) : NULL;
        for (size_t i = 0; i < r->n_addresses; i++) {
                AddressReport *from = &r->addresses[i], *to = &packed->addresses[i];

                *to = *from;
                pack_problems(&p, &from->problems, &to->problems);
                to->chain = from->n_chain > 0 ? pack_take(&p, from->n_chain * sizeof(ChainLink)) : NULL;
                for (size_t j = 0; j < from->n_chain; j++) {
                        to->chain[j] = from->chain[j];
                        from->chain[j].certificate = NULL; /* the reference moves */
                }
                to->protocol_detail = pack_string(&p, from->protocol_detail);
                to->internal_error = pack_string(&p, from->internal_error);
        }
        assert(p.next == p.end);

        report_free(r);
        *report = packed;
        return 0;
}

static size_t heap_size(const void *p) {
        return p ? malloc_usable_size((void *) p) + sizeof(size_t) : 0; /* + glibc's chunk header */
}

static size_t problems_heap_size(const ProblemList *list) {
        size_t n = heap_size(list->items);

        for (size_t i = 0; i < list->n; i++)
                n += heap_size(list->items[i].message);
        return n;
}

size_t report_heap_size(const Report *report, size_t *ret_certificates) {
        size_t n = 0, certificates = 0;

        if (!report) {
                if (ret_certificates)
                        *ret_certificates = 0;
                return 0;
        }
        if (report->packed) {
                n = heap_size(report);
                for (size_t i = 0; i < report->n_addresses; i++)
                        for (size_t j = 0; j < report->addresses[i].n_chain; j++)
                                certificates += heap_size(report->addresses[i].chain[j].certificate);
                if (ret_certificates)
                        *ret_certificates = certificates;
                return n;
        }
        n += heap_size(report) + heap_size(report->target) + heap_size(report->server_name) +
                heap_size(report->protocol) + problems_heap_size(&report->problems) + heap_size(report->addresses);
        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];

                n += problems_heap_size(&a->problems) + heap_size(a->chain) + heap_size(a->protocol_detail) +
                        heap_size(a->internal_error);
                for (size_t j = 0; j < a->n_chain; j++)
                        certificates += heap_size(a->chain[j].certificate);
        }
        if (ret_certificates)
                *ret_certificates = certificates;
        return n;
}

/* An upper bound on the addresses probed per target; a name that resolves to more is cut here. */
#define ADDRESSES_MAX 32

AddressReport *report_add_address(Report *report, const char *address) {
        if (report->n_addresses >= ADDRESSES_MAX)
                return NULL;

        AddressReport *addresses = realloc(report->addresses, (report->n_addresses + 1) * sizeof(AddressReport));
        if (!addresses)
                return NULL;
        report->addresses = addresses;

        AddressReport *a = &report->addresses[report->n_addresses];
        *a = (AddressReport) {};
        snprintf(a->address, sizeof(a->address), "%s", address);
        report->n_addresses++;
        return a;
}

static bool problem_equal(const Problem *a, const Problem *b) {
        return a->code == b->code && a->severity == b->severity && a->depth == b->depth &&
                a->verify_code == b->verify_code && strcmp(a->message, b->message) == 0;
}

/* One name, several nodes, different leaves: the classic "one broker of the cluster was not renewed".
 * A target-level finding, naming each address with its fingerprint and notAfter. */
static int check_nodes_differ(Report *report) {
        const Certificate *first = NULL;
        bool differ = false;
        char text[1024];
        size_t used = 0;

        if (problem_list_has(&report->problems, PROBLEM_NODES_DIFFER))
                return 0; /* finalized twice (replay, target files) */
        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];
                if (a->n_chain == 0)
                        continue;
                if (!first)
                        first = a->chain[0].certificate;
                else if (memcmp(first->sha256, a->chain[0].certificate->sha256, sizeof(first->sha256)) != 0)
                        differ = true;
        }
        if (!differ)
                return 0;

        text[0] = '\0';
        for (size_t i = 0; i < report->n_addresses && used < sizeof(text); i++) {
                const AddressReport *a = &report->addresses[i];
                char sha256[65], not_after[32];
                if (a->n_chain == 0)
                        continue;
                certificate_sha256_hex(a->chain[0].certificate, sha256);
                format_timestamp_rfc3339(not_after, sizeof(not_after), a->chain[0].certificate->not_after);
                int n = snprintf(text + used, sizeof(text) - used,
                                 "%s%s serves sha256 %.16s... (not after %s)", used ? ", " : "", a->address,
                                 sha256, not_after);
                if (n < 0)
                        break;
                used += (size_t) n;
        }
        return problem_list_add(&report->problems, PROBLEM_NODES_DIFFER, STATUS_WARNING, 0, -1,
                                "the addresses of %s serve different certificates: %s; clients get either at "
                                "random: renew and reload every node",
                                report->server_name ?: report->target ?: "the target", text);
}

int report_finalize(Report *report) {
        int r;

        r = check_nodes_differ(report);
        if (r < 0)
                return r;
        report->status = problem_list_worst(&report->problems);

        /* Addresses of one cluster usually fail the same way; list each distinct finding once. */
        for (size_t i = 0; i < report->n_addresses; i++) {
                AddressReport *a = &report->addresses[i];

                a->status = problem_list_worst(&a->problems);
                if (a->internal_error)
                        a->status = status_worst(a->status, STATUS_UNKNOWN);
                report->status = status_worst(report->status, a->status);

                for (size_t j = 0; j < a->problems.n; j++) {
                        const Problem *p = &a->problems.items[j];
                        bool seen = false;

                        for (size_t k = 0; k < report->problems.n && !seen; k++)
                                seen = problem_equal(&report->problems.items[k], p);
                        if (seen)
                                continue;

                        r = problem_list_add(&report->problems, p->code, p->severity, p->depth, p->verify_code,
                                             "%s", p->message);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

void address_report_clear(AddressReport *a) {
        problem_list_clear(&a->problems);
        for (size_t i = 0; i < a->n_chain; i++)
                certificate_unref(a->chain[i].certificate);
        free(a->chain);
        free(a->protocol_detail);
        free(a->internal_error);
        *a = (AddressReport) {};
}

Report *report_free(Report *report) {
        if (!report)
                return NULL;

        if (report->packed) {
                for (size_t i = 0; i < report->n_addresses; i++)
                        for (size_t j = 0; j < report->addresses[i].n_chain; j++)
                                certificate_unref(report->addresses[i].chain[j].certificate);
                free(report);
                return NULL;
        }

        free(report->target);
        free(report->server_name);
        free(report->protocol);
        problem_list_clear(&report->problems);
        for (size_t i = 0; i < report->n_addresses; i++)
                address_report_clear(&report->addresses[i]);
        free(report->addresses);
        free(report);
        return NULL;
}
