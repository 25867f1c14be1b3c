/* SPDX-License-Identifier: MIT */
/* The state file tlswatchd keeps between runs, {"version":1,"targets":{NAME:{..., "address":"HOST:PORT"}}},
 * parsed without any I/O: the manager reads the file, this module judges it, so a corrupt or hostile
 * state file is unit-tested and fuzzed. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "target.h"

/* A state file larger than this is corrupt, not loaded: it holds a few hundred bytes per target. */
#define STATE_FILE_MAX (16 * 1024 * 1024)

/* Parses a state file's text. Returns 0 with the document (a new reference, json_decref() it), or
 * -EBADMSG with the reason in ret_reason. */
int state_file_parse(const char *text, size_t size, json_t **ret_document, char *ret_reason, size_t reason_size);

/* The state saved for target `name` while it probed `address` ("host:port"). Returns 1 with *ret (the
 * caller clears it), 0 when there is none or it was saved for another address, -EBADMSG when the
 * saved entry is malformed. */
int state_file_find(json_t *document, const char *name, const char *address, TargetState *ret);
