/* SPDX-License-Identifier: MIT */
/* The state file tlswatchd keeps between runs: {"version":2,"schema":"tlswatch.state/2","targets":
 * {NAME:{"address":"HOST:PORT", ...}}}. Written one target at a time (a tree of the whole fleet would
 * cost megabytes every few seconds of a sweep), parsed without any I/O: the manager reads and writes
 * the file, this module judges it, so a corrupt or hostile state file is unit-tested and fuzzed.
 * Files of version 1 still load, so an upgrade keeps every target's state. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "target.h"

#define STATE_FILE_VERSION 2
#define STATE_FILE_SCHEMA "tlswatch.state/2"

/* A state file larger than this is corrupt, not loaded: it holds a few hundred bytes per target. */
#define STATE_FILE_MAX (16 * 1024 * 1024)

/* Parses a state file's text. Returns 0 with the document (a new reference, json_decref() it), or
 * -EBADMSG with the reason in ret_reason. */
int state_file_parse(const char *text, size_t size, json_t **ret_document, char *ret_reason, size_t reason_size);

/* Called for each saved target, in the file's order, with its saved entry (borrowed) and the file's
 * version; a negative return stops the reading with that error. */
typedef int (*state_file_entry_func)(const char *name, json_t *saved, int version, void *userdata);

/* Reads a state file's text entry by entry, so that only one target's tree is held at a time. Returns
 * 0 when the whole file was read; 1 when it is damaged or cut short after the entries already handed
 * over (the reason in ret_reason: the file should be set aside, the entries kept); -EBADMSG when it is
 * not a state file at all (nothing handed over); or the callback's error. */
int state_file_read(const char *text, size_t size, state_file_entry_func entry, void *userdata, char *ret_reason,
                    size_t reason_size);

/* One saved entry, as state_file_read() hands it over, for a target that now probes `address`:
 * returns 1 with *ret (the caller clears it), 0 when it was saved for another address, -EBADMSG when
 * it is malformed. */
int state_file_decode(json_t *saved, int version, const char *address, TargetState *ret);

/* The state saved for target `name` while it probed `address` ("host:port"). Returns 1 with *ret (the
 * caller clears it), 0 when there is none or it was saved for another address, -EBADMSG when the
 * saved entry is malformed. */
int state_file_find(json_t *document, const char *name, const char *address, TargetState *ret);

/* The entry of one target, as the current version writes it; a new object or NULL. */
json_t *state_file_entry_to_json(const TargetState *state, const char *address);

/* Writing: the head, then each target's entry (`first` for the first one), then the tail. Each
 * returns 0 or -ENOMEM / -EIO. */
int state_file_write_head(FILE *f);
int state_file_write_target(FILE *f, bool first, const char *name, const char *address, const TargetState *state);
int state_file_write_tail(FILE *f);
