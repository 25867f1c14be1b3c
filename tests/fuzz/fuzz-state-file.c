/* SPDX-License-Identifier: MIT */
/* Fuzzes the state file loader: the document, then each saved target as load_state() takes it. A
 * state that loads must also save and load again unchanged in shape, or a restart would lose it. The
 * entry-by-entry reader the daemon uses must take every document the tree parser takes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "state-file.h"

/* Saves `state` as the current version writes it and loads it back from that text. */
static int round_trip(const TargetState *state, const char *address, TargetState *ret) {
        char *text = NULL, reason[256];
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        json_t *document = NULL;
        int r;

        if (!f)
                abort();
        if (state_file_write_head(f) < 0 || state_file_write_target(f, true, "t", address, state) < 0 ||
            state_file_write_tail(f) < 0)
                abort();
        if (fclose(f) != 0)
                abort();
        r = state_file_parse(text, size, &document, reason, sizeof(reason));
        free(text);
        if (r < 0)
                return r;
        r = state_file_find(document, "t", address, ret);
        json_decref(document);
        return r;
}

static void load_target(json_t *document, const char *name, json_t *saved) {
        const char *address = json_string_value(json_object_get(saved, "address"));
        TargetState state, again;

        if (state_file_find(document, name, address ?: "broker.test:8883", &state) <= 0)
                return;

        if (round_trip(&state, address, &again) != 1)
                abort(); /* what we saved, we cannot read back */
        if (again.status != state.status || again.problems.n != state.problems.n ||
            again.consecutive_failures != state.consecutive_failures || again.probes != state.probes ||
            strcmp(again.sha256, state.sha256) != 0)
                abort();
        target_state_clear(&again);
        target_state_clear(&state);
}

/* The daemon's own path: entry by entry (state_file_read()), whatever the damage. */
static int read_entry(const char *name, json_t *saved, int version, void *userdata) {
        const char *address = json_string_value(json_object_get(saved, "address"));
        TargetState state;
        size_t *count = userdata;

        if (!name)
                abort();
        (*count)++;
        if (state_file_decode(saved, version, address ?: "broker.test:8883", &state) == 1)
                target_state_clear(&state);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *document, *saved;
        char reason[256], read_reason[256] = "";
        const char *name;
        size_t count = 0;
        int r;

        if (size > STATE_FILE_MAX)
                return 0;
        r = state_file_read((const char *) data, size, read_entry, &count, read_reason, sizeof(read_reason));
        if (r < 0 && count > 0)
                abort(); /* "not a state file" after entries were handed over: they would be kept anyway */
        if (state_file_parse((const char *) data, size, &document, reason, sizeof(reason)) < 0)
                return 0;
        /* A document without repeated members that the tree parser takes whole, the entry reader
         * takes too, but for a version after the targets (which no tlswatch wrote: the entries' form
         * depends on it). A NUL byte, which the daemon refuses before either (read_full_file()), makes
         * jansson's number lexer stop early in one and not the other. */
        json_t *strict = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        bool unique = strict != NULL && !memchr(data, 0, size);
        json_decref(strict);
        if (unique && r != 0 && !(r == 1 && strstr(read_reason, "follows")))
                abort();
        json_object_foreach(json_object_get(document, "targets"), name, saved)
                load_target(document, name, saved);
        json_decref(document);
        return 0;
}
