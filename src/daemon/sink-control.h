/* SPDX-License-Identifier: MIT */
/* The control socket's sink: the socket itself, and its feed of finished probes to waiting clients. */
#pragma once

#include "sink.h"

extern const SinkType sink_control;
