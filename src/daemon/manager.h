/* SPDX-License-Identifier: MIT */
/* The daemon's core: owns the configuration, one Target per [Target] section, the schedule, the bound
 * on probes in flight, the state file, and the systemd contract (notify, watchdog, reload). */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "macro.h"

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *config_file;
        const char *state_directory; /* NULL: $STATE_DIRECTORY, else the compiled-in default */
        bool once;                   /* probe every target once, print, exit */
        bool json;                   /* with once: print a JSON array */
        bool check_only;             /* --check-config: load, look nothing up (SRV=), exit */
} ManagerOptions;

/* Loads the configuration and prepares every target; on a configuration error returns -EINVAL with
 * a one-line message in *ret_error. */
int manager_new(const ManagerOptions *options, Manager **ret, char **ret_error);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Runs until SIGTERM/SIGINT (or, with once, until every target has been probed). Returns the exit
 * status: 0, or with once the worst status as a Nagios code. */
int manager_run(Manager *m);
