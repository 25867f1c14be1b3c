/* SPDX-License-Identifier: MIT */
/* Fuzzes the control socket's request parser with whole request lines, as control.c hands them over
 * once a newline arrived (up to CONTROL_REQUEST_MAX bytes). */
#include <stdlib.h>
#include <string.h>

#include "control-request.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ControlRequest request;
        char *error = NULL;

        if (control_request_parse((const char *) data, size, &request, &error) == 0) {
                (void) control_command_to_string(request.command);
                (void) control_command_is_privileged(request.command);
                if (request.target)
                        (void) strlen(request.target);
                control_request_clear(&request);
        } else if (error)
                (void) strlen(error);
        free(error);
        return 0;
}
