/* SPDX-License-Identifier: MIT */
/* Human-readable rendering of a probe report: a verdict line first (what Nagios shows), then per
 * address the TLS parameters, the chain and each problem with what to fix. */
#pragma once

#include <stdio.h>

#include "report.h"

void probe_output_human(const Report *report, FILE *out);
