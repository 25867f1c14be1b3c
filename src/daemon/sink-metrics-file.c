/* SPDX-License-Identifier: MIT */
/* The MetricsFile= sink: the Prometheus exposition the control socket serves, written atomically to a
 * file at each flush, for node-exporter's textfile collector. Bulk by nature, so it writes on flush
 * only (a few seconds after probes settle, and when the daemon stops), never per probe. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "log.h"
#include "sink-metrics-file.h"

typedef struct MetricsFileSink {
        const SinkHost *host;
        bool once;
        const char *path;    /* MetricsFile= of the running config, NULL: none */
        const char *pending; /* of the config being configured */
} MetricsFileSink;

static int sink_new(const SinkContext *context, void **ret) {
        MetricsFileSink *s = calloc(1, sizeof(MetricsFileSink));

        assert(context->host);
        if (!s)
                return -ENOMEM;
        *s = (MetricsFileSink){ .host = context->host, .once = context->once };
        *ret = s;
        return 0;
}

static void *sink_free(void *sink) {
        free(sink);
        return NULL;
}

static int sink_configure(void *sink, const Config *config, char **ret_error) {
        MetricsFileSink *s = sink;

        s->pending = config->metrics_file;
        return 0;
}

static void sink_commit(void *sink, bool apply) {
        MetricsFileSink *s = sink;

        if (apply)
                s->path = s->pending;
        s->pending = NULL;
}

static void sink_flush(void *sink) {
        MetricsFileSink *s = sink;
        _cleanup_free_ char *text = NULL, *error = NULL;
        int r;

        if (!s->path || s->once)
                return;
        r = s->host->requests->metrics(s->host->userdata, &text, &error);
        if (r >= 0)
                r = write_file_atomic(s->path, text, strlen(text), 0644);
        if (r < 0)
                log_warning("cannot write the metrics to %s: %s", s->path, error ?: strerror(-r));
}

const SinkType sink_metrics_file = {
        .name = "metrics-file",
        .new = sink_new,
        .free = sink_free,
        .configure = sink_configure,
        .commit = sink_commit,
        .flush = sink_flush,
};
