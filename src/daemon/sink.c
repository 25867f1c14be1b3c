/* SPDX-License-Identifier: MIT */
/* The set of sinks the daemon runs: one instance per row of sink_table, made, configured, fed and freed
 * together, in the table's order. Configuration is two-phase, so a reload that one sink refuses leaves
 * every sink as it was. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "sink.h"

struct SinkSet {
        const SinkType *const *types; /* the table */
        void **sinks;                 /* one per row */
        size_t n;
};

int sink_set_new(const SinkContext *context, SinkSet **ret) {
        _cleanup_(sink_set_freep) SinkSet *s = NULL;
        size_t n = 0;
        int r;

        assert(context);
        assert(ret);

        while (sink_table[n])
                n++;
        s = calloc(1, sizeof(SinkSet));
        if (!s)
                return -ENOMEM;
        s->sinks = calloc(n ?: 1, sizeof(void *));
        if (!s->sinks)
                return -ENOMEM;
        s->types = sink_table;
        for (; s->n < n; s->n++) {
                const SinkType *type = s->types[s->n];

                assert(type->name && type->new && type->free);
                r = type->new (context, &s->sinks[s->n]);
                if (r < 0)
                        return log_debug_errno(r, "cannot set up the %s sink: %m", type->name);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

SinkSet *sink_set_free(SinkSet *s) {
        if (!s)
                return NULL;
        /* Backwards: a later sink may rely on an earlier one (the table's order). */
        while (s->n > 0) {
                s->n--;
                s->types[s->n]->free(s->sinks[s->n]);
        }
        free(s->sinks);
        free(s);
        return NULL;
}

int sink_set_configure(SinkSet *s, const Config *config, char **ret_error) {
        size_t i;
        int r = 0;

        assert(s);
        assert(config);

        for (i = 0; i < s->n && r >= 0; i++)
                if (s->types[i]->configure)
                        r = s->types[i]->configure(s->sinks[i], config, ret_error);
        for (size_t j = 0; j < s->n; j++)
                if (s->types[j]->commit)
                        s->types[j]->commit(s->sinks[j], r >= 0);
        return r;
}

void sink_set_event(SinkSet *s, const TargetConfig *config, const TargetState *state,
                    const TargetEvent *event) {
        assert(s);
        assert(config && state && event);

        for (size_t i = 0; i < s->n; i++)
                if (s->types[i]->event)
                        s->types[i]->event(s->sinks[i], config, state, event);
}

void sink_set_probe_done(SinkSet *s, const SinkTarget *target) {
        assert(s);
        assert(target && target->config && target->state);

        for (size_t i = 0; i < s->n; i++)
                if (s->types[i]->probe_done)
                        s->types[i]->probe_done(s->sinks[i], target);
}

void sink_set_target_removed(SinkSet *s, const TargetConfig *config) {
        assert(s);
        assert(config);

        for (size_t i = 0; i < s->n; i++)
                if (s->types[i]->target_removed)
                        s->types[i]->target_removed(s->sinks[i], config);
}

void sink_set_flush(SinkSet *s) {
        assert(s);

        for (size_t i = 0; i < s->n; i++)
                if (s->types[i]->flush)
                        s->types[i]->flush(s->sinks[i]);
}

void *sink_set_find(SinkSet *s, const SinkType *type) {
        assert(s);
        assert(type);

        for (size_t i = 0; i < s->n; i++)
                if (s->types[i] == type)
                        return s->sinks[i];
        return NULL;
}
