/* SPDX-License-Identifier: MIT */
/* Renders a Report for people: the report's text printer, beside report-json.c, shared by
 * `tlswatchctl probe` and `tlswatchd --once`. The first line stands alone as a verdict, so monitoring
 * systems that keep only the first line of a plugin's output still say what is wrong. */
#include "expiry-policy.h"
#include "probe-output.h"
#include "time-util.h"

static void print_problem(const Problem *p, FILE *out) {
        fprintf(out, "    %-8s %s", p->severity == STATUS_OK ? "note" : status_to_string(p->severity),
                problem_code_to_string(p->code));
        if (p->depth >= 0)
                fprintf(out, " (depth %d)", p->depth);
        fprintf(out, ": %s\n", p->message);
}

void probe_output_human(const Report *report, FILE *out) {
        const Problem *worst = problem_list_worst_item(&report->problems);

        fprintf(out, "%s: %s (%s)", status_to_label(report->status), report->target, report->protocol);
        if (worst)
                fprintf(out, " %s: %s%s", problem_code_to_string(worst->code), worst->message,
                        report->problems.n > 1 ? " (and more, below)" : "");
        else if (report->n_addresses > 0 && report->addresses[0].has_days_left)
                fprintf(out, " certificate valid for %.1f more days", report->addresses[0].days_left);
        fputc('\n', out);

        /* Without an address (DNS failed) the problems are the report's own; `worst` is set whenever
         * there are any, which also tells the static analyzer that the list is not empty. */
        if (report->n_addresses == 0 && worst)
                for (size_t i = 0; i < report->problems.n; i++)
                        print_problem(&report->problems.items[i], out);

        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];

                fprintf(out, "\naddress %s: %s", a->address, status_to_string(a->status));
                if (a->tls_version)
                        fprintf(out, ", %s %s", a->tls_version, a->cipher);
                if (a->group[0])
                        fprintf(out, " group %s", a->group);
                if (a->protocol_detail)
                        fprintf(out, ", %s", a->protocol_detail);
                fprintf(out, ", %.3f s\n", (double) a->duration_usec / 1e6);

                if (a->n_chain > 0)
                        fprintf(out, "  chain:\n");
                for (size_t j = 0; j < a->n_chain; j++) {
                        const Certificate *c = a->chain[j].certificate;
                        char not_after[32];

                        fprintf(out, "    %zu %s%s\n", j, c->subject,
                                a->chain[j].sent ? "" : "  [not sent: from the trust store]");
                        fprintf(out, "      issuer %s\n", c->issuer);
                        if (j == 0) {
                                fputs("      names ", out);
                                for (size_t k = 0; k < c->n_subject_alt_names; k++)
                                        fprintf(out, "%s%s", k ? ", " : "", c->subject_alt_names[k]);
                                fputs(c->n_subject_alt_names == 0 ? "no DNS or IP names (subjectAltName)\n" : "\n",
                                      out);
                        }
                        char lifetime[32];
                        fprintf(out,
                                "      not after %s (%.1f days left, %.0f%% of a %s lifetime), %s %d, "
                                "%s\n",
                                format_timestamp_rfc3339(not_after, sizeof(not_after), c->not_after),
                                certificate_days_left(c, a->checked_at),
                                expiry_left_fraction(c->not_before, c->not_after, a->checked_at) * 100,
                                expiry_format_span(c->not_after - c->not_before, lifetime, sizeof(lifetime)),
                                c->key_type, c->key_bits, c->signature_algorithm);
                        if (a->chain[j].revocation != REVOCATION_NOT_CHECKED)
                                fprintf(out, "      revocation (CRL): %s\n",
                                        revocation_to_string(a->chain[j].revocation));
                }
                if (a->ocsp_staple.present) {
                        char next_update[32] = "none";

                        if (a->ocsp_staple.next_update != 0)
                                (void) format_timestamp_rfc3339(next_update, sizeof(next_update),
                                                                a->ocsp_staple.next_update);
                        fprintf(out, "  OCSP staple: %s%s, next update %s\n", revocation_to_string(a->ocsp_staple.status),
                                a->ocsp_staple.verified ? "" : " (signature not verified)", next_update);
                }
                if (a->problems.n > 0)
                        fprintf(out, "  problems:\n");
                for (size_t j = 0; j < a->problems.n; j++)
                        print_problem(&a->problems.items[j], out);
        }
}
