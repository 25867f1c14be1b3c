/* SPDX-License-Identifier: MIT */
/* Where targets come from besides [Target NAME] sections: TargetsFile= (file_sd JSON/YAML files, watched),
 * and whatever else registers here (SRV= expansion). At each load, right after config_load(), every source
 * adds its targets to the new Config, then Shard= keeps this instance's share; build_targets() follows as
 * for any target. A source whose input changes asks for a reload, which is debounced. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"

/* A kind of source, registered at the manager's start. Its data (`void *source`) is its own. */
typedef struct TargetSourceType {
        const char *name; /* for messages: "file", "srv" */
        /* Adds this source's targets to `config` (finished by config_load(): [Defaults] are known; add
         * with config_add_target() or config_replace_target()), from what the source last read. Input of
         * its own that is bad (a malformed file, a failed lookup) must not fail the load: the source logs
         * it and keeps its last good targets. Returns 0, or a negative errno with a sentence in *ret_error
         * that fails the whole load (as a configuration error would). */
        int (*apply)(void *source, Config *config, char **ret_error);
        void (*free)(void *source);
} TargetSourceType;

typedef struct TargetSources TargetSources;

/* Called (from the event loop) when some source changed: the manager reloads. */
typedef void (*target_sources_changed_t)(void *userdata);

/* `event` NULL (--check-config, --once): files are read but not watched, no change is ever reported. */
int target_sources_new(sd_event *event, target_sources_changed_t on_changed, void *userdata,
                       TargetSources **ret);
TargetSources *target_sources_free(TargetSources *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(TargetSources *, target_sources_free);

sd_event *target_sources_event(const TargetSources *s);

/* Registers a source; applied in registration order, after the built-in TargetsFile= source. On failure
 * the source is freed with its type's free(). */
int target_sources_register(TargetSources *s, const TargetSourceType *type, void *source);

/* The step of each load between config_load() and build_targets(): every source's targets, then Shard=.
 * Returns 0, or a negative errno with a one-line message in *ret_error. */
int target_sources_apply(TargetSources *s, Config *config, char **ret_error);

/* Shard=I/N keeps the targets whose name's hash modulo N is I. The hash is FNV-1a 64 over the name's
 * bytes (offset basis 14695981039346656037, prime 1099511628211, each byte XORed in then multiplied,
 * modulo 2^64), so another tool can reproduce the split. */
uint64_t target_sources_shard_hash(const char *name);

/* For a source: its input changed. The manager's callback runs once the sources were quiet for
 * TARGET_SOURCES_SETTLE_USEC (an editor's save is several events; a fleet's redeploy many files). */
#define TARGET_SOURCES_SETTLE_USEC (USEC_PER_SEC / 2)
void target_sources_changed(TargetSources *s);
