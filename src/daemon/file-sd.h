/* SPDX-License-Identifier: MIT */
/* Prometheus's file_sd format: a JSON or YAML list of groups, each `{"targets": ["host:port", ...],
 * "labels": {...}}`, read into the targets tlswatchd adds (target-file.c). Labels named
 * __tlswatch_<key> set a [Target] key, __tlswatch_name the target's name; other labels are ignored. Pure:
 * text in, targets or a message naming file:line:column out. */
#pragma once

#include <stddef.h>

#include "config.h"

#define FILE_SD_LABEL_PREFIX "__tlswatch_"
#define FILE_SD_FILE_MAX (16 * 1024 * 1024)
#define FILE_SD_TARGETS_MAX 100000

typedef struct FileSdTarget {
        char *name;              /* __tlswatch_name, else the target "host:port" without brackets */
        unsigned line;           /* where its group starts, 0 if not known (JSON) */
        size_t group;            /* its group's number in the file, from 1 */
        ConfigSetting *settings; /* Address= first, then one per __tlswatch_ label; strings owned */
        size_t n_settings;
} FileSdTarget;

typedef struct FileSdList {
        FileSdTarget *targets;
        size_t n;
} FileSdList;

typedef enum FileSdFormat {
        FILE_SD_JSON,
        FILE_SD_YAML,
        _FILE_SD_FORMAT_MAX,
        _FILE_SD_FORMAT_INVALID = -EINVAL,
} FileSdFormat;

/* By the name's ending, as Prometheus decides: .json, or .yml/.yaml; else -EINVAL. */
FileSdFormat file_sd_format_from_path(const char *path);

/* Parses `size` bytes of `text` (a file's, for messages named `path`). Returns 0 with the targets in
 * *ret (to be cleared with file_sd_list_clear()), or -EINVAL with "PATH:LINE:COLUMN: ..." (or
 * "PATH: group N: ...") in *ret_error, or -ENOMEM. */
int file_sd_parse(const char *path, FileSdFormat format, const char *text, size_t size, FileSdList *ret,
                  char **ret_error);

void file_sd_list_clear(FileSdList *list);
