/* SPDX-License-Identifier: MIT */
/* Fuzzes the state file loader: the document, then each saved target as load_state() takes it. A
 * state that loads must also save and load again unchanged in shape, or a restart would lose it. */
#include <stdlib.h>

#include "fuzz.h"
#include "state-file.h"

static void load_target(json_t *document, const char *name, json_t *saved) {
        const char *address = json_string_value(json_object_get(saved, "address"));
        TargetState state, again;

        if (state_file_find(document, name, address ?: "broker.test:8883", &state) <= 0)
                return;

        json_t *o = target_state_to_json(&state);
        if (!o)
                abort();
        (void) json_object_set_new(o, "address", json_string(address));
        if (target_state_from_json(o, &again) < 0)
                abort(); /* what we saved, we cannot read back */
        if (again.status != state.status || again.problems.n != state.problems.n ||
            again.consecutive_failures != state.consecutive_failures)
                abort();
        target_state_clear(&again);
        json_decref(o);
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
