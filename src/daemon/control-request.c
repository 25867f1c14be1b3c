/* SPDX-License-Identifier: MIT */
/* Request parsing for the control socket. Strict: an object with a known "command", only the members
 * that command takes, of the right types. Anything else is answered with an error that says why. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "control-request.h"
#include "macro.h"
#include "string-table.h"

static const char *const control_command_table[_CONTROL_COMMAND_MAX] = {
        [CONTROL_STATUS] = "status",
        [CONTROL_METRICS] = "metrics",
        [CONTROL_CHECK] = "check",
        [CONTROL_RELOAD] = "reload",
        [CONTROL_WEBHOOKS] = "webhooks",
        [CONTROL_WEBHOOK_TEST] = "webhook-test",
};

DEFINE_STRING_TABLE_LOOKUP(control_command, ControlCommand, _CONTROL_COMMAND_MAX);

bool control_command_is_privileged(ControlCommand command) {
        return IN_SET(command, CONTROL_CHECK, CONTROL_RELOAD, CONTROL_WEBHOOK_TEST);
}

static int fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EBADMSG;
}

int control_request_parse(const char *line, size_t length, ControlRequest *ret, char **ret_error) {
        json_error_t error;
        json_t *o, *value;
        const char *key;
        ControlRequest request = { .command = _CONTROL_COMMAND_INVALID };
        int r = 0;

        *ret_error = NULL;
        if (length > CONTROL_REQUEST_MAX)
                return fail(ret_error, "request larger than %d KiB", CONTROL_REQUEST_MAX / 1024);

        o = json_loadb(line, length, JSON_REJECT_DUPLICATES, &error);
        if (!o)
                return fail(ret_error, "invalid JSON: %s", error.text);
        if (!json_is_object(o)) {
                json_decref(o);
                return fail(ret_error, "a request is a JSON object, e.g. {\"command\":\"status\"}");
        }

        const char *command = json_string_value(json_object_get(o, "command"));
        if (!command) {
                json_decref(o);
                return fail(ret_error, "the request has no \"command\" string");
        }
        request.command = control_command_from_string(command);
        if (request.command < 0) {
                r = fail(ret_error, "unknown command \"%.64s\" (status, check, reload, metrics, webhooks, webhook-test)",
                         command);
                goto finish;
        }

        json_object_foreach(o, key, value) {
                if (strcmp(key, "command") == 0)
                        continue;
                if (strcmp(key, "target") == 0 && IN_SET(request.command, CONTROL_STATUS, CONTROL_CHECK)) {
                        if (!json_is_string(value) || json_string_length(value) == 0 ||
                            json_string_length(value) > 256) {
                                r = fail(ret_error, "\"target\" must be a target's name");
                                goto finish;
                        }
                        request.target = strdup(json_string_value(value));
                        if (!request.target) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        continue;
                }
                if (strcmp(key, "name") == 0 && request.command == CONTROL_WEBHOOK_TEST) {
                        if (!json_is_string(value) || json_string_length(value) == 0 ||
                            json_string_length(value) > 256) {
                                r = fail(ret_error, "\"name\" must be a webhook's name");
                                goto finish;
                        }
                        request.target = strdup(json_string_value(value));
                        if (!request.target) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        continue;
                }
                r = fail(ret_error, "\"%s\" takes no member \"%.64s\"", command, key);
                goto finish;
        }
        if (request.command == CONTROL_WEBHOOK_TEST && !request.target) {
                r = fail(ret_error, "\"webhook-test\" needs a \"name\"");
                goto finish;
        }

        *ret = request;
        request = (ControlRequest) {};
finish:
        control_request_clear(&request);
        json_decref(o);
        return r;
}

void control_request_clear(ControlRequest *request) {
        free(request->target);
        *request = (ControlRequest) { .command = _CONTROL_COMMAND_INVALID };
}
