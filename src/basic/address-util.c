/* SPDX-License-Identifier: MIT */
/* host[:port] parsing. An IPv6 literal must be bracketed, otherwise "::1:8883" would be ambiguous;
 * we say so rather than guess. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "address-util.h"
#include "macro.h"

int parse_port(const char *s, uint16_t *ret) {
        char *end = NULL;
        long value;

        if (!*s || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        errno = 0;
        value = strtol(s, &end, 10);
        if (errno != 0 || *end || value < 1 || value > 65535)
                return -EINVAL;
        *ret = (uint16_t) value;
        return 0;
}

int parse_host_port(const char *text, uint16_t default_port, char **ret_host, uint16_t *ret_port,
                    const char **ret_reason) {
        _cleanup_free_ char *host = NULL;
        const char *port_text = NULL;
        uint16_t port = default_port;

        if (!text || !*text) {
                *ret_reason = "the host is empty";
                return -EINVAL;
        }

        if (text[0] == '[') {
                const char *close = strchr(text, ']');
                if (!close || close == text + 1) {
                        *ret_reason = "an IPv6 address in brackets needs its closing ']' and an address inside";
                        return -EINVAL;
                }
                host = strndup(text + 1, (size_t) (close - text - 1));
                if (close[1] == ':')
                        port_text = close + 2;
                else if (close[1] != '\0') {
                        *ret_reason = "after ']' only ':PORT' may follow";
                        return -EINVAL;
                }
                if (host && !strchr(host, ':')) {
                        *ret_reason = "brackets are for IPv6 addresses only";
                        return -EINVAL;
                }
        } else {
                const char *colon = strchr(text, ':');
                if (colon && strchr(colon + 1, ':')) {
                        *ret_reason = "an IPv6 address must be written in brackets, e.g. [::1]:8883";
                        return -EINVAL;
                }
                host = colon ? strndup(text, (size_t) (colon - text)) : strdup(text);
                if (colon)
                        port_text = colon + 1;
        }
        if (!host)
                return -ENOMEM;
        if (!*host) {
                *ret_reason = "the host is empty";
                return -EINVAL;
        }
        if (strpbrk(host, " \t/?#@")) {
                *ret_reason = "the host contains characters no host name has (space, '/', '?', '#', '@')";
                return -EINVAL;
        }
        if (port_text && parse_port(port_text, &port) < 0) {
                *ret_reason = "the port must be a number from 1 to 65535";
                return -EINVAL;
        }
        if (port == 0) {
                *ret_reason = "a port is required (HOST:PORT)";
                return -EINVAL;
        }

        *ret_host = TAKE_PTR(host);
        *ret_port = port;
        return 0;
}
