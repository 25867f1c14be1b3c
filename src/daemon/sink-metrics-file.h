/* SPDX-License-Identifier: MIT */
/* The MetricsFile= sink: the metrics the control socket serves, written to a file at each flush. */
#pragma once

#include "sink.h"

extern const SinkType sink_metrics_file;
