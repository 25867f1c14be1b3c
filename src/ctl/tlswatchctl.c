/* SPDX-License-Identifier: MIT */
/* tlswatchctl: the command-line client. `probe` runs one probe against one listener on its own event
 * loop and exits with the Nagios plugin convention, so cron, Icinga or a person can use it directly. */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crl-cache.h"
#include "file-util.h"
#include "discover.h"
#include "inspect.h"
#include "lint.h"
#include "log.h"
#include "probe-args.h"
#include "probe.h"
#include "control-client.h"
#include "plugin-output.h"
#include "probe-output.h"
#include "status-output.h"
#include "report-json.h"
#include "tls.h"
#include "version-util.h"

#define EXIT_USAGE 3 /* UNKNOWN in the plugin convention */

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);

/* The libraries as this process runs them, not as it was built: what a bug report needs. tlswatchctl
 * does not link libcurl (it loads it only to fetch CRLs, src/ctl/curl-lazy.c), so it has none to report. */
static void version(void) {
        _cleanup_free_ char *systemd = NULL;

        printf("%s %s\n", program_invocation_short_name, PACKAGE_VERSION);
        printf("OpenSSL: %s (built with %s)\n", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
        printf("libsystemd: %s\n", version_libsystemd(&systemd) >= 0 ? systemd : "unknown");
}

static void help(void) {
        /* The protocols and the ports that imply them come from the protocol table. */
        char names[PROTOCOL_NAMES_MAX], protocol_option[PROTOCOL_NAMES_MAX + 16], ports[PROTOCOL_NAMES_MAX];

        (void) protocol_names("|", names, sizeof(names));
        snprintf(protocol_option, sizeof(protocol_option), "--protocol %s", names);
        (void) protocol_port_names(ports, sizeof(ports));
        printf("Usage: %s COMMAND [OPTIONS]\n\n"
               "Commands:\n"
               "  probe [OPTIONS] HOST[:PORT]   probe one TLS listener once and report (a Nagios plugin)\n"
               "  probe [OPTIONS] -H HOST [-p PORT]\n"
               "  inspect [--json] FILE...      what certificate and key files hold, and how they chain\n"
               "  lint --certfile F --keyfile F [--cacertfile F] [--ca-file TRUST] [--json]\n"
               "                                check a listener's files against the mapping rules\n"
               "  discover [--mosquitto FILE] [--emqx FILE] [--host NAME] [--write FILE [--force]]\n"
               "                                print [Target] sections for a broker's TLS listeners\n"
               "  status [--json|--nagios] [TARGET]\n"
               "                                the daemon's view of every target (or one); --nagios:\n"
               "                                as a Nagios plugin, a summary line first (fleet check)\n"
               "  check [--json|--nagios] TARGET|--all\n"
               "                                have the daemon probe now and show the result\n"
               "  reload                        have the daemon reload its configuration\n"
               "  metrics                       the daemon's Prometheus metrics\n"
               "  webhooks [--json]             each webhook's queue: pending, failures, last error\n"
               "  webhook-test NAME             queue a test event for the webhook NAME\n\n"
               "Global option (before the command): --socket PATH, else $TLSWATCH_SOCKET, else\n"
               "$RUNTIME_DIRECTORY/control.sock, else /run/tlswatch/control.sock.\n\n"
               "Probe options:\n"
               "  --servername NAME             SNI and the name checked (default: HOST)\n"
               "  --ca-file FILE                trust anchors, PEM (default: the system store)\n"
               "  --cert FILE --key FILE        client certificate and key, for two-way TLS\n"
               "  %-29s default by port: %s\n"
               "  --path PATH                   request path for https (/) and wss (/mqtt)\n"
               "  --mqtt-version 3.1.1|5        MQTT version of the CONNECT (3.1.1)\n"
               "  --client-id ID --username NAME --password-file FILE\n"
               "                                MQTT credentials; the password only from a file\n"
               "  --expect-accept               a refused CONNACK is CRITICAL, not information\n"
               "  --expect-status LIST          https statuses that count as success (2xx 3xx)\n"
               "  --groups LIST                 key-exchange groups to offer, e.g. X25519:P-256\n"
               "                                (default: OpenSSL's)\n"
               "  --name-only-in-cn note|warning|critical\n"
               "                                a name only in the subject CN, not in subjectAltName\n"
               "                                (warning)\n"
               "  --revocation off|crl|crl-warn fetch the path's CRLs: revoked is CRITICAL; unusable\n"
               "                                CRLs a note (crl) or WARNING (crl-warn); --crl = crl\n"
               "  --pin-sha256 PIN              a key (SPKI SHA-256) the path must hold; repeatable\n"
               "  -H, --host HOST -p, --port PORT\n"
               "                                the target, instead of HOST[:PORT] (port 8883)\n"
               "  -w, --warn-days N (30)  -c, --crit-days N (7)\n"
               "                                WARNING/CRITICAL below N days to the earliest notAfter;\n"
               "                                without them, the lifetime policy below alone\n"
               "  --warn-lifetime N%%             renewal_overdue below N%% of the lifetime left\n"
               "                                (default: 33%%, 50%% under 10 days, as ACME clients)\n"
               "  --crit-lifetime N%%             CRITICAL below N%% of the lifetime left\n"
               "  --renewal-floor DURATION|auto CRITICAL with less left (auto: lifetime/6, <= 7d)\n"
               "  -t, --timeout SECONDS (10)    for the whole probe; past it the listener is CRITICAL\n"
               "  -v, --verbose                 as plugins take it; also debug messages on stderr\n"
               "  -V, --version  -h, --help\n"
               "  --json                        print the report as JSON (no perfdata)\n\n"
               "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See tlswatchctl(1).\n",
               program_invocation_short_name, protocol_option, ports);
}

typedef struct ProbeRun {
        sd_event *event;
        Report *report;
} ProbeRun;

static void on_probe_done(Probe *probe, Report *report, void *userdata) {
        ProbeRun *run = userdata;

        run->report = report;
        (void) sd_event_exit(run->event, 0);
}

static const char *tls_setup_error(int r) {
        switch (r) {
        case -EKEYREJECTED:
                return "the client key does not match the client certificate";
        case -EBADMSG:
                return "a file holds no usable PEM certificate or key";
        case -EOPNOTSUPP:
                return "OpenSSL refuses the key-exchange groups of --groups";
        default:
                return file_error_text(r);
        }
}

static int run_probe(int argc, char **argv) {
        _cleanup_(tls_context_cache_freep) TlsContextCache *cache = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        _cleanup_(crl_cache_freep) CrlCache *crls = NULL; /* declared first: freed after the probe */
        _cleanup_(probe_freep) Probe *probe = NULL;
        _cleanup_(report_freep) Report *report = NULL;
        _cleanup_free_ char *error = NULL;
        char *password = NULL;
        ProbeArgs args;
        ProbeRun run = {};
        int r, exit_code = EXIT_USAGE;

        r = probe_args_parse(argc, argv, &args, &error);
        if (r < 0) {
                log_error("%s", error ?: "invalid arguments");
                return EXIT_USAGE;
        }
        if (args.help || args.version) {
                if (args.help)
                        help();
                else
                        version();
                probe_args_clear(&args);
                return 0;
        }
        if (args.verbose > 0)
                log_set_max_level(LOG_DEBUG);

        if (args.probe.mqtt_password_file) {
                r = read_secret(args.probe.mqtt_password_file, &password);
                if (r < 0) {
                        log_error("--password-file %s: %s", args.probe.mqtt_password_file, file_error_text(r));
                        goto finish;
                }
        }

        r = tls_context_cache_new(&cache);
        if (r >= 0) {
                TlsSettings tls = { .ca_file = args.probe.ca_file,
                                    .cert_file = args.probe.cert_file,
                                    .key_file = args.probe.key_file,
                                    .groups = args.probe.groups };
                r = tls_context_cache_get(cache, &tls, &ctx);
        }
        if (r < 0) {
                if (r == -EKEYREJECTED)
                        log_error("%s: %s", args.probe.key_file, tls_setup_error(r));
                else if (args.probe.ca_file && (r == -ENOENT || r == -EACCES || r == -EBADMSG || r == -EISDIR || r == -EBADFD) &&
                         (!args.probe.cert_file || access(args.probe.ca_file, R_OK) < 0))
                        log_error("--ca-file %s: %s", args.probe.ca_file, tls_setup_error(r));
                else if (args.probe.cert_file)
                        log_error("--cert %s / --key %s: %s", args.probe.cert_file, args.probe.key_file, tls_setup_error(r));
                else
                        log_error("cannot set up TLS: %s", tls_setup_error(r));
                goto finish;
        }

        r = sd_event_new(&event);
        if (r < 0) {
                log_error_errno(r, "cannot create the event loop: %m");
                goto finish;
        }

        if (args.probe.revocation != REVOCATION_MODE_OFF) {
                /* The same path as the daemon's: CRLs fetched on this loop, bounded in size and time. */
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                        log_error("cannot initialise libcurl");
                        goto finish;
                }
                r = crl_cache_new(event, &crls);
                if (r < 0) {
                        log_error_errno(r, "cannot set up the CRL cache: %m");
                        goto finish;
                }
        }

        run.event = event;
        r = probe_start(event, &args.probe, ctx, password, on_probe_done, &run, &probe);
        if (r < 0) {
                log_error_errno(r, "cannot start the probe: %m");
                goto finish;
        }
        probe_set_crl_cache(probe, crls);

        r = sd_event_loop(event);
        report = TAKE_PTR(run.report);
        if (r < 0 || !report) {
                log_error_errno(r, "the event loop failed: %m");
                goto finish;
        }

        const ExpiryPolicy expiry = probe_settings_expiry(&args.probe);
        if (args.json) {
                json_t *document = NULL;

                r = report_to_json(report, &document);
                if (r < 0) {
                        log_error_errno(r, "cannot build the JSON report: %m");
                        goto finish;
                }
                r = json_dumpf(document, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | REPORT_JSON_DUMP_FLAGS);
                json_decref(document);
                if (r < 0 || fputc('\n', stdout) == EOF) {
                        log_error("cannot write the JSON report to standard output");
                        goto finish;
                }
        } else if (plugin_output_probe(report, &expiry, args.probe.timeout_usec, stdout) < 0) {
                log_error("out of memory");
                goto finish;
        }

        exit_code = status_to_exit_code(report->status);

finish:
        erase_and_free(password);
        probe_args_clear(&args);
        return exit_code;
}

/* Prints why the daemon gave no answer: a one-line error on stderr, or for a fleet check (`nagios`)
 * the plugin's UNKNOWN line on stdout, which is what Nagios shows. */
static void daemon_error(bool nagios, const char *format, ...) _printf_(2, 3);
static void daemon_error(bool nagios, const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        if (nagios)
                plugin_output_fleet_unknown(message, stdout);
        else
                log_error("%s", message);
}

/* Runs one control request; prints a one-line error and returns NULL when the daemon cannot answer. */
static json_t *call_daemon(const char *socket_option, json_t *request, bool nagios) {
        _cleanup_free_ char *path = control_client_socket_path(socket_option);
        json_t *answer = NULL;
        int r;

        if (!path) {
                json_decref(request);
                daemon_error(nagios, "out of memory");
                return NULL;
        }
        r = control_client_call(path, request, &answer);
        json_decref(request);
        if (r < 0) {
                if (IN_SET(r, -ENOENT, -ECONNREFUSED))
                        daemon_error(nagios, "tlswatchd is not running (nothing listens on %s)", path);
                else if (r == -EACCES)
                        daemon_error(
                                nagios,
                                "%s: permission denied (members of the tlswatch group may read the status)",
                                path);
                else
                        daemon_error(nagios, "%s: %s", path, strerror(-r));
                return NULL;
        }
        if (!json_is_true(json_object_get(answer, "ok"))) {
                daemon_error(nagios, "%s",
                             json_string_value(json_object_get(answer, "error"))
                                     ?: "the daemon refused the request");
                json_decref(answer);
                return NULL;
        }
        return answer;
}

static int run_control_command(const char *socket_option, int argc, char **argv) {
        const char *command = argv[0], *target = NULL;
        bool json = false, all = false, nagios = false;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        json = true;
                else if (strcmp(argv[i], "--nagios") == 0 && IN_SET(command[0], 's', 'c'))
                        nagios = true;
                else if (strcmp(argv[i], "--all") == 0 && strcmp(command, "check") == 0)
                        all = true;
                else if (argv[i][0] == '-') {
                        log_error("%s: unknown option \"%s\"", command, argv[i]);
                        return EXIT_USAGE;
                } else if (!target && (IN_SET(command[0], 's', 'c') || strcmp(command, "webhook-test") == 0))
                        target = argv[i];
                else {
                        log_error("%s: unexpected argument \"%s\"", command, argv[i]);
                        return EXIT_USAGE;
                }
        }
        if (json && nagios) {
                log_error("%s: --json and --nagios are two different outputs; choose one", command);
                return EXIT_USAGE;
        }
        if (strcmp(command, "check") == 0 && !!target == all) {
                log_error("check needs a TARGET or --all");
                return EXIT_USAGE;
        }

        if (strcmp(command, "webhook-test") == 0 && !target) {
                log_error("webhook-test needs the NAME of a webhook");
                return EXIT_USAGE;
        }
        json_t *request = json_pack("{s:s}", "command", command);
        if (target)
                (void) json_object_set_new(request, strcmp(command, "webhook-test") == 0 ? "name" : "target",
                                           json_string(target));
        json_t *answer = call_daemon(socket_option, request, nagios);
        if (!answer)
                return EXIT_USAGE;

        int exit_code = 0;
        if (nagios) {
                /* The fleet check: a `status` answer has "targets" and "webhooks", a `check` answer "reports". */
                json_t *targets = json_object_get(answer,
                                                  strcmp(command, "check") == 0 ? "reports" : "targets");
                exit_code = status_to_exit_code(
                        plugin_output_fleet(targets, json_object_get(answer, "webhooks"), stdout));
        } else if (strcmp(command, "metrics") == 0)
                fputs(json_string_value(json_object_get(answer, "metrics")) ?: "", stdout);
        else if (strcmp(command, "status") == 0) {
                json_t *targets = json_object_get(answer, "targets");
                if (json)
                        (void) json_dumpf(targets, stdout, JSON_INDENT(2) | REPORT_JSON_DUMP_FLAGS);
                Status worst = json ? STATUS_OK : status_output_table(targets, stdout, status_output_use_colour(stdout));
                size_t i;
                json_t *item, *webhook;
                if (json)
                        json_array_foreach(targets, i, item) {
                                Status s = status_from_string(json_string_value(json_object_get(item, "status")));
                                worst = status_worst(worst, s < 0 ? STATUS_UNKNOWN : s);
                        }
                json_array_foreach(json_object_get(answer, "webhooks"), i, webhook) {
                        json_int_t dead = json_integer_value(json_object_get(webhook, "dead_letters"));
                        if (dead <= 0)
                                continue;
                        worst = status_worst(worst, STATUS_WARNING);
                        if (!json)
                                printf("webhook %s: %lld event(s) given up on, in its dead-letter file (tlswatchctl "
                                       "webhooks)\n", json_string_value(json_object_get(webhook, "name")) ?: "?",
                                       (long long) dead);
                }
                if (json)
                        fputc('\n', stdout);
                exit_code = status_to_exit_code(worst);
        } else if (strcmp(command, "check") == 0) {
                json_t *reports = json_object_get(answer, "reports");
                Status worst = STATUS_OK;
                size_t i;
                json_t *report;

                json_array_foreach(reports, i, report) {
                        Status status = status_from_string(json_string_value(json_object_get(report, "status")));
                        worst = status_worst(worst, status < 0 ? STATUS_UNKNOWN : status);
                        if (!json)
                                printf("%s (%s): %s\n", json_string_value(json_object_get(report, "name")) ?: "?",
                                       json_string_value(json_object_get(report, "target")) ?: "?",
                                       json_string_value(json_object_get(report, "status")) ?: "?");
                }
                if (json) {
                        (void) json_dumpf(reports, stdout, JSON_INDENT(2) | REPORT_JSON_DUMP_FLAGS);
                        fputc('\n', stdout);
                }
                exit_code = status_to_exit_code(worst);
        } else if (strcmp(command, "webhooks") == 0) {
                json_t *webhooks = json_object_get(answer, "webhooks");
                size_t i;
                json_t *w;

                if (json)
                        (void) json_dumpf(webhooks, stdout, JSON_INDENT(2) | REPORT_JSON_DUMP_FLAGS);
                else
                        printf("%-20s %8s %8s %12s  %s\n", "WEBHOOK", "PENDING", "FAILURES", "DEAD LETTERS", "LAST ERROR");
                json_array_foreach(webhooks, i, w) {
                        if (!json)
                                printf("%-20s %8lld %8lld %12lld  %s\n", json_string_value(json_object_get(w, "name")) ?: "?",
                                       (long long) json_integer_value(json_object_get(w, "pending")),
                                       (long long) json_integer_value(json_object_get(w, "failures_total")),
                                       (long long) json_integer_value(json_object_get(w, "dead_letters")),
                                       json_string_value(json_object_get(w, "last_error")) ?: "-");
                        if (json_integer_value(json_object_get(w, "dead_letters")) > 0)
                                exit_code = 1;
                }
                /* Events sitting in the spool unsent for good, unless someone fixes the files. */
                json_array_foreach(webhooks, i, w) {
                        json_int_t unreadable = json_integer_value(json_object_get(w, "spool_unreadable"));
                        if (unreadable <= 0)
                                continue;
                        exit_code = 1;
                        if (!json)
                                printf("webhook %s: %lld spool file(s) cannot be read and stay unsent (the daemon's "
                                       "log names them)\n",
                                       json_string_value(json_object_get(w, "name")) ?: "?", (long long) unreadable);
                }
                if (json)
                        fputc('\n', stdout);
        } else if (strcmp(command, "webhook-test") == 0)
                printf("queued a test event for %s\n", target);
        else
                printf("reloaded\n");

        json_decref(answer);
        return exit_code;
}

int main(int argc, char **argv) {
        /* A listener that closes while we write must cost us a problem code, not the process. */
        (void) signal(SIGPIPE, SIG_IGN);

        if (argc < 2) {
                help();
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                help();
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                version();
                return 0;
        }
        const char *socket_option = NULL;
        int first = 1;
        if (strcmp(argv[1], "--socket") == 0 && argc > 2) {
                socket_option = argv[2];
                first = 3;
        } else if (strncmp(argv[1], "--socket=", 9) == 0) {
                socket_option = argv[1] + 9;
                first = 2;
        }
        if (first >= argc) {
                help();
                return EXIT_USAGE;
        }

        if (strcmp(argv[first], "probe") == 0)
                return run_probe(argc - first, argv + first);
        if (strcmp(argv[first], "inspect") == 0)
                return inspect_run(argc - first, argv + first);
        if (strcmp(argv[first], "lint") == 0)
                return lint_run(argc - first, argv + first);
        if (strcmp(argv[first], "discover") == 0)
                return discover_run(argc - first, argv + first);
        if (IN_SET(argv[first][0], 's', 'c', 'r', 'm') &&
            (strcmp(argv[first], "status") == 0 || strcmp(argv[first], "check") == 0 ||
             strcmp(argv[first], "reload") == 0 || strcmp(argv[first], "metrics") == 0))
                return run_control_command(socket_option, argc - first, argv + first);
        if (strcmp(argv[first], "webhooks") == 0 || strcmp(argv[first], "webhook-test") == 0)
                return run_control_command(socket_option, argc - first, argv + first);

        log_error("unknown command \"%s\"; try --help", argv[first]);
        return EXIT_USAGE;
}
