/* SPDX-License-Identifier: MIT */
/* `tlswatchctl discover`: reads a broker's own configuration (Mosquitto, EMQX 4 and 5; see
 * broker-config.h for the readers) and prints, or writes as a drop-in, the [Target] sections that
 * watch its TLS listeners, so nobody types them twice. */
#pragma once

/* argv[0] is "discover". Returns the exit status (0, or 3). */
int discover_run(int argc, char **argv);
