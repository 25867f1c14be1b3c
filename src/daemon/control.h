/* SPDX-License-Identifier: MIT */
/* The control socket: a Unix stream socket on the daemon's event loop where tlswatchctl asks for
 * status, metrics, a check now, or a reload. One JSON request per line, one JSON answer per line.
 * Bounded everywhere: request size, answer size, clients at once, idle time. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "report.h"

typedef struct Control Control;

/* What the daemon provides. Each returns 0 or a negative errno with a sentence in *ret_error. */
typedef struct ControlHandlers {
        /* The status document (status-json.h) of the next target at or after *cursor (only `target`'s, if
         * not NULL): returns 1 with a new object in *ret and *cursor moved past it, 0 when there is no
         * more, or a negative errno. Called target by target as the client drains its answer. */
        int (*status)(void *userdata, const char *target, size_t *cursor, json_t **ret);
        int (*metrics)(void *userdata, char **ret, char **ret_error);
        int (*reload)(void *userdata, char **ret_error);
        /* Starts a probe of `target` (NULL: all) now, or lets one in flight finish; returns the names
         * whose results control_probe_finished() will deliver. */
        int (*check)(void *userdata, const char *target, json_t **ret_names, char **ret_error);
        int (*webhooks)(void *userdata, json_t **ret, char **ret_error);
        int (*webhook_test)(void *userdata, const char *name, char **ret_error);
} ControlHandlers;

/* `listen_fd` >= 0 is a socket passed by systemd (socket activation); otherwise `path` is created. */
int control_new(sd_event *event, const char *path, int listen_fd, const ControlHandlers *handlers,
                void *userdata, Control **ret);
Control *control_free(Control *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Control *, control_free);

const char *control_path(const Control *c);

/* A probe finished: clients waiting on a check of `target` get `report` (borrowed), rendered as
 * `tlswatchctl probe --json` prints it, with the target's "name". */
void control_probe_finished(Control *c, const char *target, const Report *report);

/* A reload dropped `target`: clients waiting on its check get an error. */
void control_target_removed(Control *c, const char *target);
