/* SPDX-License-Identifier: MIT */
/* The CRL cache: one entry per URL, holding the parsed CRL or the reason there is none, and the
 * requests waiting for its fetch. An entry is fresh until its expiry on CLOCK_MONOTONIC (derived from
 * the CRL's nextUpdate); a request for a fresh entry is answered from a deferred event. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crl-cache.h"
#include "crl.h"
#include "curl-glue.h"
#include "log.h"

typedef struct CrlEntry CrlEntry;

struct CrlRequest {
        CrlCache *cache;
        CrlEntry *entry;         /* while waiting for its fetch or its deferred answer; NULL otherwise */
        bool deferred;           /* in entry->deferred (answered from the cache), else entry->waiters */
        CrlRequest *next, *prev; /* in that list */
        sd_event_source *defer;  /* answering from the cache */
        X509_CRL *crl;           /* the answer, for the deferred call (own reference) */
        CrlSignatureMemo *memo;  /* the entry's, while the entry still holds `crl`; else NULL */
        char *error;
        crl_request_done_t done;
        void *userdata;
};

struct CrlEntry {
        CrlCache *cache; /* back-pointer, not owned */
        CrlEntry *next;
        char *url;
        X509_CRL *crl;         /* NULL: the last fetch failed, `error` says why */
        CrlSignatureMemo memo; /* of `crl`, reset with it */
        char *error;
        uint64_t expires_usec; /* CLOCK_MONOTONIC; 0 while the first fetch runs */
        CURL *easy;            /* the fetch in flight, or NULL */
        uint8_t *body;
        size_t size;
        bool too_large;
        char curl_error[CURL_ERROR_SIZE];
        CrlRequest *waiters;
        CrlRequest *deferred; /* answered from this entry, their deferred event not run yet */
        bool busy;            /* its waiters are being answered: not to be evicted meanwhile */
};

struct CrlCache {
        sd_event *event;
        CurlGlue *glue;
        CrlEntry *entries;
        size_t n_entries;
        uint64_t fetches;
        uint64_t fetch_failures;
        uint64_t hits;
};

static uint64_t now_monotonic(CrlCache *cache) {
        uint64_t now = 0;

        (void) sd_event_now(cache->event, CLOCK_MONOTONIC, &now);
        return now;
}

static void entry_reset_fetch(CrlCache *cache, CrlEntry *e) {
        if (e->easy) {
                curl_glue_remove(cache->glue, e->easy);
                curl_easy_cleanup(e->easy);
                e->easy = NULL;
        }
        e->body = mfree(e->body);
        e->size = 0;
        e->too_large = false;
}

static void entry_free(CrlCache *cache, CrlEntry *e) {
        /* Waiters are cancelled: they stay allocated, their owners free them. Deferred answers keep
         * their own CRL reference, without the memo. */
        while (e->waiters) {
                CrlRequest *r = e->waiters;
                e->waiters = r->next;
                r->entry = NULL;
                r->next = r->prev = NULL;
        }
        while (e->deferred) {
                CrlRequest *r = e->deferred;
                e->deferred = r->next;
                r->entry = NULL;
                r->memo = NULL;
                r->next = r->prev = NULL;
        }
        entry_reset_fetch(cache, e);
        X509_CRL_free(e->crl);
        free(e->error);
        free(e->url);
        free(e);
}

int crl_cache_new(sd_event *event, CrlCache **ret) {
        CrlCache *cache;
        int r;

        assert(event);
        assert(ret);

        cache = calloc(1, sizeof(CrlCache));
        if (!cache)
                return -ENOMEM;
        cache->event = sd_event_ref(event);
        r = curl_glue_new(event, &cache->glue);
        if (r < 0) {
                crl_cache_free(cache);
                return r;
        }
        *ret = cache;
        return 0;
}

CrlCache *crl_cache_free(CrlCache *cache) {
        if (!cache)
                return NULL;
        while (cache->entries) {
                CrlEntry *e = cache->entries;
                cache->entries = e->next;
                entry_free(cache, e);
        }
        curl_glue_free(cache->glue);
        sd_event_unref(cache->event);
        free(cache);
        return NULL;
}

uint64_t crl_cache_fetches(const CrlCache *cache) {
        assert(cache);
        return cache->fetches;
}

uint64_t crl_cache_fetch_failures(const CrlCache *cache) {
        assert(cache);
        return cache->fetch_failures;
}

uint64_t crl_cache_hits(const CrlCache *cache) {
        assert(cache);
        return cache->hits;
}

static void waiter_unlink(CrlRequest *r) {
        if (!r->entry)
                return;
        if (r->prev)
                r->prev->next = r->next;
        else if (r->deferred)
                r->entry->deferred = r->next;
        else
                r->entry->waiters = r->next;
        if (r->next)
                r->next->prev = r->prev;
        r->entry = NULL;
        r->next = r->prev = NULL;
}

CrlRequest *crl_request_free(CrlRequest *r) {
        if (!r)
                return NULL;
        waiter_unlink(r);
        r->defer = sd_event_source_disable_unref(r->defer);
        X509_CRL_free(r->crl);
        free(r->error);
        free(r);
        return NULL;
}

static int on_request_defer(sd_event_source *source, void *userdata) {
        CrlRequest *r = userdata;

        r->defer = sd_event_source_disable_unref(r->defer);
        /* Still linked while the callback judges with the memo: the entry cannot be evicted under it;
         * the callback unlinks the request when it frees it. */
        r->done(r, r->crl, r->crl ? r->memo : NULL, r->crl ? NULL : (r->error ?: "no CRL"), r->userdata);
        return 0;
}

/* Answers `r` from `e`'s current state, from a deferred event. */
static int request_answer_later(CrlRequest *r, CrlEntry *e) {
        if (e->crl) {
                X509_CRL_up_ref(e->crl);
                r->crl = e->crl;
                r->memo = &e->memo;
        } else {
                r->error = strdup(e->error ?: "no CRL");
                if (!r->error)
                        return -ENOMEM;
        }
        int k = sd_event_add_defer(r->cache->event, &r->defer, on_request_defer, r);
        if (k < 0)
                return k;
        r->entry = e;
        r->deferred = true;
        r->next = e->deferred;
        if (e->deferred)
                e->deferred->prev = r;
        e->deferred = r;
        return 0;
}

/* When the entry may be used until, from the CRL's nextUpdate measured on the real clock. */
static uint64_t fresh_until(CrlCache *cache, X509_CRL *crl) {
        uint64_t now = now_monotonic(cache);
        int64_t next_update = crl ? crl_next_update(crl) : 0, real = (int64_t) time(NULL);

        if (!crl)
                return now + CRL_CACHE_RETRY_USEC;
        if (next_update == 0)
                return now + CRL_CACHE_MAX_AGE_USEC;
        if (next_update <= real)
                return now + CRL_CACHE_RETRY_USEC; /* stale: judged unknown, fetched again later */
        uint64_t left = (uint64_t) (next_update - real) * 1000000ULL;
        return now + MIN(left, CRL_CACHE_MAX_AGE_USEC);
}

static void entry_complete(CrlCache *cache, CrlEntry *e, X509_CRL *crl, const char *error) {
        X509_CRL_free(e->crl);
        e->crl = crl;
        e->memo = (CrlSignatureMemo){};
        /* Answers still pending hold the CRL that was replaced: the memo is not theirs any more. */
        for (CrlRequest *r = e->deferred; r; r = r->next)
                r->memo = NULL;
        free(e->error);
        e->error = error ? strdup(error) : NULL;
        e->expires_usec = fresh_until(cache, crl);
        entry_reset_fetch(cache, e);

        /* Each waiter leaves the list before its callback runs, so a callback may free any request;
         * the entry stays (busy) until the last one is answered. */
        e->busy = true;
        while (e->waiters) {
                CrlRequest *r = e->waiters;
                waiter_unlink(r);
                r->done(r, e->crl, e->crl ? &e->memo : NULL, e->crl ? NULL : (e->error ?: "out of memory"),
                        r->userdata);
        }
        e->busy = false;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        CrlEntry *e = userdata;
        size_t length = size * n;

        if (length > CRL_SIZE_MAX - e->size) {
                e->too_large = true;
                return 0; /* CURLE_WRITE_ERROR: the transfer stops here */
        }
        uint8_t *body = realloc(e->body, e->size + length);
        if (!body)
                return 0;
        memcpy(body + e->size, data, length);
        e->body = body;
        e->size += length;
        return length;
}

static void on_fetch_done(CurlGlue *glue, CURL *easy, CURLcode result, void *userdata) {
        CrlEntry *e = userdata;
        X509_CRL *crl = NULL;
        char error[320] = "";
        long status = 0;

        (void) glue;
        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);

        if (e->too_large || result == CURLE_FILESIZE_EXCEEDED)
                snprintf(error, sizeof(error), "the distribution point %s answered more than %u MiB", e->url,
                         CRL_SIZE_MAX / (1024U * 1024U));
        else if (result == CURLE_OPERATION_TIMEDOUT)
                snprintf(error, sizeof(error), "the distribution point %s did not answer within %llu s",
                         e->url, (unsigned long long) (CRL_FETCH_TIMEOUT_USEC / 1000000ULL));
        else if (result != CURLE_OK)
                snprintf(error, sizeof(error), "cannot fetch %s: %s", e->url,
                         e->curl_error[0] ? e->curl_error : curl_easy_strerror(result));
        else if (status != 200)
                snprintf(error, sizeof(error), "the distribution point %s answered HTTP %ld", e->url,
                         status);
        else {
                int r = crl_parse(e->body, e->size, &crl);
                if (r == -EFBIG)
                        snprintf(error, sizeof(error), "the distribution point %s answered more than %u MiB",
                                 e->url, CRL_SIZE_MAX / (1024U * 1024U));
                else if (r < 0)
                        snprintf(error, sizeof(error), "%s did not answer a CRL (neither DER nor PEM)",
                                 e->url);
        }
        log_debug("CRL %s: %s", e->url, crl ? "fetched" : error);
        if (!crl)
                e->cache->fetch_failures++;

        /* The glue has let the handle go: it is ours to free, not to remove. */
        curl_easy_cleanup(easy);
        e->easy = NULL;
        entry_complete(e->cache, e, crl, crl ? NULL : error);
}

static int entry_fetch(CrlCache *cache, CrlEntry *e) {
        int r;

        assert(!e->easy);
        e->easy = curl_easy_init();
        if (!e->easy)
                return -ENOMEM;
        e->curl_error[0] = 0;
        long timeout_ms = (long) (CRL_FETCH_TIMEOUT_USEC / 1000ULL);
        if (curl_easy_setopt(e->easy, CURLOPT_URL, e->url) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_USERAGENT, "tlswatch/" PACKAGE_VERSION) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            /* RFC 5280 §4.2.1.13: CRLs over plain HTTP (they are signed); a redirect stays on http. */
            curl_easy_setopt(e->easy, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http") != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_MAXREDIRS, 3L) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) CRL_SIZE_MAX) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, e) != CURLE_OK ||
            curl_easy_setopt(e->easy, CURLOPT_ERRORBUFFER, e->curl_error) != CURLE_OK) {
                entry_reset_fetch(cache, e);
                return -EIO;
        }
        r = curl_glue_add(cache->glue, e->easy, on_fetch_done, e);
        if (r < 0) {
                entry_reset_fetch(cache, e);
                return r;
        }
        cache->fetches++;
        return 0;
}

static CrlEntry *cache_find(CrlCache *cache, const char *url) {
        for (CrlEntry *e = cache->entries; e; e = e->next)
                if (strcmp(e->url, url) == 0)
                        return e;
        return NULL;
}

/* Makes room for one more entry: drops the idle entry that expires first. */
static void cache_evict(CrlCache *cache) {
        CrlEntry **victim = NULL;

        for (CrlEntry **e = &cache->entries; *e; e = &(*e)->next)
                if (!(*e)->easy && !(*e)->waiters && !(*e)->deferred && !(*e)->busy &&
                    (!victim || (*e)->expires_usec < (*victim)->expires_usec))
                        victim = e;
        if (victim) {
                CrlEntry *e = *victim;
                *victim = e->next;
                entry_free(cache, e);
                cache->n_entries--;
        }
}

int crl_cache_get(CrlCache *cache, const char *url, crl_request_done_t done, void *userdata,
                  CrlRequest **ret) {
        _cleanup_(crl_request_freep) CrlRequest *request = NULL;
        CrlEntry *e;
        int r;

        assert(cache);
        assert(url);
        assert(done);
        assert(ret);

        request = calloc(1, sizeof(CrlRequest));
        if (!request)
                return -ENOMEM;
        request->cache = cache;
        request->done = done;
        request->userdata = userdata;

        e = cache_find(cache, url);
        if (e && !e->easy && e->expires_usec > now_monotonic(cache)) {
                r = request_answer_later(request, e);
                if (r < 0)
                        return r;
                cache->hits++;
                *ret = TAKE_PTR(request);
                return 0;
        }
        if (!e) {
                if (cache->n_entries >= CRL_CACHE_ENTRIES_MAX)
                        cache_evict(cache);
                e = calloc(1, sizeof(CrlEntry));
                if (!e)
                        return -ENOMEM;
                e->cache = cache;
                e->url = strdup(url);
                if (!e->url) {
                        free(e);
                        return -ENOMEM;
                }
                e->next = cache->entries;
                cache->entries = e;
                cache->n_entries++;
        }
        if (!e->easy) {
                r = entry_fetch(cache, e);
                if (r < 0)
                        return r;
        }

        /* Wait for the fetch in flight. */
        request->entry = e;
        request->next = e->waiters;
        if (e->waiters)
                e->waiters->prev = request;
        e->waiters = request;
        *ret = TAKE_PTR(request);
        return 0;
}
