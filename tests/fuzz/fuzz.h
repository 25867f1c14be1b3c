/* SPDX-License-Identifier: MIT */
/* The libFuzzer entry point every target in tests/fuzz defines. The same targets link either
 * libFuzzer (./configure --enable-fuzzing) or fuzz-replay.c, which feeds them the seed corpus in
 * `make check`, so a target that stops building or crashes on a seed fails the ordinary suite. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
