/* SPDX-License-Identifier: MIT */
/* `tlswatchctl discover`: reads a broker's own configuration (Mosquitto, EMQX 4 and 5) and prints the
 * [Target] sections that watch its TLS listeners, so nobody types them twice. The parsers work on text
 * and are unit-testable; only discover_run() touches files. */
#pragma once

#include <stdio.h>

typedef enum BrokerKind {
        BROKER_MOSQUITTO,
        BROKER_EMQX4,
        BROKER_EMQX5,
} BrokerKind;

/* Writes one [Target] section per TLS listener found in `text` to `out`; returns how many, or -EINVAL
 * with a sentence in *ret_error when nothing could be read. */
int discover_listeners(BrokerKind kind, const char *text, const char *source, FILE *out, char **ret_error);

/* argv[0] is "discover": --mosquitto FILE | --emqx FILE. Returns the exit status (0, or 3). */
int discover_run(int argc, char **argv);
