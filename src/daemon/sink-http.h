/* SPDX-License-Identifier: MIT */
/* The HTTP endpoint ([HTTP] Listen=) as a sink: /metrics and /probe for Prometheus, health checks and
 * the status JSON, served by libmicrohttpd on the daemon's event loop. */
#pragma once

#include "sink.h"

extern const SinkType sink_http;
