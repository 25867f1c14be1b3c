/* SPDX-License-Identifier: MIT */
/* Nagios plugin output: perfdata items, the probe's plugin text and the fleet check's summary. Pure
 * rendering to a FILE, so the unit test holds the output to the guidelines' grammar. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expiry-policy.h"
#include "macro.h"
#include "plugin-output.h"
#include "probe-output.h"
#include "report-json.h"

void plugin_output_label(const char *label, FILE *out) {
        if (!strpbrk(label, " '=")) {
                fputs(label, out);
                return;
        }
        fputc('\'', out);
        for (const char *p = label; *p; p++) {
                if (*p == '\'')
                        fputc('\'', out);
                fputc(*p, out);
        }
        fputc('\'', out);
}

void plugin_output_item(FILE *out, const char *label, double value, int precision, const char *uom,
                        const char *warn, const char *crit, const char *min, const char *max) {
        const char *fields[] = { warn, crit, min, max };
        size_t n = ELEMENTSOF(fields);

        while (n > 0 && !fields[n - 1])
                n--;
        fputc(' ', out);
        plugin_output_label(label, out);
        fprintf(out, "=%.*f%s", precision, value, uom ?: "");
        for (size_t i = 0; i < n; i++)
                fprintf(out, ";%s", fields[i] ?: "");
}

/* The thresholds of days_left as ranges ("30:" alerts below 30, which is what they mean: Guidelines,
 * "Threshold and ranges"; a bare 30 would alert above it): the fixed days when they alone judge, else
 * the leaf's renew point and renewal floor in days; and lifetime_left's in percent. */
typedef struct Thresholds {
        char warn[24], crit[24];
        bool has_lifetime;
        double lifetime_left; /* percent */
        char lifetime_warn[24], lifetime_crit[24];
} Thresholds;

static void thresholds(const AddressReport *a, const ExpiryPolicy *expiry, Thresholds *ret) {
        *ret = (Thresholds){};
        if (!expiry_policy_lifetime_active(expiry) || !a || a->n_chain == 0) {
                snprintf(ret->warn, sizeof(ret->warn), "%u:", expiry->warn_days);
                snprintf(ret->crit, sizeof(ret->crit), "%u:", expiry->crit_days);
                if (!a || a->n_chain == 0)
                        return;
        }
        const Certificate *leaf = a->chain[0].certificate;
        ExpiryAssessment assessment;
        expiry_assess(expiry, leaf->not_before, leaf->not_after, a->checked_at, &assessment);
        if (assessment.lifetime <= 0)
                return;
        if (expiry_policy_lifetime_active(expiry)) {
                snprintf(ret->warn, sizeof(ret->warn),
                         "%.2f:", (double) (leaf->not_after - assessment.renew_at) / 86400);
                snprintf(ret->crit, sizeof(ret->crit), "%.2f:", (double) assessment.floor / 86400);
                snprintf(ret->lifetime_warn, sizeof(ret->lifetime_warn),
                         "%.1f:", assessment.renew_fraction * 100);
                snprintf(ret->lifetime_crit, sizeof(ret->lifetime_crit),
                         "%.1f:", (double) assessment.floor * 100 / (double) assessment.lifetime);
        }
        ret->has_lifetime = true;
        ret->lifetime_left = assessment.left_fraction * 100;
}

/* An address's items; `suffix` is "" for the report's own, "_ADDRESS" per address. */
static void address_items(FILE *out, const char *suffix, bool has_days_left, double days_left,
                          const Thresholds *t, bool has_handshake, usec_t handshake_usec,
                          usec_t duration_usec, const char *timeout) {
        char label[64 + sizeof(((AddressReport *) NULL)->address)];

        if (has_days_left) {
                snprintf(label, sizeof(label), "days_left%s", suffix);
                plugin_output_item(out, label, days_left, 2, NULL, t->warn, t->crit, NULL, NULL);
        }
        if (t->has_lifetime) {
                snprintf(label, sizeof(label), "lifetime_left%s", suffix);
                plugin_output_item(out, label, t->lifetime_left, 1, "%",
                                   t->lifetime_warn[0] ? t->lifetime_warn : NULL,
                                   t->lifetime_crit[0] ? t->lifetime_crit : NULL, "0", "100");
        }
        if (has_handshake) {
                snprintf(label, sizeof(label), "handshake%s", suffix);
                plugin_output_item(out, label, (double) handshake_usec / USEC_PER_SEC, 6, "s", NULL, NULL,
                                   "0", timeout);
        }
        snprintf(label, sizeof(label), "duration%s", suffix);
        plugin_output_item(out, label, (double) duration_usec / USEC_PER_SEC, 6, "s", NULL, NULL, "0",
                           timeout);
}

void plugin_output_probe_perfdata(const Report *report, const ExpiryPolicy *expiry, usec_t timeout_usec,
                                  FILE *out) {
        char timeout[32];
        const AddressReport *earliest = NULL;
        Thresholds t;

        snprintf(timeout, sizeof(timeout), "%g", (double) timeout_usec / USEC_PER_SEC);

        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];

                if (a->has_days_left && (!earliest || a->days_left < earliest->days_left))
                        earliest = a;
        }

        if (report->n_addresses == 1) {
                const AddressReport *a = &report->addresses[0];

                thresholds(a, expiry, &t);
                address_items(out, "", a->has_days_left, a->days_left, &t, a->tls_version != NULL,
                              a->handshake_usec, report->duration_usec, timeout);
                return;
        }

        /* None (DNS failed) or several: the report's own earliest expiry and duration, then each address. */
        thresholds(earliest, expiry, &t);
        address_items(out, "", !!earliest, earliest ? earliest->days_left : 0, &t, false, 0,
                      report->duration_usec, timeout);
        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];
                char suffix[sizeof(a->address) + 1];

                snprintf(suffix, sizeof(suffix), "_%s", a->address);
                thresholds(a, expiry, &t);
                address_items(out, suffix, a->has_days_left, a->days_left, &t, a->tls_version != NULL,
                              a->handshake_usec, a->duration_usec, timeout);
        }
}

int plugin_output_probe(const Report *report, const ExpiryPolicy *expiry, usec_t timeout_usec, FILE *out) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        probe_output_human(report, f);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;

        /* Subjects and messages come from the listener's certificate: a '|' there must not start perfdata. */
        for (char *p = text; *p; p++)
                if (*p == '|')
                        *p = '/';

        char *rest = strchr(text, '\n');
        if (rest)
                *rest++ = '\0';
        fputs(text, out);
        fputs(" |", out);
        plugin_output_probe_perfdata(report, expiry, timeout_usec, out);
        fputc('\n', out);
        if (rest)
                fputs(rest, out);
        return 0;
}

/* Names and messages on one line without '|' (see above) and without line breaks. */
static void print_clean(const char *s, FILE *out) {
        for (; *s; s++)
                fputc(*s == '|' ? '/' : IN_SET(*s, '\n', '\r') ? ' ' : *s, out);
}

static Status item_status(json_t *item) {
        Status s = status_from_string(json_string_value(json_object_get(item, "status")));

        return s < 0 ? STATUS_UNKNOWN : s;
}

/* The target's worst problem, the first of its severity, as "code: message". */
static void print_target_line(json_t *item, Status status, FILE *out) {
        json_t *problems = json_object_get(item, "problems"), *problem, *worst = NULL;
        Status worst_severity = STATUS_OK;
        size_t i;

        fprintf(out, "%s: ", status_to_label(status));
        print_clean(json_string_value(json_object_get(item, "name")) ?: "?", out);
        fputs(" (", out);
        print_clean(json_string_value(json_object_get(item, "address")) ?:
                            json_string_value(json_object_get(item, "target")) ?: "?",
                    out);
        fputc(')', out);

        json_array_foreach(problems, i, problem) {
                Status s = problem_severity_from_string(
                        json_string_value(json_object_get(problem, "severity")));
                if (!worst || s > worst_severity) {
                        worst = problem;
                        worst_severity = s;
                }
        }
        if (worst) {
                fputs(": ", out);
                print_clean(json_string_value(json_object_get(worst, "code")) ?: "?", out);
                fputs(": ", out);
                print_clean(json_string_value(json_object_get(worst, "message")) ?: "", out);
                if (json_array_size(problems) > 1)
                        fprintf(out, " (and %zu more)", json_array_size(problems) - 1);
        } else if (json_is_null(json_object_get(item, "last_probe")))
                fputs(": not probed yet", out);
        fputc('\n', out);
}

static void earliest(json_t *days, bool *has_days_left, double *days_left) {
        if (json_is_number(days) && (!*has_days_left || json_number_value(days) < *days_left)) {
                *days_left = json_number_value(days);
                *has_days_left = true;
        }
}

Status plugin_output_fleet(json_t *targets, json_t *webhooks, FILE *out) {
        static const Status order[] = { STATUS_CRITICAL, STATUS_WARNING, STATUS_UNKNOWN };
        unsigned count[_STATUS_MAX] = {}, dead_webhooks = 0;
        Status worst = STATUS_OK;
        bool has_days_left = false;
        double days_left = 0;
        json_t *item;
        size_t i;

        json_array_foreach(targets, i, item) {
                Status s = item_status(item);

                count[s]++;
                worst = status_worst(worst, s);
                earliest(json_object_get(item, "days_left"), &has_days_left, &days_left);
                /* A `check` report has them per address. */
                json_t *address;
                size_t j;
                json_array_foreach(json_object_get(item, "addresses"), j, address)
                        earliest(json_object_get(address, "days_left"), &has_days_left, &days_left);
        }
        json_array_foreach(webhooks, i, item) if (json_integer_value(json_object_get(item, "dead_letters")) >
                                                  0) dead_webhooks++;
        if (dead_webhooks > 0)
                worst = status_worst(worst, STATUS_WARNING);
        if (json_array_size(targets) == 0)
                worst = STATUS_UNKNOWN;

        fprintf(out, "TLSWATCH %s: ", status_to_label(worst));
        if (json_array_size(targets) == 0)
                fputs("no targets configured", out);
        else {
                for (size_t k = 0; k < ELEMENTSOF(order); k++)
                        if (count[order[k]] > 0)
                                fprintf(out, "%u %s, ", count[order[k]], status_to_string(order[k]));
                fprintf(out, "%u ok", count[STATUS_OK]);
        }
        if (dead_webhooks > 0)
                fprintf(out, "; %u webhook%s with dead letters", dead_webhooks,
                        dead_webhooks == 1 ? "" : "s");
        fputs(" |", out);
        plugin_output_item(out, "ok", count[STATUS_OK], 0, NULL, NULL, NULL, "0", NULL);
        plugin_output_item(out, "warning", count[STATUS_WARNING], 0, NULL, NULL, NULL, "0", NULL);
        plugin_output_item(out, "critical", count[STATUS_CRITICAL], 0, NULL, NULL, NULL, "0", NULL);
        plugin_output_item(out, "unknown", count[STATUS_UNKNOWN], 0, NULL, NULL, NULL, "0", NULL);
        /* The earliest expiry of the fleet, to graph; no thresholds, since each target has its own. */
        if (has_days_left)
                plugin_output_item(out, "days_left", days_left, 2, NULL, NULL, NULL, NULL, NULL);
        fputc('\n', out);

        /* The long text: what to look at, the worst first, in the daemon's order within a state. */
        static const Status line_order[] = { STATUS_CRITICAL, STATUS_UNKNOWN, STATUS_WARNING };
        for (size_t k = 0; k < ELEMENTSOF(line_order); k++)
                json_array_foreach(targets, i, item) if (item_status(item) == line_order[k])
                        print_target_line(item, line_order[k], out);
        json_array_foreach(webhooks, i, item) {
                json_int_t dead = json_integer_value(json_object_get(item, "dead_letters"));
                if (dead <= 0)
                        continue;
                fputs("WARNING: webhook ", out);
                print_clean(json_string_value(json_object_get(item, "name")) ?: "?", out);
                fprintf(out, ": %lld event(s) given up on, in its dead-letter file (tlswatchctl webhooks)\n",
                        (long long) dead);
        }
        return worst;
}

void plugin_output_fleet_unknown(const char *reason, FILE *out) {
        fputs("TLSWATCH UNKNOWN: ", out);
        print_clean(reason, out);
        fputc('\n', out);
}
