/* SPDX-License-Identifier: MIT */
/* Name resolution that never blocks the event loop. IP literals are answered at once; names are
 * looked up by getaddrinfo() on a short-lived thread, so /etc/hosts, nsswitch and the system
 * resolver behave exactly as for every other program on the host. */
#pragma once

#include <netdb.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct ResolveQuery ResolveQuery;

/* Called once with getaddrinfo()'s result code and list; the callee owns `addresses` (freeaddrinfo). */
typedef void (*resolve_handler_t)(ResolveQuery *query, int gai_error, struct addrinfo *addresses, void *userdata);

int resolve_start(sd_event *event, const char *host, uint16_t port, resolve_handler_t handler, void *userdata,
                  ResolveQuery **ret);

/* Cancels a query still running: its handler is never called, and the thread frees its result. */
ResolveQuery *resolve_query_free(ResolveQuery *query);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResolveQuery *, resolve_query_free);
