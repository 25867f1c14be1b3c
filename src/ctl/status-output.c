/* SPDX-License-Identifier: MIT */
/* Renders the status table. Column widths follow the longest name and address, within bounds, so a
 * long name does not push every other column off the screen. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "status-output.h"

bool status_output_use_colour(FILE *out) {
        const char *no_colour = getenv("NO_COLOR");

        if (no_colour && *no_colour)
                return false;
        const char *term = getenv("TERM");
        if (term && strcmp(term, "dumb") == 0)
                return false;
        return isatty(fileno(out));
}

static const char *colour_of(Status status) {
        switch (status) {
        case STATUS_OK:
                return "\033[32m";
        case STATUS_WARNING:
                return "\033[33m";
        case STATUS_CRITICAL:
                return "\033[1;31m";
        default:
                return "\033[35m";
        }
}

Status status_output_table(json_t *targets, FILE *out, bool colour) {
        Status worst = STATUS_OK;
        int name_width = 6, address_width = 7;
        size_t i;
        json_t *target;

        json_array_foreach(targets, i, target) {
                name_width = MAX(name_width, (int) strlen(json_string_value(json_object_get(target, "name")) ?: ""));
                address_width = MAX(address_width,
                                    (int) strlen(json_string_value(json_object_get(target, "address")) ?: ""));
        }
        name_width = MIN(name_width, 40);
        address_width = MIN(address_width, 48);

        fprintf(out, "%-*s  %-*s  %-8s  %9s  %s\n", name_width, "TARGET", address_width, "ADDRESS", "STATE", "DAYS LEFT",
                "PROBLEMS");
        json_array_foreach(targets, i, target) {
                const char *state = json_string_value(json_object_get(target, "status")) ?: "unknown";
                Status status = status_from_string(state);
                json_t *days = json_object_get(target, "days_left");
                char days_text[32] = "-";
                size_t j;
                json_t *problem;

                if (status < 0)
                        status = STATUS_UNKNOWN;
                worst = status_worst(worst, status);
                if (json_is_number(days))
                        snprintf(days_text, sizeof(days_text), "%.1f", json_number_value(days));

                fprintf(out, "%-*.*s  %-*.*s  %s%-8s%s  %9s  ", name_width, name_width,
                        json_string_value(json_object_get(target, "name")) ?: "?", address_width, address_width,
                        json_string_value(json_object_get(target, "address")) ?: "?", colour ? colour_of(status) : "",
                        state, colour ? "\033[0m" : "", days_text);
                json_array_foreach(json_object_get(target, "problems"), j, problem)
                        fprintf(out, "%s%s", j ? ", " : "", json_string_value(json_object_get(problem, "code")) ?: "?");
                if (json_array_size(json_object_get(target, "problems")) == 0)
                        fputs("-", out);
                fputc('\n', out);
        }
        return worst;
}
