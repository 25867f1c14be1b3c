/* SPDX-License-Identifier: MIT */
/* The daemon's sinks, in dispatch order: an event reaches the journal before the webhooks, a finished
 * probe is fed to waiting tlswatchctl clients, the metrics file is written at each flush, the HTTP
 * endpoint serves what the control socket does. Alone in its file so that a test links its own
 * table; a new sink is one file and one row here. */
#include <stddef.h>

#include "journal.h"
#include "sink-control.h"
#include "sink-http.h"
#include "sink-metrics-file.h"
#include "sink.h"
#include "webhook.h"

/* One row per sink (clang-format would join them). */
/* clang-format off */
const SinkType *const sink_table[] = {
        &sink_journal,
        &sink_webhook,
        &sink_metrics_file,
        &sink_control,
        &sink_http,
        NULL,
};
/* clang-format on */
