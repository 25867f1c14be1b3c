/* SPDX-License-Identifier: MIT */
/* Metrics formatting. One HELP and TYPE line per family, then its samples; label values escaped as the
 * exposition format requires (backslash, double quote, newline); times as Unix seconds. Written
 * straight from the targets' state and reports, one family after the other, into the caller's FILE. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "expiry-policy.h"
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

/* A sample being written: its name, then labels as they come (the first opens the braces), then the
 * value. Without labels there are no braces at all. */
typedef struct Sample {
        FILE *f;
        unsigned n_labels;
} Sample;

static Sample sample_begin(FILE *f, const char *name) {
        fputs(name, f);
        return (Sample) { .f = f };
}

static void sample_label(Sample *s, const char *name, const char *value) {
        fputc(s->n_labels++ ? ',' : '{', s->f);
        fprintf(s->f, "%s=\"", name);
        write_label_value(s->f, value);
        fputc('"', s->f);
}

static void sample_value(Sample *s, const char *format, ...) _printf_(2, 3);
static void sample_value(Sample *s, const char *format, ...) {
        va_list ap;

        fputs(s->n_labels ? "} " : " ", s->f);
        va_start(ap, format);
        vfprintf(s->f, format, ap);
        va_end(ap);
        fputc('\n', s->f);
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
        FAMILY_CHAIN_INFO,
        FAMILY_TLS_VERSION,
        FAMILY_TLS_GROUP,
        FAMILY_TARGET_STATUS,
        FAMILY_PROBLEM,
        FAMILY_CERT_NOT_AFTER,
        FAMILY_LAST_PROBE,
        FAMILY_CERT_LIFETIME,
        FAMILY_CERT_LIFETIME_LEFT,
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
        [FAMILY_CHAIN_INFO] = { "probe_ssl_last_chain_info", "The leaf certificate the address served." },
        [FAMILY_TLS_VERSION] = { "probe_tls_version_info", "The TLS version the address negotiated." },
        [FAMILY_TLS_GROUP] = { "tlswatch_tls_group_info",
                               "The key-exchange group the address negotiated (X25519, P-256, ...)." },
        [FAMILY_TARGET_STATUS] = { "tlswatch_target_status", "The target's state: 0 ok, 1 warning, 2 critical, 3 unknown." },
        [FAMILY_PROBLEM] = { "tlswatch_problem", "A problem the target has now, by code." },
        [FAMILY_CERT_NOT_AFTER] = { "tlswatch_cert_not_after_seconds",
                                    "Each certificate's notAfter on the address's path, by depth, as a Unix time." },
        [FAMILY_LAST_PROBE] = { "tlswatch_last_probe_timestamp_seconds",
                                "When the target's last probe finished, as a Unix time." },
        [FAMILY_CERT_LIFETIME] = { "tlswatch_cert_lifetime_seconds",
                                   "Each certificate's lifetime (notAfter - notBefore) on the address's "
                                   "path, by depth." },
        [FAMILY_CERT_LIFETIME_LEFT] = { "tlswatch_cert_lifetime_left_ratio",
                                        "The fraction of each certificate's lifetime left at the last "
                                        "probe, by depth: ACME clients renew below 1/3 (1/2 under 10 "
                                        "days)." },
};

/* The labels that say which listener a sample is about (none in /probe's answer: a target without a
 * name), and from where it was probed: Vantage=, so that sites' series stay apart when federated. */
static void sample_target(Sample *s, const MetricsTarget *target, const AddressReport *address) {
        if (!target)
                return;
        if (target->vantage)
                sample_label(s, "vantage", target->vantage);
        if (!target->name)
                return;
        if (target->host) {
                char instance[300];
                snprintf(instance, sizeof(instance), strchr(target->host, ':') ? "[%s]:%u" : "%s:%u", target->host,
                         (unsigned) target->port);
                sample_label(s, "instance", instance);
        }
        sample_label(s, "target", target->name);
        if (address)
                sample_label(s, "address", address->address);
        sample_label(s, "protocol", target->protocol);
}

static Sample sample_begin_target(FILE *f, Family family, const MetricsTarget *target,
                                  const AddressReport *address) {
        Sample s = sample_begin(f, families[family].name);
        sample_target(&s, target, address);
        return s;
}

static bool status_is_success(Status status) {
        return IN_SET(status, STATUS_OK, STATUS_WARNING);
}

/* The earliest notAfter of the chain (sent_only: of the certificates the listener sent), INT64_MAX if none. */
static int64_t earliest_not_after(const AddressReport *a, bool sent_only) {
        int64_t earliest = INT64_MAX;

        for (size_t k = 0; k < a->n_chain; k++)
                if (!sent_only || a->chain[k].sent)
                        earliest = MIN(earliest, a->chain[k].certificate->not_after);
        return earliest;
}

/* probe_ssl_last_chain_info's labels as the blackbox exporter has them: the SANs comma-separated.
 * There is no serialnumber label: reports do not keep the serial. */
static void write_chain_info(FILE *f, const MetricsTarget *label_target, const AddressReport *a) {
        const Certificate *leaf;
        char sha256[65];

        if (a->n_chain == 0)
                return;
        leaf = a->chain[0].certificate;
        certificate_sha256_hex(leaf, sha256);
        Sample s = sample_begin_target(f, FAMILY_CHAIN_INFO, label_target, a);
        sample_label(&s, "fingerprint_sha256", sha256);
        sample_label(&s, "subject", leaf->subject);
        sample_label(&s, "issuer", leaf->issuer);
        fputs(",subjectalternative=\"", f);
        for (size_t i = 0; i < leaf->n_subject_alt_names; i++) {
                if (i > 0)
                        fputc(',', f);
                write_label_value(f, leaf->subject_alt_names[i]);
        }
        fputc('"', f);
        sample_value(&s, "1");
}

static void write_tls_version(FILE *f, const MetricsTarget *label_target, const AddressReport *a) {
        char label[32];

        if (!a->tls_version)
                return;
        tls_version_label(a->tls_version, label, sizeof(label));
        Sample s = sample_begin_target(f, FAMILY_TLS_VERSION, label_target, a);
        sample_label(&s, "version", label);
        sample_value(&s, "1");
}

/* A family of its own rather than a label of probe_tls_version_info, whose labels are the blackbox
 * exporter's: queries written for that one keep working. */
static void write_tls_group(FILE *f, const MetricsTarget *label_target, const AddressReport *a) {
        if (!a->tls_version || !a->group[0])
                return;
        Sample s = sample_begin_target(f, FAMILY_TLS_GROUP, label_target, a);
        sample_label(&s, "group", a->group);
        sample_value(&s, "1");
}

static void write_address(FILE *f, Family family, const MetricsTarget *target, const AddressReport *a) {
        Sample s;

        switch (family) {
        case FAMILY_SUCCESS:
                s = sample_begin_target(f, family, target, a);
                sample_value(&s, "%d", status_is_success(a->status));
                break;
        case FAMILY_DURATION:
                s = sample_begin_target(f, family, target, a);
                sample_value(&s, "%.6f", (double) a->duration_usec / 1e6);
                break;
        case FAMILY_EARLIEST_EXPIRY:
        case FAMILY_CHAIN_EXPIRY: {
                int64_t value = earliest_not_after(a, family == FAMILY_EARLIEST_EXPIRY);
                if (value == INT64_MAX)
                        break;
                s = sample_begin_target(f, family, target, a);
                sample_value(&s, "%lld", (long long) value);
                break;
        }
        case FAMILY_CHAIN_INFO:
                write_chain_info(f, target, a);
                break;
        case FAMILY_TLS_VERSION:
                write_tls_version(f, target, a);
                break;
        case FAMILY_TLS_GROUP:
                write_tls_group(f, target, a);
                break;
        case FAMILY_CERT_NOT_AFTER:
                for (size_t k = 0; k < a->n_chain; k++) {
                        char depth[24];
                        snprintf(depth, sizeof(depth), "%zu", k);
                        s = sample_begin_target(f, family, target, a);
                        sample_label(&s, "depth", depth);
                        sample_value(&s, "%lld", (long long) a->chain[k].certificate->not_after);
                }
                break;
        case FAMILY_CERT_LIFETIME:
        case FAMILY_CERT_LIFETIME_LEFT:
                for (size_t k = 0; k < a->n_chain; k++) {
                        const Certificate *c = a->chain[k].certificate;
                        char depth[24];
                        if (c->not_before <= 0 || c->not_after <= c->not_before)
                                continue; /* no lifetime known */
                        snprintf(depth, sizeof(depth), "%zu", k);
                        s = sample_begin_target(f, family, target, a);
                        sample_label(&s, "depth", depth);
                        if (family == FAMILY_CERT_LIFETIME)
                                sample_value(&s, "%lld", (long long) (c->not_after - c->not_before));
                        else
                                sample_value(&s, "%.6f",
                                             expiry_left_fraction(c->not_before, c->not_after,
                                                                  a->checked_at));
                }
                break;
        default:
                break;
        }
}

static void write_header(FILE *f, const char *name, const char *help, const char *type) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The samples of the families that come from the target's state, not from an address. `label_target`
 * is the target for its labels, or NULL for none. */
static void write_target_family(FILE *f, Family family, const MetricsTarget *target,
                                const MetricsTarget *label_target) {
        Sample s;

        switch (family) {
        case FAMILY_TARGET_STATUS: {
                /* The documented values, not Status's own order (which sorts by severity). */
                static const int value[_STATUS_MAX] = {
                        [STATUS_OK] = 0, [STATUS_WARNING] = 1, [STATUS_CRITICAL] = 2, [STATUS_UNKNOWN] = 3,
                };
                Status status = target->state->status;
                s = sample_begin_target(f, family, label_target, NULL);
                sample_value(&s, "%d", status >= 0 && status < _STATUS_MAX ? value[status] : 3);
                break;
        }
        case FAMILY_PROBLEM:
                for (size_t j = 0; j < target->state->problems.n; j++) {
                        const Problem *p = &target->state->problems.items[j];
                        s = sample_begin_target(f, family, label_target, NULL);
                        sample_label(&s, "code", problem_code_to_string(p->code));
                        sample_label(&s, "severity", problem_severity_to_string(p->severity));
                        sample_value(&s, "1");
                }
                break;
        case FAMILY_LAST_PROBE:
                if (target->state->last_probe_usec == 0)
                        break;
                s = sample_begin_target(f, family, label_target, NULL);
                sample_value(&s, "%.3f", (double) target->state->last_probe_usec / 1e6);
                break;
        default:
                break;
        }
}

static void write_family(FILE *f, Family family, metrics_target_func get, void *userdata) {
        MetricsTarget target;

        write_header(f, families[family].name, families[family].help, "gauge");

        for (size_t i = 0; get(userdata, i, &target); i++) {
                const Report *report = target.report;

                if (IN_SET((int) family, FAMILY_TARGET_STATUS, FAMILY_PROBLEM, FAMILY_LAST_PROBE)) {
                        write_target_family(f, family, &target, &target);
                        continue;
                }
                if (!report)
                        continue;
                if (family == FAMILY_SUCCESS && report->n_addresses == 0) {
                        Sample s = sample_begin_target(f, family, &target, NULL);
                        sample_value(&s, "%d", status_is_success(report->status));
                }
                for (size_t j = 0; j < report->n_addresses; j++)
                        write_address(f, family, &target, &report->addresses[j]);
        }
}

static void write_webhooks(FILE *f, json_t *webhooks, const char *vantage) {
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
                { "tlswatch_webhook_spool_unreadable", "gauge",
                  "Spool files that could not be read at the last start or reload (left unsent).",
                  "spool_unreadable" },
        };
        size_t i;
        json_t *webhook;

        for (size_t family = 0; family < ELEMENTSOF(webhook_families); family++) {
                write_header(f, webhook_families[family].name, webhook_families[family].help,
                             webhook_families[family].type);
                json_array_foreach(webhooks, i, webhook) {
                        json_t *value = json_object_get(webhook, webhook_families[family].member);
                        if (!json_is_integer(value))
                                continue;
                        Sample s = sample_begin(f, webhook_families[family].name);
                        if (vantage)
                                sample_label(&s, "vantage", vantage);
                        sample_label(&s, "webhook", json_string_value(json_object_get(webhook, "name")));
                        sample_value(&s, "%lld", (long long) json_integer_value(value));
                }
        }
}

/* The daemon's own: how many targets, which build, and when this was written (so a file or a scrape
 * that stopped changing shows its age). */
static void write_daemon(FILE *f, metrics_target_func get, void *userdata, const MetricsInfo *info) {
        MetricsTarget target;
        size_t n = 0;
        Sample s;

        while (get(userdata, n, &target))
                n++;
        write_header(f, "tlswatch_targets", "How many targets the configuration has.", "gauge");
        s = sample_begin(f, "tlswatch_targets");
        if (info->vantage)
                sample_label(&s, "vantage", info->vantage);
        sample_value(&s, "%zu", n);

        write_header(f, "tlswatch_build_info", "The tlswatch version and the OpenSSL it runs with.", "gauge");
        s = sample_begin(f, "tlswatch_build_info");
        if (info->vantage)
                sample_label(&s, "vantage", info->vantage);
        sample_label(&s, "version", info->version);
        sample_label(&s, "openssl", info->openssl_version);
        sample_value(&s, "1");

        const struct {
                const char *name, *help;
                uint64_t value;
        } crl_families[] = {
                { "tlswatch_crl_fetches_total", "CRLs fetched from their distribution points since the start.",
                  info->crl_fetches },
                { "tlswatch_crl_fetch_failures_total",
                  "CRL fetches that gave no usable CRL (no answer, an HTTP error, too large, not a CRL).",
                  info->crl_fetch_failures },
                { "tlswatch_crl_cache_hits_total", "CRL requests answered from the cache since the start.",
                  info->crl_cache_hits },
        };
        for (size_t i = 0; i < ELEMENTSOF(crl_families); i++) {
                write_header(f, crl_families[i].name, crl_families[i].help, "counter");
                s = sample_begin(f, crl_families[i].name);
                if (info->vantage)
                        sample_label(&s, "vantage", info->vantage);
                sample_value(&s, "%" PRIu64, crl_families[i].value);
        }

        write_header(f, "tlswatch_metrics_timestamp_seconds", "When these metrics were written, as a Unix time.",
                     "gauge");
        s = sample_begin(f, "tlswatch_metrics_timestamp_seconds");
        if (info->vantage)
                sample_label(&s, "vantage", info->vantage);
        sample_value(&s, "%.3f", (double) info->now_usec / 1e6);
}

/* Counters of the targets' state since the daemon started: certificate changes, and what they changed
 * by kind (a change counts once in the first, once per kind in the second). */
static void write_changes(FILE *f, metrics_target_func get, void *userdata) {
        MetricsTarget target;

        write_header(f, "tlswatch_certificate_changes_total",
                     "Times the target served a new certificate since the start.", "counter");
        for (size_t i = 0; get(userdata, i, &target); i++) {
                Sample s = sample_begin(f, "tlswatch_certificate_changes_total");
                sample_target(&s, &target, NULL);
                sample_value(&s, "%u", target.state->certificate_changes);
        }
        write_header(f, "tlswatch_certificate_change_kinds_total",
                     "What the target's certificate changes changed, by kind, since the start.", "counter");
        for (size_t i = 0; get(userdata, i, &target); i++)
                for (CertChangeKind kind = 0; kind < _CERT_CHANGE_KIND_MAX; kind++) {
                        if (target.state->change_counts[kind] == 0)
                                continue;
                        Sample s = sample_begin(f, "tlswatch_certificate_change_kinds_total");
                        sample_target(&s, &target, NULL);
                        sample_label(&s, "change", cert_change_kind_to_string(kind));
                        sample_value(&s, "%u", target.state->change_counts[kind]);
                }
}

int metrics_write(FILE *f, metrics_target_func get, void *userdata, json_t *webhooks, const MetricsInfo *info) {
        assert(f);
        assert(get);
        assert(info);

        for (Family family = 0; family < _FAMILY_MAX; family++)
                write_family(f, family, get, userdata);
        write_changes(f, get, userdata);
        if (webhooks)
                write_webhooks(f, webhooks, info->vantage);
        write_daemon(f, get, userdata, info);
        return ferror(f) ? -EIO : 0;
}

typedef int (*write_func)(FILE *f, const void *userdata);

static int format_with(write_func write, const void *userdata, char **ret) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        int r;

        assert(ret);
        if (!f)
                return -ENOMEM;
        r = write(f, userdata);
        if (fclose(f) != 0 || r < 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

typedef struct FormatArgs {
        metrics_target_func get;
        void *userdata;
        json_t *webhooks;
        const MetricsInfo *info;
} FormatArgs;

static int write_all(FILE *f, const void *userdata) {
        const FormatArgs *a = userdata;
        return metrics_write(f, a->get, a->userdata, a->webhooks, a->info);
}

int metrics_format(metrics_target_func get, void *userdata, json_t *webhooks, const MetricsInfo *info,
                   char **ret) {
        return format_with(write_all, &(FormatArgs) { get, userdata, webhooks, info }, ret);
}

static int write_probe(FILE *f, const void *userdata) {
        const MetricsTarget *target = userdata;
        const Report *report = target->report;
        const AddressReport *worst = NULL;
        int64_t earliest = INT64_MAX, earliest_chain = INT64_MAX;
        /* No listener labels (Prometheus sets them by relabeling), the vantage alone. */
        const MetricsTarget only_vantage = { .vantage = target->vantage };
        Sample s;

        assert(report);
        for (size_t j = 0; j < report->n_addresses; j++) {
                const AddressReport *a = &report->addresses[j];
                if (!worst || a->status > worst->status) /* Status sorts by severity */
                        worst = a;
                earliest = MIN(earliest, earliest_not_after(a, true));
                earliest_chain = MIN(earliest_chain, earliest_not_after(a, false));
        }

        write_header(f, families[FAMILY_SUCCESS].name, "Whether the probe found nothing critical.", "gauge");
        s = sample_begin_target(f, FAMILY_SUCCESS, &only_vantage, NULL);
        sample_value(&s, "%d", status_is_success(report->status));
        write_header(f, families[FAMILY_DURATION].name, "How long the probe took.", "gauge");
        s = sample_begin_target(f, FAMILY_DURATION, &only_vantage, NULL);
        sample_value(&s, "%.6f", (double) report->duration_usec / 1e6);
        for (Family family = FAMILY_EARLIEST_EXPIRY; family <= FAMILY_TLS_GROUP; family++) {
                int64_t value = family == FAMILY_EARLIEST_EXPIRY ? earliest : earliest_chain;

                write_header(f, families[family].name, families[family].help, "gauge");
                if (IN_SET((int) family, FAMILY_EARLIEST_EXPIRY, FAMILY_CHAIN_EXPIRY) && value != INT64_MAX) {
                        s = sample_begin_target(f, family, &only_vantage, NULL);
                        sample_value(&s, "%lld", (long long) value);
                } else if (family == FAMILY_CHAIN_INFO && worst)
                        write_chain_info(f, &only_vantage, worst);
                else if (family == FAMILY_TLS_VERSION && worst)
                        write_tls_version(f, &only_vantage, worst);
                else if (family == FAMILY_TLS_GROUP && worst)
                        write_tls_group(f, &only_vantage, worst);
        }
        for (Family family = FAMILY_TARGET_STATUS; family < _FAMILY_MAX; family++) {
                if (IN_SET((int) family, FAMILY_CERT_NOT_AFTER, FAMILY_CERT_LIFETIME,
                           FAMILY_CERT_LIFETIME_LEFT))
                        continue;
                write_header(f, families[family].name, families[family].help, "gauge");
                write_target_family(f, family, target, &only_vantage);
        }
        return ferror(f) ? -EIO : 0;
}

int metrics_format_probe(const MetricsTarget *target, char **ret) {
        return format_with(write_probe, target, ret);
}
