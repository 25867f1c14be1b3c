/* SPDX-License-Identifier: MIT */
/* The report's text printer, for people: a verdict line first (what Nagios shows), then per
 * address the TLS parameters, the chain and each problem with what to fix. */
#pragma once

#include <stdio.h>

#include "report.h"

void probe_output_human(const Report *report, FILE *out);
