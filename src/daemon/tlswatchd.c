/* SPDX-License-Identifier: MIT */
/* tlswatchd: the monitoring service. A thin main: options, then the manager does the work, in the
 * foreground, under systemd (Type=notify) or once for cron and CI (--once). */
#include <curl/curl.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "version-util.h"

/* The libraries as this process runs them, not as it was built: what a bug report needs. */
static void version(void) {
        _cleanup_free_ char *systemd = NULL;

        printf("%s %s\n", program_invocation_short_name, PACKAGE_VERSION);
        printf("OpenSSL: %s (built with %s)\n", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
        printf("libcurl: %s (built with %s)\n", curl_version_info(CURLVERSION_NOW)->version, LIBCURL_VERSION);
        printf("libsystemd: %s\n", version_libsystemd(&systemd) >= 0 ? systemd : "unknown");
}

static void help(void) {
        printf("Usage: %s [OPTIONS]\n\n"
               "Watches the TLS listeners configured in %s (and conf.d/*.conf beside it).\n\n"
               "  -c, --config FILE        the main configuration file\n"
               "      --check-config       validate the configuration and exit (non-zero on any error)\n"
               "      --once               probe every target once, print the results, exit with the worst\n"
               "                           status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)\n"
               "      --json               with --once: print a JSON array of reports\n"
               "      --state-directory DIR  where the state survives restarts (default $STATE_DIRECTORY,\n"
               "                           else %s/lib/tlswatch)\n"
               "  -v, --verbose            log debugging details\n"
               "  -h, --help  --version\n\n"
               "See tlswatchd(8) and tlswatch.conf(5).\n",
               program_invocation_short_name, CONFIG_DEFAULT_FILE, LOCALSTATEDIR);
}

int main(int argc, char **argv) {
        enum { ARG_CHECK_CONFIG = 0x100, ARG_ONCE, ARG_JSON, ARG_STATE_DIRECTORY, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "once", no_argument, NULL, ARG_ONCE },
                { "json", no_argument, NULL, ARG_JSON },
                { "state-directory", required_argument, NULL, ARG_STATE_DIRECTORY },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        ManagerOptions manager_options = { .config_file = CONFIG_DEFAULT_FILE };
        _cleanup_(manager_freep) Manager *manager = NULL;
        _cleanup_free_ char *error = NULL;
        bool check_config = false;
        int c, r;

        /* A listener that closes while we write must cost a problem code, not the process. */
        (void) signal(SIGPIPE, SIG_IGN);
        /* The process holds MQTT passwords, webhook tokens and HMAC secrets, and OpenSSL holds client
         * keys: a core dump would copy them all to disk. Not dumpable also keeps unprivileged users
         * from attaching a debugger; root still can. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                log_warning("cannot disable core dumps: %m");
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("cannot initialise libcurl");
                return 1;
        }
        log_set_max_level(LOG_INFO);

        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        manager_options.config_file = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        check_config = true;
                        break;
                case ARG_ONCE:
                        manager_options.once = true;
                        break;
                case ARG_JSON:
                        manager_options.json = true;
                        break;
                case ARG_STATE_DIRECTORY:
                        manager_options.state_directory = optarg;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        version();
                        return 0;
                default:
                        return 3;
                }
        if (optind < argc) {
                log_error("unexpected argument \"%s\"; see --help", argv[optind]);
                return 3;
        }
        if (manager_options.json && !manager_options.once) {
                log_error("--json goes with --once");
                return 3;
        }

        /* Checking loads exactly what a start would (files, trust stores, client keys), touching no state. */
        if (check_config)
                manager_options.once = manager_options.check_only = true;

        r = manager_new(&manager_options, &manager, &error);
        if (r < 0) {
                if (error)
                        log_error("%s", error);
                else
                        log_error_errno(r, "cannot start: %m");
                return check_config || manager_options.once ? 3 : 1;
        }
        if (check_config) {
                printf("%s: configuration OK\n", manager_options.config_file);
                return 0;
        }
        return manager_run(manager);
}
