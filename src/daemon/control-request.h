/* SPDX-License-Identifier: MIT */
/* The control protocol's requests: one JSON document per line, parsed into a ControlRequest without
 * any I/O, so every malformed request is unit-tested and fuzzed. Documented in tlswatchctl(1). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum ControlCommand {
        CONTROL_STATUS,
        CONTROL_METRICS,
        CONTROL_CHECK,
        CONTROL_RELOAD,
        CONTROL_WEBHOOKS,
        CONTROL_WEBHOOK_TEST,
        _CONTROL_COMMAND_MAX,
        _CONTROL_COMMAND_INVALID = -EINVAL,
} ControlCommand;

typedef struct ControlRequest {
        ControlCommand command;
        char *target; /* status, check: one target (NULL: all); webhook-test: the webhook ("name") */
} ControlRequest;

/* A request larger than this is refused before it is parsed. */
#define CONTROL_REQUEST_MAX (64 * 1024)

const char *control_command_to_string(ControlCommand command);
ControlCommand control_command_from_string(const char *s);

/* Changing commands (check, reload) are for root and the daemon's own user; reading is for anyone
 * who may open the socket. */
bool control_command_is_privileged(ControlCommand command);

/* Parses one request line (without its newline). Returns 0, or -EBADMSG / -EINVAL with a sentence in
 * *ret_error (static or allocated: the caller frees it). */
int control_request_parse(const char *line, size_t length, ControlRequest *ret, char **ret_error);
void control_request_clear(ControlRequest *request);
