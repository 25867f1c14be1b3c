/* SPDX-License-Identifier: MIT */
/* CRLs fetched over HTTP and kept until their nextUpdate, shared by every probe on one loop: 200 targets
 * whose certificates name one distribution point cost one fetch per nextUpdate. Fetches run on the
 * caller's sd-event loop through libcurl's multi interface (curl-glue), bounded in size and time. */
#pragma once

#include <openssl/x509.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "crl.h"
#include "macro.h"

/* A fetch gives up after this long (connect included), and a failed one is not retried before
 * CRL_CACHE_RETRY_USEC, so a dead distribution point costs one attempt per retry, not one per probe. */
#define CRL_FETCH_TIMEOUT_USEC (10ULL * 1000000ULL)
#define CRL_CACHE_RETRY_USEC (5ULL * 60ULL * 1000000ULL)
/* A CRL is used until its nextUpdate, but at most this long (a CRL without nextUpdate, or one far
 * away), and a stale one (nextUpdate passed) is fetched again at most every CRL_CACHE_RETRY_USEC. */
#define CRL_CACHE_MAX_AGE_USEC (24ULL * 3600ULL * 1000000ULL)
/* The distinct URLs kept; beyond it the entry that expires first goes. */
#define CRL_CACHE_ENTRIES_MAX 256

typedef struct CrlCache CrlCache;
typedef struct CrlRequest CrlRequest;

/* Called once, from the event loop, never from inside crl_cache_get(). `crl` and its signature memo
 * (for crl_judge()) are borrowed for the call, or NULL with a sentence in `error` ("the distribution
 * point answered HTTP 404"). The request is finished: the callee frees it (crl_request_free()). */
typedef void (*crl_request_done_t)(CrlRequest *request, X509_CRL *crl, CrlSignatureMemo *memo,
                                   const char *error, void *userdata);

int crl_cache_new(sd_event *event, CrlCache **ret);
/* Also cancels every request still open: their callbacks are not called. */
CrlCache *crl_cache_free(CrlCache *cache);
DEFINE_TRIVIAL_CLEANUP_FUNC(CrlCache *, crl_cache_free);

/* Asks for the CRL at `url` (http://): from the cache while it is fresh, else by a fetch that every
 * request for the URL meanwhile waits for. Returns 0 and the request, or -ENOMEM. */
int crl_cache_get(CrlCache *cache, const char *url, crl_request_done_t done, void *userdata,
                  CrlRequest **ret);

/* Cancels the request if it is still open (its callback is then not called) and frees it. */
CrlRequest *crl_request_free(CrlRequest *request);
DEFINE_TRIVIAL_CLEANUP_FUNC(CrlRequest *, crl_request_free);

/* How many HTTP fetches the cache has started, how many of them gave no usable CRL (no answer, an HTTP
 * error, too large, not a CRL), and how many requests it answered from memory. */
uint64_t crl_cache_fetches(const CrlCache *cache);
uint64_t crl_cache_fetch_failures(const CrlCache *cache);
uint64_t crl_cache_hits(const CrlCache *cache);
