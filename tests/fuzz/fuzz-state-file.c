/* SPDX-License-Identifier: MIT */
/* Fuzzes the state file loader: the document, then each saved target as load_state() takes it. A
 * state that loads must also save and load again unchanged in shape, or a restart would lose it. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *document, *saved;
        char reason[256];
        const char *name;

        if (size > STATE_FILE_MAX ||
            state_file_parse((const char *) data, size, &document, reason, sizeof(reason)) < 0)
                return 0;
        json_object_foreach(json_object_get(document, "targets"), name, saved)
                load_target(document, name, saved);
        json_decref(document);
        return 0;
}
