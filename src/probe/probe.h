/* SPDX-License-Identifier: MIT */
/* One probe run against one target: resolve the name, probe every address it has in parallel, and
 * hand back one Report before a single absolute deadline. Shared by tlswatchd and `tlswatchctl probe`;
 * it runs on the caller's sd_event loop and keeps no global state. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "probe-settings.h"
#include "report.h"

/* How late a probe's deadline may fire. sd-event's default for an accuracy of 0 is 250 ms, which
 * made a 2 s timeout take up to 2.25 s and so held a probe slot (and the sweep) that much longer. */
#define PROBE_DEADLINE_ACCURACY_USEC (1000ULL)

typedef struct Probe Probe;

/* Called once, from the event loop, when the probe is done; the handler owns `report`. */
typedef void (*probe_handler_t)(Probe *probe, Report *report, void *userdata);

/* Starts a probe with `settings`, which it copies. Beside them go the things a run needs that are not
 * settings: the TLS context built from the settings' files (tls_context_cache_get(); the probe takes its
 * own reference) and the MQTT password read from mqtt_password_file (NULL: none; copied, never logged). */
int probe_start(sd_event *event, const ProbeSettings *settings, SSL_CTX *tls_context, const char *password,
                probe_handler_t handler, void *userdata, Probe **ret);

/* The cache the CRLs of a probe with Revocation= on come from, shared by the probes of a loop (see
 * crl-cache.h); not owned, it must outlive the probe. Set before the loop runs the probe; without one
 * revocation is not checked. */
struct CrlCache;
void probe_set_crl_cache(Probe *probe, struct CrlCache *cache);

/* Frees the probe; if it is still running it is cancelled and its handler is never called. */
Probe *probe_free(Probe *probe);
DEFINE_TRIVIAL_CLEANUP_FUNC(Probe *, probe_free);
