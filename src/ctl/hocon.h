/* SPDX-License-Identifier: MIT */
/* A bounded reader for the subset of HOCON that EMQX 5's files use: objects, dotted and quoted keys,
 * = and :, quoted, triple-quoted and bare values, `include` directives, # and // comments. Arrays are
 * skipped, substitutions (${X}) are kept as text for the caller to resolve. The result is flat: one
 * entry per scalar, keyed by its whole path, later assignments winning as HOCON merges objects. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HOCON_ENTRIES_MAX 16384
#define HOCON_DEPTH_MAX 32
#define HOCON_INCLUDE_DEPTH_MAX 8
#define HOCON_PATH_MAX 1024

typedef struct HoconEntry {
        char *path;   /* "listeners.ssl.default.bind" */
        char *value;  /* the scalar as text: quotes and escapes resolved, ${X} kept */
        char *source; /* "file:line" where it was assigned */
        bool null;    /* a bare null */
} HoconEntry;

typedef struct HoconDocument {
        HoconEntry *entries;
        size_t n_entries, n_allocated;
        unsigned n_includes;
} HoconDocument;

/* Finds the file an include names, relative to the file that includes it. Returns 0 with the file's
 * path and text, -ENOENT when there is no such file (ignored unless the include is required()), or
 * another negative errno. */
typedef int (*HoconIncludeFn)(void *userdata, const char *including_file, const char *name, char **ret_path,
                              char **ret_text);

/* Adds the assignments in `text` (read from `file`) to `doc`, over what is there: a scalar replaces
 * whatever the path held, an object merges. Returns 0, -ENOMEM, or -EINVAL with "file:line: why" in
 * *ret_error. `include` may be NULL: then every include is an error. */
int hocon_parse(HoconDocument *doc, const char *text, const char *file, HoconIncludeFn include,
                void *userdata, char **ret_error);

/* Sets `path` to `value`, from `source` ("EMQX's default"), replacing only that path: the paths above
 * and below it stay, as cuttlefish's flat keys (EMQX 4) want. Returns 0, -ENOMEM
 * or -E2BIG (the document is full). */
int hocon_set(HoconDocument *doc, const char *path, const char *value, const char *source);

/* The entry at `path`, or NULL. */
const HoconEntry *hocon_get(const HoconDocument *doc, const char *path);

/* The value at `path`: NULL when unset or null. */
const char *hocon_get_value(const HoconDocument *doc, const char *path);

void hocon_document_done(HoconDocument *doc);
