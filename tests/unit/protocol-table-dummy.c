/* SPDX-License-Identifier: MIT */
/* src/probe/protocol-table.c with one more row, linked into test-protocol-seam instead of the real
 * table (the linker takes this definition and never pulls protocol-table.o out of libprobe.a). */
#include <stddef.h>

#include "protocol.h"

extern const Protocol protocol_dummy;

const Protocol *const protocol_table[] = {
        &protocol_tls,
        &protocol_mqtt,
        &protocol_wss,
        &protocol_https,
        &protocol_dummy,
        NULL,
};
