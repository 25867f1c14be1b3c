/* SPDX-License-Identifier: MIT */
/* Drives an application exchange the way conn.c does, with fuzz input as what the listener sends:
 * the first input byte sets the size of the pieces it arrives in, since a parser that is right for
 * a whole answer can still be wrong for one split across reads. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "exchange.h"

/* Runs the exchange to its end; the whole input is fed, then end of input. */
void fuzz_exchange_run(const ExchangeSettings *settings, const uint8_t *data, size_t size);

/* The same, for an exchange the caller set up (its request already taken). */
void fuzz_exchange_feed(Exchange *e, const uint8_t *data, size_t size);
