/* SPDX-License-Identifier: MIT */
/* Look-ups over protocol_table[]: by name, by port, and the list of names for messages. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"

const char *protocol_to_string(const Protocol *protocol) {
        return protocol ? protocol->name : NULL;
}

const Protocol *protocol_from_string(const char *name) {
        if (!name)
                return NULL;
        for (const Protocol *const *p = protocol_table; *p; p++)
                if (strcmp((*p)->name, name) == 0)
                        return *p;
        return NULL;
}

const Protocol *protocol_default_for_port(uint16_t port) {
        for (const Protocol *const *p = protocol_table; *p; p++)
                for (size_t i = 0; i < PROTOCOL_PORTS_MAX && (*p)->ports[i]; i++)
                        if ((*p)->ports[i] == port)
                                return *p;
        assert(protocol_table[0]);
        return protocol_table[0];
}

size_t protocol_names(const char *separator, char *buffer, size_t size) {
        size_t n = 0;

        assert(separator);
        assert(buffer || size == 0);

        if (size > 0)
                buffer[0] = '\0';
        for (const Protocol *const *p = protocol_table; *p; p++) {
                int k = snprintf(n < size ? buffer + n : NULL, n < size ? size - n : 0, "%s%s",
                                 p == protocol_table ? "" : separator, (*p)->name);
                if (k > 0)
                        n += (size_t) k;
        }
        return n;
}

size_t protocol_port_names(char *buffer, size_t size) {
        size_t n = 0;

        assert(buffer || size == 0);

        if (size > 0)
                buffer[0] = '\0';
        for (const Protocol *const *p = protocol_table; *p; p++)
                for (size_t i = 0; i < PROTOCOL_PORTS_MAX && (*p)->ports[i]; i++) {
                        bool last = i + 1 == PROTOCOL_PORTS_MAX || !(*p)->ports[i + 1];
                        int k = snprintf(n < size ? buffer + n : NULL, n < size ? size - n : 0, "%s%u%s%s",
                                         n == 0 || i > 0 ? "" : ", ", (*p)->ports[i], last ? " " : "/",
                                         last ? (*p)->name : "");
                        if (k > 0)
                                n += (size_t) k;
                }
        return n;
}
