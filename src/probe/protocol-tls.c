/* SPDX-License-Identifier: MIT */
/* tls: the handshake and the certificate checks, nothing after them. The fallback for ports that imply
 * no other protocol. */
#include <stddef.h>

#include "protocol.h"

const Protocol protocol_tls = {
        .name = "tls",
};
