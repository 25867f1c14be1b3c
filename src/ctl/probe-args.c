/* SPDX-License-Identifier: MIT */
/* Option parsing for `tlswatchctl probe`. getopt_long does the splitting; each value is checked here
 * with a message that names the option and the value the user gave. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address-util.h"
#include "macro.h"
#include "probe-args.h"
#include "proto-http.h"

enum {
        ARG_SERVERNAME = 0x100,
        ARG_CA_FILE,
        ARG_CERT,
        ARG_KEY,
        ARG_PROTOCOL,
        ARG_PATH,
        ARG_WARN_DAYS,
        ARG_CRIT_DAYS,
        ARG_TIMEOUT,
        ARG_JSON,
        ARG_MQTT_VERSION,
        ARG_CLIENT_ID,
        ARG_USERNAME,
        ARG_PASSWORD_FILE,
        ARG_EXPECT_ACCEPT,
        ARG_EXPECT_STATUS,
};

static const struct option options[] = {
        { "servername", required_argument, NULL, ARG_SERVERNAME },
        { "ca-file", required_argument, NULL, ARG_CA_FILE },
        { "cert", required_argument, NULL, ARG_CERT },
        { "key", required_argument, NULL, ARG_KEY },
        { "protocol", required_argument, NULL, ARG_PROTOCOL },
        { "path", required_argument, NULL, ARG_PATH },
        { "warn-days", required_argument, NULL, ARG_WARN_DAYS },
        { "crit-days", required_argument, NULL, ARG_CRIT_DAYS },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "json", no_argument, NULL, ARG_JSON },
        { "mqtt-version", required_argument, NULL, ARG_MQTT_VERSION },
        { "client-id", required_argument, NULL, ARG_CLIENT_ID },
        { "username", required_argument, NULL, ARG_USERNAME },
        { "password-file", required_argument, NULL, ARG_PASSWORD_FILE },
        { "expect-accept", no_argument, NULL, ARG_EXPECT_ACCEPT },
        { "expect-status", required_argument, NULL, ARG_EXPECT_STATUS },
        { "help", no_argument, NULL, 'h' },
        {}
};

static int fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

static int parse_days(const char *s, unsigned *ret) {
        char *end = NULL;
        long value;

        errno = 0;
        value = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || value < 0 || value > 3650)
                return -EINVAL;
        *ret = (unsigned) value;
        return 0;
}

static int parse_seconds(const char *s, uint64_t *ret) {
        char *end = NULL;
        double value;

        errno = 0;
        value = strtod(s, &end);
        if (errno != 0 || end == s || *end || !isfinite(value) || value <= 0 || value > 3600)
                return -EINVAL;
        *ret = (uint64_t) (value * 1e6);
        return 0;
}

static int set_string(char **field, const char *value) {
        free(*field);
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

int probe_args_parse(int argc, char **argv, ProbeArgs *ret, char **ret_error) {
        ProbeArgs args = {
                .protocol = _PROTOCOL_INVALID,
                .warn_days = PROBE_DEFAULT_WARN_DAYS,
                .crit_days = PROBE_DEFAULT_CRIT_DAYS,
                .timeout_usec = PROBE_DEFAULT_TIMEOUT_USEC,
        };
        const char *reason = NULL;
        int c, r = 0;

        *ret_error = NULL;
        optind = 0; /* 0, not 1: also resets getopt's internal state, so the parser can run more than once */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SERVERNAME:
                        if (!*optarg) {
                                r = fail(ret_error, "--servername: the name is empty");
                                goto finish;
                        }
                        r = set_string(&args.server_name, optarg);
                        break;
                case ARG_CA_FILE:
                        r = set_string(&args.ca_file, optarg);
                        break;
                case ARG_CERT:
                        r = set_string(&args.cert_file, optarg);
                        break;
                case ARG_KEY:
                        r = set_string(&args.key_file, optarg);
                        break;
                case ARG_PATH:
                        if (optarg[0] != '/' || strpbrk(optarg, " \t\r\n")) {
                                r = fail(ret_error, "--path: \"%s\" is not a request path (it starts with '/', "
                                         "without blanks)", optarg);
                                goto finish;
                        }
                        r = set_string(&args.http_path, optarg);
                        break;
                case ARG_PROTOCOL:
                        args.protocol = protocol_from_string(optarg);
                        if (args.protocol < 0) {
                                r = fail(ret_error, "--protocol: \"%s\" is not one of tls, mqtt, wss, https", optarg);
                                goto finish;
                        }
                        break;
                case ARG_WARN_DAYS:
                        if (parse_days(optarg, &args.warn_days) < 0) {
                                r = fail(ret_error, "--warn-days: \"%s\" is not a number of days (0-3650)", optarg);
                                goto finish;
                        }
                        break;
                case ARG_CRIT_DAYS:
                        if (parse_days(optarg, &args.crit_days) < 0) {
                                r = fail(ret_error, "--crit-days: \"%s\" is not a number of days (0-3650)", optarg);
                                goto finish;
                        }
                        break;
                case ARG_TIMEOUT:
                        if (parse_seconds(optarg, &args.timeout_usec) < 0) {
                                r = fail(ret_error, "--timeout: \"%s\" is not a number of seconds (more than 0, at most 3600)", optarg);
                                goto finish;
                        }
                        break;
                case ARG_JSON:
                        args.json = true;
                        break;
                case ARG_MQTT_VERSION:
                        if (strcmp(optarg, "3.1.1") == 0 || strcmp(optarg, "4") == 0)
                                args.mqtt_version = 4;
                        else if (strcmp(optarg, "5") == 0 || strcmp(optarg, "5.0") == 0)
                                args.mqtt_version = 5;
                        else {
                                r = fail(ret_error, "--mqtt-version: \"%s\" is not 3.1.1 or 5", optarg);
                                goto finish;
                        }
                        break;
                case ARG_CLIENT_ID:
                        r = set_string(&args.mqtt_client_id, optarg);
                        break;
                case ARG_USERNAME:
                        r = set_string(&args.mqtt_username, optarg);
                        break;
                case ARG_PASSWORD_FILE:
                        r = set_string(&args.mqtt_password_file, optarg);
                        break;
                case ARG_EXPECT_ACCEPT:
                        args.mqtt_expect_accept = true;
                        break;
                case ARG_EXPECT_STATUS: {
                        HttpExpect expect;
                        if (proto_http_parse_expect(optarg, &expect) < 0) {
                                r = fail(ret_error, "--expect-status: \"%s\" is not a list of statuses like \"200\" "
                                         "or \"2xx 301\"", optarg);
                                goto finish;
                        }
                        r = set_string(&args.http_expect_status, optarg);
                        break;
                }
                case 'h':
                        args.help = true;
                        break;
                case ':':
                        r = fail(ret_error, "%s needs a value", argv[optind - 1]);
                        goto finish;
                default:
                        r = fail(ret_error, "unknown option \"%s\"", argv[optind - 1]);
                        goto finish;
                }
                if (r < 0)
                        goto finish;
        }

        if (args.help) {
                *ret = args;
                return 0;
        }

        if (optind >= argc) {
                r = fail(ret_error, "probe needs a target: HOST[:PORT]");
                goto finish;
        }
        if (optind + 1 < argc) {
                r = fail(ret_error, "probe takes one target, got \"%s\" too", argv[optind + 1]);
                goto finish;
        }
        if (parse_host_port(argv[optind], PROBE_DEFAULT_PORT, &args.host, &args.port, &reason) < 0) {
                r = fail(ret_error, "\"%s\": %s", argv[optind], reason ?: "invalid target");
                goto finish;
        }
        if (!!args.cert_file != !!args.key_file) {
                r = fail(ret_error, "--cert and --key go together (two-way TLS needs both)");
                goto finish;
        }
        if (args.mqtt_password_file && !args.mqtt_username) {
                r = fail(ret_error, "--password-file needs --username");
                goto finish;
        }
        if (args.crit_days > args.warn_days) {
                r = fail(ret_error, "--crit-days (%u) must not exceed --warn-days (%u)", args.crit_days,
                         args.warn_days);
                goto finish;
        }
        if (args.protocol < 0)
                args.protocol = protocol_default_for_port(args.port);

        *ret = args;
        return 0;

finish:
        if (r == -ENOMEM && !*ret_error)
                (void) fail(ret_error, "out of memory");
        probe_args_clear(&args);
        return r < 0 ? r : -EINVAL;
}

void probe_args_clear(ProbeArgs *args) {
        free(args->host);
        free(args->server_name);
        free(args->ca_file);
        free(args->cert_file);
        free(args->key_file);
        free(args->http_path);
        free(args->mqtt_client_id);
        free(args->mqtt_username);
        free(args->mqtt_password_file);
        free(args->http_expect_status);
        *args = (ProbeArgs) {};
}
