/* SPDX-License-Identifier: MIT */
/* Parsing "host[:port]" the way operators write listener addresses: names, IPv4 literals, and IPv6
 * literals in brackets ("[::1]:8883"). Shared by the command line and the configuration. */
#pragma once

#include <stdint.h>

/* On success returns 0, the host without brackets in *ret_host (caller frees) and the port (or
 * default_port when none was given; 0 there means a port is required). On failure returns -EINVAL
 * and a static sentence saying what is wrong in *ret_reason. */
/* A port number alone, 1 to 65535, digits only. Returns 0 or -EINVAL. */
int parse_port(const char *s, uint16_t *ret);

int parse_host_port(const char *text, uint16_t default_port, char **ret_host, uint16_t *ret_port,
                    const char **ret_reason);
