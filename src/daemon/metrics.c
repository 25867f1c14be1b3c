/* SPDX-License-Identifier: MIT */
/* Metrics formatting. One HELP and TYPE line per family, then its samples; label values escaped as the
 * exposition format requires (backslash, double quote, newline); times as Unix seconds. Written
 * straight from the targets' state and reports, one family after the other, into the caller's FILE. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"
#include "report-json.h"

static void write_label_value(FILE *f, const char *value) {
        for (const char *c = value ?: ""; *c; c++) {
                if (*c == '\\' || *c == '"')
                        fprintf(f, "\\%c", *c);
                else if (*c == '\n')
                        fputs("\\n", f);
                else
                        fputc(*c, f);
        }
}

/* "TLSv1.3" -> "TLS 1.3", as the blackbox exporter labels versions. */
static void tls_version_label(const char *version, char *buffer, size_t size) {
        if (version && strncmp(version, "TLSv", 4) == 0)
                snprintf(buffer, size, "TLS %s", version[4] ? version + 4 : "1.0");
        else
                snprintf(buffer, size, "%s", version ?: "unknown");
        if (strcmp(buffer, "TLS 1") == 0)
                snprintf(buffer, size, "TLS 1.0");
}

typedef enum Family {
        FAMILY_SUCCESS,
        FAMILY_DURATION,
        FAMILY_EARLIEST_EXPIRY,
        FAMILY_CHAIN_EXPIRY,
        FAMILY_TLS_VERSION,
        FAMILY_TARGET_STATUS,
        FAMILY_PROBLEM,
        FAMILY_CERT_NOT_AFTER,
        _FAMILY_MAX,
} Family;

static const struct {
        const char *name;
        const char *help;
} families[_FAMILY_MAX] = {
        [FAMILY_SUCCESS] = { "probe_success", "Whether the last probe of the address found nothing critical." },
        [FAMILY_DURATION] = { "probe_duration_seconds", "How long the last probe of the address took." },
        [FAMILY_EARLIEST_EXPIRY] = { "probe_ssl_earliest_cert_expiry",
                                     "The earliest notAfter on the served chain, as a Unix time." },
        [FAMILY_CHAIN_EXPIRY] = { "probe_ssl_last_chain_expiry_timestamp_seconds",
                                  "The earliest notAfter on the verified chain, as a Unix time." },
        [FAMILY_TLS_VERSION] = { "probe_tls_version_info", "The TLS version the address negotiated." },
        [FAMILY_TARGET_STATUS] = { "tlswatch_target_status", "The target's state: 0 ok, 1 warning, 2 critical, 3 unknown." },
        [FAMILY_PROBLEM] = { "tlswatch_problem", "A problem the target has now, by code." },
        [FAMILY_CERT_NOT_AFTER] = { "tlswatch_cert_not_after_seconds",
                                    "Each certificate's notAfter on the address's path, by depth, as a Unix time." },
};

static void write_labels(FILE *f, const MetricsTarget *target, const AddressReport *address) {
        fputs("{target=\"", f);
        write_label_value(f, target->name);
        fputs("\"", f);
        if (address) {
                fputs(",address=\"", f);
                write_label_value(f, address->address);
                fputs("\"", f);
        }
        fputs(",protocol=\"", f);
        write_label_value(f, target->protocol);
        fputs("\"", f);
}

static bool status_is_success(Status status) {
        return IN_SET(status, STATUS_OK, STATUS_WARNING);
}

static void write_address(FILE *f, Family family, const MetricsTarget *target, const AddressReport *a) {
        const char *name = families[family].name;
        int64_t earliest = INT64_MAX, earliest_sent = INT64_MAX;

        for (size_t k = 0; k < a->n_chain; k++) {
                int64_t t = a->chain[k].certificate->not_after;
                earliest = MIN(earliest, t);
                if (a->chain[k].sent)
                        earliest_sent = MIN(earliest_sent, t);
        }

        switch (family) {
        case FAMILY_SUCCESS:
                fputs(name, f);
                write_labels(f, target, a);
                fprintf(f, "} %d\n", status_is_success(a->status));
                break;
        case FAMILY_DURATION:
                fputs(name, f);
                write_labels(f, target, a);
                fprintf(f, "} %.6f\n", (double) a->duration_usec / 1e6);
                break;
        case FAMILY_EARLIEST_EXPIRY:
        case FAMILY_CHAIN_EXPIRY: {
                int64_t value = family == FAMILY_EARLIEST_EXPIRY ? earliest_sent : earliest;
                if (value == INT64_MAX)
                        break;
                fputs(name, f);
                write_labels(f, target, a);
                fprintf(f, "} %lld\n", (long long) value);
                break;
        }
        case FAMILY_TLS_VERSION: {
                char label[32];
                if (!a->tls_version)
                        break;
                tls_version_label(a->tls_version, label, sizeof(label));
                fputs(name, f);
                write_labels(f, target, a);
                fputs(",version=\"", f);
                write_label_value(f, label);
                fputs("\"} 1\n", f);
                break;
        }
        case FAMILY_CERT_NOT_AFTER:
                for (size_t k = 0; k < a->n_chain; k++) {
                        fputs(name, f);
                        write_labels(f, target, a);
                        fprintf(f, ",depth=\"%zu\"} %lld\n", k, (long long) a->chain[k].certificate->not_after);
                }
                break;
        default:
                break;
        }
}

static void write_family(FILE *f, Family family, metrics_target_func get, void *userdata) {
        const char *name = families[family].name;
        MetricsTarget target;

        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, families[family].help, name);

        for (size_t i = 0; get(userdata, i, &target); i++) {
                const Report *report = target.report;

                if (family == FAMILY_TARGET_STATUS) {
                        /* The documented values, not Status's own order (which sorts by severity). */
                        static const int value[_STATUS_MAX] = {
                                [STATUS_OK] = 0, [STATUS_WARNING] = 1, [STATUS_CRITICAL] = 2, [STATUS_UNKNOWN] = 3,
                        };
                        Status status = target.state->status;
                        fputs(name, f);
                        write_labels(f, &target, NULL);
                        fprintf(f, "} %d\n", status >= 0 && status < _STATUS_MAX ? value[status] : 3);
                        continue;
                }
                if (family == FAMILY_PROBLEM) {
                        for (size_t j = 0; j < target.state->problems.n; j++) {
                                const Problem *p = &target.state->problems.items[j];
                                fputs(name, f);
                                write_labels(f, &target, NULL);
                                fputs(",code=\"", f);
                                write_label_value(f, problem_code_to_string(p->code));
                                fputs("\",severity=\"", f);
                                write_label_value(f, problem_severity_to_string(p->severity));
                                fputs("\"} 1\n", f);
                        }
                        continue;
                }
                if (!report)
                        continue;
                if (family == FAMILY_SUCCESS && report->n_addresses == 0) {
                        fputs(name, f);
                        write_labels(f, &target, NULL);
                        fprintf(f, "} %d\n", status_is_success(report->status));
                }
                for (size_t j = 0; j < report->n_addresses; j++)
                        write_address(f, family, &target, &report->addresses[j]);
        }
}

static void write_webhooks(FILE *f, json_t *webhooks) {
        static const struct {
                const char *name, *type, *help, *member;
        } webhook_families[] = {
                { "tlswatch_webhook_pending", "gauge", "Events queued for the webhook.", "pending" },
                { "tlswatch_webhook_failures_total", "counter", "Failed delivery attempts since the start.",
                  "failures_total" },
                { "tlswatch_webhook_last_success_seconds", "gauge", "When a delivery last succeeded, as a Unix time.",
                  "last_success_unix" },
                { "tlswatch_webhook_dead_letters", "gauge", "Events given up on since the start (in the .dead file).",
                  "dead_letters" },
        };
        size_t i;
        json_t *webhook;

        for (size_t family = 0; family < ELEMENTSOF(webhook_families); family++) {
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", webhook_families[family].name, webhook_families[family].help,
                        webhook_families[family].name, webhook_families[family].type);
                json_array_foreach(webhooks, i, webhook) {
                        json_t *value = json_object_get(webhook, webhook_families[family].member);
                        if (!json_is_integer(value))
                                continue;
                        fprintf(f, "%s{webhook=\"", webhook_families[family].name);
                        write_label_value(f, json_string_value(json_object_get(webhook, "name")));
                        fprintf(f, "\"} %lld\n", (long long) json_integer_value(value));
                }
        }
}

int metrics_write(FILE *f, metrics_target_func get, void *userdata, json_t *webhooks) {
        assert(f);
        assert(get);

        for (Family family = 0; family < _FAMILY_MAX; family++)
                write_family(f, family, get, userdata);
        if (webhooks)
                write_webhooks(f, webhooks);
        return ferror(f) ? -EIO : 0;
}

int metrics_format(metrics_target_func get, void *userdata, json_t *webhooks, char **ret) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        int r;

        assert(ret);
        if (!f)
                return -ENOMEM;
        r = metrics_write(f, get, userdata, webhooks);
        if (fclose(f) != 0 || r < 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}
