/* SPDX-License-Identifier: MIT */
/* The list of protocols, spelled once. Alone in its file so that a test binary can link its own copy
 * with one more row (tests/unit/test-protocol-seam.c); the first row is the fallback for ports that
 * imply nothing. */
#include <stddef.h>

#include "protocol.h"

const Protocol *const protocol_table[] = {
        &protocol_tls,
        &protocol_mqtt,
        &protocol_wss,
        &protocol_https,
        NULL,
};
