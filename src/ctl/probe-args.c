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
                .probe.protocol = _PROTOCOL_INVALID,
                .probe.warn_days = PROBE_DEFAULT_WARN_DAYS,
                .probe.crit_days = PROBE_DEFAULT_CRIT_DAYS,
                .probe.timeout_usec = PROBE_DEFAULT_TIMEOUT_USEC,
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
                        r = set_string(&args.probe.server_name, optarg);
                        break;
                case ARG_CA_FILE:
                        r = set_string(&args.probe.ca_file, optarg);
                        break;
                case ARG_CERT:
                        r = set_string(&args.probe.cert_file, optarg);
                        break;
                case ARG_KEY:
                        r = set_string(&args.probe.key_file, optarg);
                        break;
                case ARG_PATH:
                        if (probe_settings_check_path(optarg, &reason) < 0) {
                                r = fail(ret_error, "--path: \"%s\" %s", optarg, reason);
                                goto finish;
                        }
                        r = set_string(&args.probe.path, optarg);
                        break;
                case ARG_PROTOCOL:
                        args.probe.protocol = protocol_from_string(optarg);
                        if (args.probe.protocol < 0) {
                                r = fail(ret_error, "--protocol: \"%s\" is not one of tls, mqtt, wss, https", optarg);
                                goto finish;
                        }
                        break;
                case ARG_WARN_DAYS:
                        if (parse_days(optarg, &args.probe.warn_days) < 0) {
                                r = fail(ret_error, "--warn-days: \"%s\" is not a number of days (0-3650)", optarg);
                                goto finish;
                        }
                        break;
                case ARG_CRIT_DAYS:
                        if (parse_days(optarg, &args.probe.crit_days) < 0) {
                                r = fail(ret_error, "--crit-days: \"%s\" is not a number of days (0-3650)", optarg);
                                goto finish;
                        }
                        break;
                case ARG_TIMEOUT:
                        if (parse_seconds(optarg, &args.probe.timeout_usec) < 0) {
                                r = fail(ret_error, "--timeout: \"%s\" is not a number of seconds (more than 0, at most 3600)", optarg);
                                goto finish;
                        }
                        break;
                case ARG_JSON:
                        args.json = true;
                        break;
                case ARG_MQTT_VERSION:
                        if (probe_settings_parse_mqtt_version(optarg, &args.probe.mqtt_version, &reason) < 0) {
                                r = fail(ret_error, "--mqtt-version: \"%s\" %s", optarg, reason);
                                goto finish;
                        }
                        break;
                case ARG_CLIENT_ID:
                        r = set_string(&args.probe.mqtt_client_id, optarg);
                        break;
                case ARG_USERNAME:
                        r = set_string(&args.probe.mqtt_username, optarg);
                        break;
                case ARG_PASSWORD_FILE:
                        r = set_string(&args.probe.mqtt_password_file, optarg);
                        break;
                case ARG_EXPECT_ACCEPT:
                        args.probe.mqtt_expect_accept = true;
                        break;
                case ARG_EXPECT_STATUS:
                        if (probe_settings_check_expect_status(optarg, &reason) < 0) {
                                r = fail(ret_error, "--expect-status: \"%s\" %s", optarg, reason);
                                goto finish;
                        }
                        r = set_string(&args.probe.http_expect_status, optarg);
                        break;
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
        if (parse_host_port(argv[optind], PROBE_DEFAULT_PORT, &args.probe.host, &args.probe.port, &reason) < 0) {
                r = fail(ret_error, "\"%s\": %s", argv[optind], reason ?: "invalid target");
                goto finish;
        }
        r = probe_settings_validate(&args.probe, PROBE_SETTINGS_NAMES_OPTIONS, ret_error);
        if (r < 0)
                goto finish;
        if (args.probe.protocol < 0)
                args.probe.protocol = protocol_default_for_port(args.probe.port);

        *ret = args;
        return 0;

finish:
        if (r == -ENOMEM && !*ret_error)
                (void) fail(ret_error, "out of memory");
        probe_args_clear(&args);
        return r < 0 ? r : -EINVAL;
}

void probe_args_clear(ProbeArgs *args) {
        probe_settings_clear(&args->probe);
        *args = (ProbeArgs) {};
}
