/* SPDX-License-Identifier: MIT */
/* The on-call view: one line per target with its state, days left and problems. Colour only on a
 * terminal and never when NO_COLOR is set (no-color.org). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "problem.h"

/* Prints the targets of a `status` answer as a table and returns the worst state among them. */
Status status_output_table(json_t *targets, FILE *out, bool colour);

/* Whether to colour output written to `out`. */
bool status_output_use_colour(FILE *out);
