/* SPDX-License-Identifier: MIT */
/* tlswatchctl's side of the control socket: find the socket, send one request, read one answer. */
#pragma once

#include <jansson.h>

/* The socket path by the daemon's own rule: `explicit_path`, else $TLSWATCH_SOCKET, else
 * $RUNTIME_DIRECTORY/control.sock, else /run/tlswatch/control.sock. Returns a new string. */
char *control_client_socket_path(const char *explicit_path);

/* Sends `request` and returns the parsed answer. Errors: -errno from connect (the daemon is not
 * running: -ENOENT, -ECONNREFUSED), -EBADMSG for an answer that is not JSON, -ETIMEDOUT. */
int control_client_call(const char *path, json_t *request, json_t **ret);
