/* SPDX-License-Identifier: MIT */
/* The command line of `tlswatchctl probe`, parsed into settings without touching files or sockets,
 * so every usage error is unit-tested. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "probe-settings.h"

#define PROBE_DEFAULT_PORT 8883
#define PROBE_DEFAULT_WARN_DAYS 30
#define PROBE_DEFAULT_CRIT_DAYS 7
#define PROBE_DEFAULT_TIMEOUT_USEC (10 * 1000 * 1000ULL)

typedef struct ProbeArgs {
        ProbeSettings probe; /* mqtt_password_file is read by the caller: parsing touches no files */
        bool json;
        bool help;
        bool version;     /* -V: print the version, probe nothing */
        unsigned verbose; /* -v: how many times given; the engine's debug log on stderr */
} ProbeArgs;

/* Parses argv (argv[0] is "probe"). Returns 0, or -EINVAL with a one-line reason in *ret_error
 * (caller frees). */
int probe_args_parse(int argc, char **argv, ProbeArgs *ret, char **ret_error);

void probe_args_clear(ProbeArgs *args);
