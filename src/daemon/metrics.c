/* SPDX-License-Identifier: MIT */
/* Metrics formatting. One HELP and TYPE line per family, then its samples; label values escaped as the
 * exposition format requires (backslash, double quote, newline); times as Unix seconds. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "metrics.h"

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

/* "2027-02-24T23:54:55Z" -> Unix seconds, or -1. */
static long long iso_to_unix(const char *text) {
        struct tm tm = {};
        const char *end;

        if (!text)
                return -1;
        end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return -1;
        return (long long) timegm(&tm);
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

static void write_labels(FILE *f, json_t *target, json_t *address) {
        fputs("{target=\"", f);
        write_label_value(f, json_string_value(json_object_get(target, "name")));
        fputs("\"", f);
        if (address) {
                fputs(",address=\"", f);
                write_label_value(f, json_string_value(json_object_get(address, "address")));
                fputs("\"", f);
        }
        fputs(",protocol=\"", f);
        write_label_value(f, json_string_value(json_object_get(target, "protocol")));
        fputs("\"", f);
}

static void write_family(FILE *f, Family family, json_t *targets) {
        size_t i, j, k;
        json_t *target, *address, *problem, *certificate;

        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", families[family].name, families[family].help,
                families[family].name);

        json_array_foreach(targets, i, target) {
                json_t *report = json_object_get(target, "report");
                json_t *addresses = json_object_get(report, "addresses");

                if (family == FAMILY_TARGET_STATUS) {
                        static const char *const order[] = { "ok", "warning", "critical", "unknown" };
                        const char *status = json_string_value(json_object_get(target, "status")) ?: "unknown";
                        int value = 3;
                        for (int s = 0; s < 4; s++)
                                if (strcmp(status, order[s]) == 0)
                                        value = s;
                        fputs(families[family].name, f);
                        write_labels(f, target, NULL);
                        fprintf(f, "} %d\n", value);
                        continue;
                }
                if (family == FAMILY_PROBLEM) {
                        json_array_foreach(json_object_get(target, "problems"), j, problem) {
                                fputs(families[family].name, f);
                                write_labels(f, target, NULL);
                                fputs(",code=\"", f);
                                write_label_value(f, json_string_value(json_object_get(problem, "code")));
                                fputs("\",severity=\"", f);
                                write_label_value(f, json_string_value(json_object_get(problem, "severity")));
                                fputs("\"} 1\n", f);
                        }
                        continue;
                }

                if (family == FAMILY_SUCCESS && report && json_array_size(addresses) == 0) {
                        const char *status = json_string_value(json_object_get(report, "status")) ?: "unknown";
                        fputs(families[family].name, f);
                        write_labels(f, target, NULL);
                        fprintf(f, "} %d\n", strcmp(status, "ok") == 0 || strcmp(status, "warning") == 0);
                }
                json_array_foreach(addresses, j, address) {
                        json_t *chain = json_object_get(address, "chain");
                        const char *status = json_string_value(json_object_get(address, "status")) ?: "unknown";
                        long long earliest = -1, earliest_sent = -1;

                        json_array_foreach(chain, k, certificate) {
                                long long t = iso_to_unix(json_string_value(json_object_get(certificate, "not_after")));
                                if (t < 0)
                                        continue;
                                if (earliest < 0 || t < earliest)
                                        earliest = t;
                                if (json_is_true(json_object_get(certificate, "sent")) &&
                                    (earliest_sent < 0 || t < earliest_sent))
                                        earliest_sent = t;
                        }

                        switch (family) {
                        case FAMILY_SUCCESS:
                                fputs(families[family].name, f);
                                write_labels(f, target, address);
                                fprintf(f, "} %d\n", strcmp(status, "ok") == 0 || strcmp(status, "warning") == 0);
                                break;
                        case FAMILY_DURATION:
                                fputs(families[family].name, f);
                                write_labels(f, target, address);
                                fprintf(f, "} %.6f\n", json_number_value(json_object_get(address, "duration_seconds")));
                                break;
                        case FAMILY_EARLIEST_EXPIRY:
                        case FAMILY_CHAIN_EXPIRY: {
                                long long value = family == FAMILY_EARLIEST_EXPIRY ? earliest_sent : earliest;
                                if (value < 0)
                                        break;
                                fputs(families[family].name, f);
                                write_labels(f, target, address);
                                fprintf(f, "} %lld\n", value);
                                break;
                        }
                        case FAMILY_TLS_VERSION: {
                                const char *version = json_string_value(
                                        json_object_get(json_object_get(address, "tls"), "version"));
                                char label[32];
                                if (!version)
                                        break;
                                tls_version_label(version, label, sizeof(label));
                                fputs(families[family].name, f);
                                write_labels(f, target, address);
                                fputs(",version=\"", f);
                                write_label_value(f, label);
                                fputs("\"} 1\n", f);
                                break;
                        }
                        case FAMILY_CERT_NOT_AFTER:
                                json_array_foreach(chain, k, certificate) {
                                        long long t = iso_to_unix(json_string_value(json_object_get(certificate, "not_after")));
                                        if (t < 0)
                                                continue;
                                        fputs(families[family].name, f);
                                        write_labels(f, target, address);
                                        fprintf(f, ",depth=\"%zu\"} %lld\n", k, t);
                                }
                                break;
                        default:
                                break;
                        }
                }
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
                  "last_success" },
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

int metrics_format(json_t *targets, json_t *webhooks, char **ret) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        for (Family family = 0; family < _FAMILY_MAX; family++)
                write_family(f, family, targets);
        if (webhooks)
                write_webhooks(f, webhooks);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}
