/* SPDX-License-Identifier: MIT */
/* One connection to one address: CONNECTING -> TLS_HANDSHAKE -> TLS_SETTLE -> PROTOCOL -> DONE.
 * It owns its socket, its SSL, its IO source and a timer at the probe's deadline, and writes what it
 * finds into the AddressReport it was given. */
#pragma once

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "probe.h"
#include "report.h"

typedef struct Conn Conn;

/* Called once when the connection is done; the callee may free the connection. */
typedef void (*conn_handler_t)(Conn *conn, void *userdata);

/* `settings`, `tls_context`, `password` and `report` must outlive the connection (the probe owns them).
 * `deadline_usec` is CLOCK_MONOTONIC. */
int conn_start(sd_event *event, const ProbeSettings *settings, SSL_CTX *tls_context, const char *password,
               const struct sockaddr *address,
               socklen_t address_length, uint64_t deadline_usec, AddressReport *report, conn_handler_t handler,
               void *userdata, Conn **ret);

/* With Revocation= on, the path the listener's certificate verified along (leaf first), once the
 * connection is done; NULL when off or when the path did not verify. Owned by the connection. */
STACK_OF(X509) *conn_verified_chain(Conn *conn);

Conn *conn_free(Conn *conn);
DEFINE_TRIVIAL_CLEANUP_FUNC(Conn *, conn_free);
