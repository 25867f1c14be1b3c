/* SPDX-License-Identifier: MIT */
/* Targets from DNS SRV records: each [Target NAME] with SRV= is a template, expanded into one target
 * NAME/HOST:PORT per record of its name's last good answer, with HOST as the server name. The names are
 * looked up again every Interval= on a thread (res_nquery, so the loop never waits on DNS); an answer
 * that changes the set of host:port pairs calls the owner back, which applies it like a reload. A
 * failed lookup keeps the last good expansion and says so in the log, once until it works again. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "target-source.h"

typedef struct SrvSource SrvSource;

/* Called from the loop when an SRV name's answer changed the targets it expands to. */
typedef void (*srv_source_changed_t)(SrvSource *source, void *userdata);

/* `event` NULL: nothing is looked up (--check-config), every template expands to nothing. */
int srv_source_new(sd_event *event, srv_source_changed_t on_changed, void *userdata, SrvSource **ret);
SrvSource *srv_source_free(SrvSource *source);
DEFINE_TRIVIAL_CLEANUP_FUNC(SrvSource *, srv_source_free);

/* At the first expansion (the start, before the loop runs) the first answers are waited for, at most
 * this long, so that a restart finds the expanded targets, and their saved states, at once; a name that
 * takes longer expands when it answers. */
#define SRV_SOURCE_FIRST_WAIT_USEC (5 * USEC_PER_SEC)

/* Takes note of the templates of `config` (a new SRV name is looked up at once; one the configuration
 * no longer has is forgotten), then replaces each template by its expansion from the last good answer
 * (none yet: no targets, until the first answer calls back). Returns 0, or a negative errno with a
 * message in *ret_error. */
int srv_source_expand(SrvSource *source, Config *config, char **ret_error);

/* The target source (target-source.h) whose data is an SrvSource: apply is srv_source_expand(). */
extern const TargetSourceType srv_target_source;
