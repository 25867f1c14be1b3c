/* SPDX-License-Identifier: MIT */
/* The sources of targets beyond the INI files, driven as one set: applied to each new Config in order,
 * Shard= last, and their change notices folded into one debounced reload. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "target-source.h"
#include "targets-file.h"

typedef struct SourceEntry {
        const TargetSourceType *type;
        void *source;
} SourceEntry;

struct TargetSources {
        sd_event *event; /* NULL: nothing is watched */
        target_sources_changed_t on_changed;
        void *userdata;
        SourceEntry *entries;
        size_t n_entries;
        sd_event_source *settle_timer;
};

int target_sources_new(sd_event *event, target_sources_changed_t on_changed, void *userdata,
                       TargetSources **ret) {
        TargetSources *s;

        assert(ret);
        s = calloc(1, sizeof(TargetSources));
        if (!s)
                return -ENOMEM;
        s->event = event ? sd_event_ref(event) : NULL;
        s->on_changed = on_changed;
        s->userdata = userdata;

        void *files = NULL;
        int r = targets_file_source_new(s, &files);
        if (r >= 0)
                r = target_sources_register(s, &targets_file_source, files);
        if (r < 0) {
                target_sources_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

TargetSources *target_sources_free(TargetSources *s) {
        if (!s)
                return NULL;
        /* Backwards: a later source may have been built on an earlier one. */
        while (s->n_entries > 0) {
                s->n_entries--;
                s->entries[s->n_entries].type->free(s->entries[s->n_entries].source);
        }
        free(s->entries);
        s->settle_timer = sd_event_source_disable_unref(s->settle_timer);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

sd_event *target_sources_event(const TargetSources *s) {
        return s->event;
}

int target_sources_register(TargetSources *s, const TargetSourceType *type, void *source) {
        assert(s && type && type->apply && type->free);

        SourceEntry *entries = reallocarray(s->entries, s->n_entries + 1, sizeof(SourceEntry));
        if (!entries) {
                type->free(source);
                return -ENOMEM;
        }
        s->entries = entries;
        s->entries[s->n_entries++] = (SourceEntry){ .type = type, .source = source };
        return 0;
}

uint64_t target_sources_shard_hash(const char *name) {
        uint64_t hash = UINT64_C(14695981039346656037); /* FNV-1a 64: offset basis */

        for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                hash = (hash ^ *c) * UINT64_C(1099511628211); /* the FNV 64-bit prime */
        return hash;
}

static bool in_shard(const TargetConfig *t, void *userdata) {
        const ConfigShard *shard = userdata;
        return target_sources_shard_hash(t->name) % shard->count == shard->index;
}

int target_sources_apply(TargetSources *s, Config *config, char **ret_error) {
        int r;

        assert(s && config && ret_error);
        for (size_t i = 0; i < s->n_entries; i++) {
                r = s->entries[i].type->apply(s->entries[i].source, config, ret_error);
                if (r < 0)
                        return r;
        }
        /* Last, over every target whatever its source, so that N instances sharing one configuration
         * split it between them. */
        if (config->shard.count > 0)
                return config_keep_targets(config, in_shard, &config->shard);
        return 0;
}

static int on_settled(sd_event_source *source, uint64_t usec, void *userdata) {
        TargetSources *s = userdata;

        s->settle_timer = sd_event_source_disable_unref(s->settle_timer);
        if (s->on_changed)
                s->on_changed(s->userdata);
        return 0;
}

void target_sources_changed(TargetSources *s) {
        uint64_t now = 0;
        int r;

        if (!s->event)
                return;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        /* Each notice pushes the reload back, so a burst of writes is applied once, after its last. */
        if (s->settle_timer) {
                r = sd_event_source_set_time(s->settle_timer, now + TARGET_SOURCES_SETTLE_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s->settle_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(s->event, &s->settle_timer, CLOCK_MONOTONIC,
                                      now + TARGET_SOURCES_SETTLE_USEC, USEC_PER_SEC / 20, on_settled, s);
        if (r < 0)
                log_warning_errno(r, "cannot schedule the reload for a changed target source: %m; run "
                                     "tlswatchctl reload");
}
