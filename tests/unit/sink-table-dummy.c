/* SPDX-License-Identifier: MIT */
/* test-sink's copy of src/daemon/sink-table.c: the daemon's sinks and, in one more row, the dummy. */
#include <stddef.h>

#include "journal.h"
#include "sink-control.h"
#include "sink-dummy.h"
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
        &sink_dummy,
        NULL,
};
/* clang-format on */
