/* SPDX-License-Identifier: MIT */
/* The dummy sink: every operation of the seam, recorded in dummy_sink_log. It refuses a configuration
 * naming DUMMY_SINK_REFUSED_TARGET, so a test sees that one sink's refusal fails a whole reload. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink-dummy.h"

DummySinkLog dummy_sink_log;

typedef struct DummySink {
        const SinkHost *host;
        const Config *pending;
} DummySink;

static void step(const char *operation, const char *target) {
        if (dummy_sink_log.step)
                dummy_sink_log.step(operation, target);
}

static int dummy_new(const SinkContext *context, void **ret) {
        DummySink *s = calloc(1, sizeof(DummySink));

        if (!s)
                return -ENOMEM;
        s->host = context->host;
        *ret = s;
        return 0;
}

static void *dummy_free(void *sink) {
        free(sink);
        return NULL;
}

static int dummy_configure(void *sink, const Config *config, char **ret_error) {
        DummySink *s = sink;

        dummy_sink_log.configures++;
        for (size_t i = 0; i < config->n_targets; i++)
                if (strcmp(config->targets[i].name, DUMMY_SINK_REFUSED_TARGET) == 0) {
                        dummy_sink_log.refusals++;
                        if (asprintf(ret_error, "%s:%u: [Target %s]: the dummy sink refuses it",
                                     config->targets[i].file, config->targets[i].line,
                                     DUMMY_SINK_REFUSED_TARGET) < 0)
                                *ret_error = NULL;
                        step("refused", NULL);
                        return -EINVAL;
                }
        s->pending = config;
        return 0;
}

static void dummy_commit(void *sink, bool apply) {
        DummySink *s = sink;

        if (apply) {
                dummy_sink_log.applied++;
                dummy_sink_log.running = s->pending;
        } else
                dummy_sink_log.dropped++;
        s->pending = NULL;
        step(apply ? "applied" : "dropped", NULL);
}

static void dummy_event(void *sink, const TargetConfig *config, const TargetState *state,
                        const TargetEvent *event) {
        assert(event->type >= 0 && event->type < _TARGET_EVENT_TYPE_MAX);
        dummy_sink_log.events[event->type]++;
        if (event->type == TARGET_EVENT_PROBLEM_APPEARED && event->problem->code == PROBLEM_EXPIRES_SOON)
                dummy_sink_log.expires_soon_appeared = true;
        if (event->type == TARGET_EVENT_STATUS_CHANGED)
                dummy_sink_log.last_status = event->new_status;
        step("event", config->name);
}

static void dummy_probe_done(void *sink, const SinkTarget *target) {
        dummy_sink_log.probes_done++;
        if (!target->last_report)
                dummy_sink_log.probe_without_report = true;
        step("probe_done", target->config->name);
}

static void dummy_target_removed(void *sink, const TargetConfig *config) {
        dummy_sink_log.removed++;
        snprintf(dummy_sink_log.last_removed, sizeof(dummy_sink_log.last_removed), "%s", config->name);
        step("target_removed", config->name);
}

static void dummy_flush(void *sink) {
        DummySink *s = sink;
        size_t n = s->host->n_targets(s->host->userdata);

        dummy_sink_log.flushes++;
        dummy_sink_log.targets_at_flush = n;
        dummy_sink_log.view_consistent = true;
        for (size_t i = 0; i < n; i++) {
                SinkTarget t;
                s->host->target(s->host->userdata, i, &t);
                if (!t.config || !t.state)
                        dummy_sink_log.view_consistent = false;
        }
        step("flush", NULL);
}

const SinkType sink_dummy = {
        .name = "dummy",
        .new = dummy_new,
        .free = dummy_free,
        .configure = dummy_configure,
        .commit = dummy_commit,
        .event = dummy_event,
        .probe_done = dummy_probe_done,
        .target_removed = dummy_target_removed,
        .flush = dummy_flush,
};
