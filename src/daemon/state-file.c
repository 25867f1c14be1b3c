/* SPDX-License-Identifier: MIT */
/* The state file's judgement: whether the text is a state file at all, and which saved target states
 * still apply. No I/O here; the manager reads and writes the file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "state-file.h"

int state_file_parse(const char *text, size_t size, json_t **ret_document, char *ret_reason, size_t reason_size) {
        json_error_t error;
        json_t *document;

        document = json_loadb(text, size, 0, &error);
        if (!document) {
                snprintf(ret_reason, reason_size, "%s", error.text);
                return -EBADMSG;
        }
        if (!json_is_object(json_object_get(document, "targets"))) {
                json_decref(document);
                snprintf(ret_reason, reason_size, "no targets object");
                return -EBADMSG;
        }
        *ret_document = document;
        return 0;
}

int state_file_find(json_t *document, const char *name, const char *address, TargetState *ret) {
        json_t *saved = json_object_get(json_object_get(document, "targets"), name);
        const char *saved_address;

        if (!saved)
                return 0;
        /* A target that now points elsewhere starts afresh. */
        saved_address = json_string_value(json_object_get(saved, "address"));
        if (!saved_address || strcmp(saved_address, address) != 0)
                return 0;
        if (target_state_from_json(saved, ret) < 0)
                return -EBADMSG;
        return 1;
}
