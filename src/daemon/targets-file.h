/* SPDX-License-Identifier: MIT */
/* TargetsFile=: the target source of file_sd files (file-sd.h), their directories watched with inotify on
 * the event loop, so that a file written in place or renamed into place (as editors and config management
 * do) is applied like a reload. Each file keeps its last good targets while it is malformed. */
#pragma once

#include "target-source.h"

extern const TargetSourceType targets_file_source;

/* Made by target_sources_new() for every manager; the sources set's event loop watches (none if NULL). */
int targets_file_source_new(TargetSources *sources, void **ret);
