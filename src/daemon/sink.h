/* SPDX-License-Identifier: MIT */
/* Sinks: where the daemon's findings go (the journal, webhooks, the metrics file, the control socket's
 * change feed). Each is a SinkType, a name and a set of operations, listed in one static table
 * (sink-table.c); the manager drives them all through a SinkSet and names none of them, so a new
 * output is one file plus one row. Sinks read the targets through a SinkHost, never the Manager. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "control.h"
#include "macro.h"
#include "report.h"
#include "target.h"

/* What a sink may read of one target. Valid until the callback returns or the loop runs again. */
typedef struct SinkTarget {
        const TargetConfig *config;
        const TargetState *state;
        const Report *last_report; /* the last probe's report (compact, report.h), NULL before the first */
        usec_t next_probe_usec; /* CLOCK_REALTIME, 0 if none scheduled */
        bool probing;           /* a probe is in flight */
} SinkTarget;

/* What the manager offers sinks: a read-only view of its targets, and the answers the control socket
 * gives (status, metrics, ...), so every output that serves requests renders them the same way. */
typedef struct SinkHost {
        void *userdata;
        size_t (*n_targets)(void *userdata);
        void (*target)(void *userdata, size_t i, SinkTarget *ret);
        const ControlHandlers *requests;
} SinkHost;

/* Handed to each sink when it is made; outlives it. */
typedef struct SinkContext {
        sd_event *event;
        const char *state_directory; /* where durable data may go (the webhook spool); NULL: nowhere */
        bool once;                   /* tlswatchd --once or --check-config: a command, not the service */
        const SinkHost *host;
        struct CrlCache *crl_cache;  /* for probes a sink starts (on demand); see probe_set_crl_cache() */
} SinkContext;

/* A kind of sink. Every operation but `new` and `free` may be NULL. A sink's data is its own: the
 * `void *sink` it made in `new`. */
typedef struct SinkType {
        const char *name;
        int (*new)(const SinkContext *context, void **ret);
        void *(*free)(void *sink);
        /* Checks `config` (at start and at each reload) and prepares for it aside, changing nothing;
         * returns 0, or a negative errno with a sentence naming file:line in *ret_error. Then `commit`
         * follows with apply = true once every sink accepted `config` (which stays alive until the
         * next commit), or with apply = false: the running configuration stays (a sink after the one
         * that refused gets this without a configure first). Commit cannot fail. */
        int (*configure)(void *sink, const Config *config, char **ret_error);
        void (*commit)(void *sink, bool apply);
        /* A target event: a problem appeared or cleared, the status or the certificate changed, a reminder. */
        void (*event)(void *sink, const TargetConfig *config, const TargetState *state,
                      const TargetEvent *event);
        /* A target has a new report (its events, if any, came first). */
        void (*probe_done)(void *sink, const SinkTarget *target);
        /* A reload dropped the target; its config is still valid during the call. */
        void (*target_removed)(void *sink, const TargetConfig *config);
        /* The state settled for a while (the save timer, a few seconds after probes) or the daemon stops:
         * time to write what is written in bulk. */
        void (*flush)(void *sink);
} SinkType;

/* The table, NULL-terminated, in dispatch order (sink-table.c; a test binary links its own). */
extern const SinkType *const sink_table[];

/* One instance of each row of sink_table. */
typedef struct SinkSet SinkSet;

int sink_set_new(const SinkContext *context, SinkSet **ret);
SinkSet *sink_set_free(SinkSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SinkSet *, sink_set_free);

/* Configures every sink for `config`, all or none: when one refuses, none changes. */
int sink_set_configure(SinkSet *s, const Config *config, char **ret_error);

void sink_set_event(SinkSet *s, const TargetConfig *config, const TargetState *state,
                    const TargetEvent *event);
void sink_set_probe_done(SinkSet *s, const SinkTarget *target);
void sink_set_target_removed(SinkSet *s, const TargetConfig *config);
void sink_set_flush(SinkSet *s);

/* The instance of `type`, or NULL when the table has no such row. */
void *sink_set_find(SinkSet *s, const SinkType *type);
