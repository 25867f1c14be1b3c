/* SPDX-License-Identifier: MIT */
/* The lint command: reads the files, builds the trust store (--ca-file or the system's), and reports
 * like probe does, so the same eyes and the same scripts read both. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cert-lint.h"
#include "lint.h"
#include "log.h"
#include "probe-output.h"
#include "report-json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free);

static int load(const char *option, const char *path, CertFile **ret) {
        int r = cert_file_load(path, ret);

        if (r < 0)
                log_error("%s %s: %s", option, path, r == -EISDIR ? "is a directory" : strerror(-r));
        return r;
}

int lint_run(int argc, char **argv) {
        enum { ARG_CERTFILE = 0x100, ARG_KEYFILE, ARG_CACERTFILE, ARG_CA_FILE, ARG_WARN, ARG_CRIT, ARG_JSON };
        static const struct option options[] = {
                { "certfile", required_argument, NULL, ARG_CERTFILE },
                { "keyfile", required_argument, NULL, ARG_KEYFILE },
                { "cacertfile", required_argument, NULL, ARG_CACERTFILE },
                { "ca-file", required_argument, NULL, ARG_CA_FILE },
                { "warn-days", required_argument, NULL, ARG_WARN },
                { "crit-days", required_argument, NULL, ARG_CRIT },
                { "json", no_argument, NULL, ARG_JSON },
                {}
        };
        const char *certfile = NULL, *keyfile = NULL, *cacertfile = NULL, *ca_file = NULL;
        _cleanup_(cert_file_freep) CertFile *cert = NULL, *key = NULL, *cacert = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *trust = NULL;
        _cleanup_(report_freep) Report *report = NULL;
        ExpiryPolicy expiry = {
                .warn_days = EXPIRY_DEFAULT_WARN_DAYS,
                .crit_days = EXPIRY_DEFAULT_CRIT_DAYS,
        };
        bool json = false;
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0)
                switch (c) {
                case ARG_CERTFILE:
                        certfile = optarg;
                        break;
                case ARG_KEYFILE:
                        keyfile = optarg;
                        break;
                case ARG_CACERTFILE:
                        cacertfile = optarg;
                        break;
                case ARG_CA_FILE:
                        ca_file = optarg;
                        break;
                case ARG_WARN:
                case ARG_CRIT: {
                        char *end = NULL;
                        unsigned long days = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || days > 3650) {
                                log_error("%s: \"%s\" is not a number of days", argv[optind - 1], optarg);
                                return 3;
                        }
                        *(c == ARG_WARN ? &expiry.warn_days : &expiry.crit_days) = (unsigned) days;
                        expiry.days_set = true;
                        break;
                }
                case ARG_JSON:
                        json = true;
                        break;
                default:
                        log_error("lint: unknown option or missing value \"%s\"", argv[optind - 1]);
                        return 3;
                }
        if (!certfile || !keyfile || optind < argc) {
                log_error("lint needs --certfile FILE and --keyfile FILE (and optionally --cacertfile FILE)");
                return 3;
        }

        if (load("--certfile", certfile, &cert) < 0 || load("--keyfile", keyfile, &key) < 0 ||
            (cacertfile && load("--cacertfile", cacertfile, &cacert) < 0))
                return 3;

        trust = X509_STORE_new();
        if (!trust || (ca_file ? X509_STORE_load_file(trust, ca_file) : X509_STORE_set_default_paths(trust)) != 1) {
                log_error("--ca-file %s: no usable certificates", ca_file ?: "(system store)");
                return 3;
        }

        struct stat st;
        report = calloc(1, sizeof(Report));
        if (!report || !report_add_address(report, "files")) {
                log_error("out of memory");
                return 3;
        }
        report->target = strdup(certfile);
        report->server_name = strdup("");
        report->protocol = strdup("files");

        LintInput input = {
                .certfile = cert,
                .keyfile = key,
                .cacertfile = cacert,
                .key_mode = stat(keyfile, &st) == 0 ? (int) (st.st_mode & 07777) : -1,
                .trust = trust,
                .now = time(NULL),
                .expiry = expiry,
        };
        if (cert_lint(&input, &report->addresses[0]) < 0 || report_finalize(report) < 0) {
                log_error("out of memory");
                return 3;
        }

        if (json) {
                json_t *document = NULL;
                if (report_to_json(report, &document) < 0)
                        return 3;
                (void) json_object_set_new(document, "certfile", json_string(certfile));
                (void) json_object_set_new(document, "keyfile", json_string(keyfile));
                if (cacertfile)
                        (void) json_object_set_new(document, "cacertfile", json_string(cacertfile));
                (void) json_dumpf(document, stdout, JSON_INDENT(2) | REPORT_JSON_DUMP_FLAGS);
                putchar('\n');
                json_decref(document);
        } else
                probe_output_human(report, stdout);
        return status_to_exit_code(report->status);
}
