/* SPDX-License-Identifier: MIT */
/* Option parsing for `tlswatchctl probe`. getopt_long does the splitting; each value is checked here
 * with a message that names the option and the value the user gave. The short options are the ones
 * every Nagios plugin has (-H -p -w -c -t -V -h -v), so a check command written for check_tcp or
 * check_ssl_cert needs no new vocabulary. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address-util.h"
#include "macro.h"
#include "string-util.h"
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
        ARG_WARN_LIFETIME,
        ARG_CRIT_LIFETIME,
        ARG_RENEWAL_FLOOR,
        ARG_TIMEOUT,
        ARG_JSON,
        ARG_MQTT_VERSION,
        ARG_CLIENT_ID,
        ARG_USERNAME,
        ARG_PASSWORD_FILE,
        ARG_EXPECT_ACCEPT,
        ARG_EXPECT_STATUS,
        ARG_GROUPS,
        ARG_NAME_ONLY_IN_CN,
        ARG_REVOCATION,
        ARG_CRL,
        ARG_PIN_SHA256,
};

static const struct option options[] = { { "servername", required_argument, NULL, ARG_SERVERNAME },
                                         { "ca-file", required_argument, NULL, ARG_CA_FILE },
                                         { "cert", required_argument, NULL, ARG_CERT },
                                         { "key", required_argument, NULL, ARG_KEY },
                                         { "protocol", required_argument, NULL, ARG_PROTOCOL },
                                         { "path", required_argument, NULL, ARG_PATH },
                                         { "warn-days", required_argument, NULL, ARG_WARN_DAYS },
                                         { "crit-days", required_argument, NULL, ARG_CRIT_DAYS },
                                         { "warn-lifetime", required_argument, NULL, ARG_WARN_LIFETIME },
                                         { "crit-lifetime", required_argument, NULL, ARG_CRIT_LIFETIME },
                                         { "renewal-floor", required_argument, NULL, ARG_RENEWAL_FLOOR },
                                         { "timeout", required_argument, NULL, ARG_TIMEOUT },
                                         { "json", no_argument, NULL, ARG_JSON },
                                         { "mqtt-version", required_argument, NULL, ARG_MQTT_VERSION },
                                         { "client-id", required_argument, NULL, ARG_CLIENT_ID },
                                         { "username", required_argument, NULL, ARG_USERNAME },
                                         { "password-file", required_argument, NULL, ARG_PASSWORD_FILE },
                                         { "expect-accept", no_argument, NULL, ARG_EXPECT_ACCEPT },
                                         { "expect-status", required_argument, NULL, ARG_EXPECT_STATUS },
                                         { "groups", required_argument, NULL, ARG_GROUPS },
                                         { "name-only-in-cn", required_argument, NULL, ARG_NAME_ONLY_IN_CN },
                                         { "revocation", required_argument, NULL, ARG_REVOCATION },
                                         { "crl", no_argument, NULL, ARG_CRL },
                                         { "pin-sha256", required_argument, NULL, ARG_PIN_SHA256 },
                                         { "help", no_argument, NULL, 'h' },
                                         { "host", required_argument, NULL, 'H' },
                                         { "port", required_argument, NULL, 'p' },
                                         { "version", no_argument, NULL, 'V' },
                                         { "verbose", no_argument, NULL, 'v' },
                                         {} };

static int parse_days(const char *s, unsigned *ret) {
        char *end = NULL;
        long value;

        errno = 0;
        value = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || value < 0 || value > PROBE_SETTINGS_DAYS_MAX)
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

/* -H takes a host alone, as plugins' -H does: a name, an IPv4 literal, or an IPv6 literal with or
 * without brackets (check_tcp -H ::1). The port comes from -p. */
static int parse_host_option(const char *value, char **ret_host, const char **ret_reason) {
        struct in6_addr in6;
        uint16_t port;

        if (value[0] != '[' && strchr(value, ':') && strchr(value, ':') != strrchr(value, ':')) {
                if (inet_pton(AF_INET6, value, &in6) != 1) {
                        *ret_reason = "is not an IPv6 address";
                        return -EINVAL;
                }
                *ret_host = strdup(value);
                return *ret_host ? 0 : -ENOMEM;
        }
        if ((value[0] == '[' && strstr(value, "]:")) || (value[0] != '[' && strchr(value, ':'))) {
                *ret_reason = "holds a port: give the host alone and the port with -p";
                return -EINVAL;
        }
        return parse_host_port(value, PROBE_DEFAULT_PORT, ret_host, &port, ret_reason);
}

/* Whether a positional HOST[:PORT] names a port, so that -p beside it is a contradiction. */
static bool target_has_port(const char *text) {
        return text[0] == '[' ? strstr(text, "]:") != NULL : strchr(text, ':') != NULL;
}

int probe_args_parse(int argc, char **argv, ProbeArgs *ret, char **ret_error) {
        ProbeArgs args = {
                .probe.warn_days = PROBE_DEFAULT_WARN_DAYS,
                .probe.crit_days = PROBE_DEFAULT_CRIT_DAYS,
                .probe.timeout_usec = PROBE_DEFAULT_TIMEOUT_USEC,
        };
        _cleanup_free_ char *host_option = NULL;
        const char *reason = NULL, *name;
        uint16_t port_option = 0;
        int c, r = 0;

        *ret_error = NULL;
        optind = 0; /* 0, not 1: also resets getopt's internal state, so the parser can run more than once */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hH:p:w:c:t:Vv", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SERVERNAME:
                        if (!*optarg) {
                                r = error_message(ret_error, -EINVAL, "--servername: the name is empty");
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
                                r = error_message(ret_error, -EINVAL, "--path: \"%s\" %s", optarg, reason);
                                goto finish;
                        }
                        r = set_string(&args.probe.path, optarg);
                        break;
                case ARG_PROTOCOL:
                        args.probe.protocol = protocol_from_string(optarg);
                        if (!args.probe.protocol) {
                                char names[PROTOCOL_NAMES_MAX];
                                (void) protocol_names(", ", names, sizeof(names));
                                r = error_message(ret_error, -EINVAL, "--protocol: \"%s\" is not one of %s",
                                                  optarg, names);
                                goto finish;
                        }
                        break;
                case 'H':
                        host_option = mfree(host_option);
                        if (parse_host_option(optarg, &host_option, &reason) < 0) {
                                r = error_message(ret_error, -EINVAL, "-H: \"%s\" %s", optarg,
                                                  reason ?: "is not a host");
                                goto finish;
                        }
                        break;
                case 'p':
                        if (parse_port(optarg, &port_option) < 0) {
                                r = error_message(ret_error, -EINVAL,
                                                  "-p: \"%s\" is not a port (a number from 1 to 65535)",
                                                  optarg);
                                goto finish;
                        }
                        break;
                case 'w':
                case ARG_WARN_DAYS:
                        name = c == 'w' ? "-w" : "--warn-days";
                        if (parse_days(optarg, &args.probe.warn_days) < 0) {
                                r = error_message(ret_error, -EINVAL,
                                                  "%s: \"%s\" is not a number of days (0-3650)", name,
                                                  optarg);
                                goto finish;
                        }
                        args.probe.days_set = true;
                        break;
                case 'c':
                case ARG_CRIT_DAYS:
                        name = c == 'c' ? "-c" : "--crit-days";
                        if (parse_days(optarg, &args.probe.crit_days) < 0) {
                                r = error_message(ret_error, -EINVAL,
                                                  "%s: \"%s\" is not a number of days (0-3650)", name,
                                                  optarg);
                                goto finish;
                        }
                        args.probe.days_set = true;
                        break;
                case ARG_WARN_LIFETIME:
                case ARG_CRIT_LIFETIME:
                        name = c == ARG_WARN_LIFETIME ? "--warn-lifetime" : "--crit-lifetime";
                        if (probe_settings_parse_lifetime(optarg,
                                                          c == ARG_WARN_LIFETIME ? &args.probe.warn_lifetime
                                                                                 : &args.probe.crit_lifetime,
                                                          &reason) < 0) {
                                r = error_message(ret_error, -EINVAL, "%s: \"%s\" %s", name, optarg, reason);
                                goto finish;
                        }
                        break;
                case ARG_RENEWAL_FLOOR:
                        args.probe.renewal_floor_usec = 0;
                        if (strcmp(optarg, "auto") != 0 &&
                            (parse_sec_max(optarg, 3650 * USEC_PER_DAY, &args.probe.renewal_floor_usec) < 0 ||
                             args.probe.renewal_floor_usec == 0)) {
                                r = error_message(
                                        ret_error, -EINVAL,
                                        "--renewal-floor: \"%s\" is not a duration (24h, 2d) up to 3650d, or \"auto\"",
                                        optarg);
                                goto finish;
                        }
                        break;
                case 't':
                case ARG_TIMEOUT:
                        name = c == 't' ? "-t" : "--timeout";
                        if (parse_seconds(optarg, &args.probe.timeout_usec) < 0) {
                                r = error_message(ret_error, -EINVAL,
                                                  "%s: \"%s\" is not a number of seconds (more than 0, at "
                                                  "most 3600)",
                                                  name, optarg);
                                goto finish;
                        }
                        break;
                case 'V':
                        args.version = true;
                        break;
                case 'v':
                        args.verbose++;
                        break;
                case ARG_JSON:
                        args.json = true;
                        break;
                case ARG_MQTT_VERSION:
                        if (probe_settings_parse_mqtt_version(optarg, &args.probe.mqtt_version, &reason) <
                            0) {
                                r = error_message(ret_error, -EINVAL, "--mqtt-version: \"%s\" %s", optarg,
                                                  reason);
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
                case ARG_REVOCATION:
                        if (probe_settings_parse_revocation(optarg, &args.probe.revocation, &reason) < 0) {
                                r = error_message(ret_error, -EINVAL, "--revocation: \"%s\" %s", optarg,
                                                  reason);
                                goto finish;
                        }
                        break;
                case ARG_CRL:
                        args.probe.revocation = REVOCATION_MODE_CRL;
                        break;
                case ARG_EXPECT_ACCEPT:
                        args.probe.mqtt_expect_accept = true;
                        break;
                case ARG_EXPECT_STATUS:
                        if (probe_settings_check_expect_status(optarg, &reason) < 0) {
                                r = error_message(ret_error, -EINVAL, "--expect-status: \"%s\" %s", optarg,
                                                  reason);
                                goto finish;
                        }
                        r = set_string(&args.probe.http_expect_status, optarg);
                        break;
                case ARG_GROUPS: {
                        _cleanup_free_ char *groups = NULL, *error = NULL;
                        r = probe_settings_parse_groups(optarg, &groups, &error);
                        if (r == -EINVAL) {
                                r = error_message(ret_error, -EINVAL, "--groups: %s",
                                                  error ?: "out of memory");
                                goto finish;
                        }
                        if (r >= 0) {
                                free(args.probe.groups);
                                args.probe.groups = TAKE_PTR(groups);
                        }
                        break;
                }
                case ARG_NAME_ONLY_IN_CN:
                        if (probe_settings_parse_severity(optarg, &args.probe.name_only_in_cn, &reason) <
                            0) {
                                r = error_message(ret_error, -EINVAL, "--name-only-in-cn: \"%s\" %s", optarg,
                                                  reason);
                                goto finish;
                        }
                        break;
                case ARG_PIN_SHA256: {
                        /* Repeatable: each adds pins, as a key rollover has the old and the new. */
                        if (probe_settings_check_pins(optarg, &reason) < 0) {
                                r = error_message(ret_error, -EINVAL, "--pin-sha256: \"%s\" %s", optarg,
                                                  reason);
                                goto finish;
                        }
                        char *joined = NULL;
                        if (asprintf(&joined, "%s%s%s", args.probe.pin_sha256 ?: "",
                                     args.probe.pin_sha256 ? " " : "", optarg) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        free(args.probe.pin_sha256);
                        args.probe.pin_sha256 = joined;
                        if (probe_settings_check_pins(joined, &reason) < 0) {
                                r = error_message(ret_error, -EINVAL, "--pin-sha256: %s", "at most 16 pins");
                                goto finish;
                        }
                        r = 0;
                        break;
                }
                case 'h':
                        args.help = true;
                        break;
                case ':':
                        r = error_message(ret_error, -EINVAL, "%s needs a value", argv[optind - 1]);
                        goto finish;
                default:
                        r = error_message(ret_error, -EINVAL, "unknown option \"%s\"", argv[optind - 1]);
                        goto finish;
                }
                if (r < 0)
                        goto finish;
        }

        if (args.help || args.version) {
                *ret = args;
                return 0;
        }

        if (host_option) {
                if (optind < argc) {
                        r = error_message(
                                ret_error, -EINVAL,
                                "give the target either as HOST[:PORT] or with -H, not both (\"%s\")",
                                argv[optind]);
                        goto finish;
                }
                args.probe.host = TAKE_PTR(host_option);
                args.probe.port = port_option ?: PROBE_DEFAULT_PORT;
        } else {
                if (optind >= argc) {
                        r = error_message(ret_error, -EINVAL,
                                          "probe needs a target: HOST[:PORT] or -H HOST");
                        goto finish;
                }
                if (optind + 1 < argc) {
                        r = error_message(ret_error, -EINVAL, "probe takes one target, got \"%s\" too",
                                          argv[optind + 1]);
                        goto finish;
                }
                if (port_option && target_has_port(argv[optind])) {
                        r = error_message(ret_error, -EINVAL,
                                          "\"%s\" names a port and -p another: give the port once",
                                          argv[optind]);
                        goto finish;
                }
                if (parse_host_port(argv[optind], port_option ?: PROBE_DEFAULT_PORT, &args.probe.host,
                                    &args.probe.port, &reason) < 0) {
                        r = error_message(ret_error, -EINVAL, "\"%s\": %s", argv[optind],
                                          reason ?: "invalid target");
                        goto finish;
                }
        }
        r = probe_settings_validate(&args.probe, PROBE_SETTINGS_NAMES_OPTIONS, ret_error);
        if (r < 0)
                goto finish;
        args.probe.protocol = probe_settings_protocol(&args.probe);

        *ret = args;
        return 0;

finish:
        if (r == -ENOMEM && !*ret_error)
                (void) error_message(ret_error, -EINVAL, "out of memory");
        probe_args_clear(&args);
        return r < 0 ? r : -EINVAL;
}

void probe_args_clear(ProbeArgs *args) {
        probe_settings_clear(&args->probe);
        *args = (ProbeArgs){};
}
