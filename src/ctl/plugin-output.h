/* SPDX-License-Identifier: MIT */
/* Output by the Nagios Plugin Development Guidelines, as Nagios, Icinga, Naemon and Shinken read it:
 * a first line "STATUS: text | perfdata", then long text; perfdata items 'label'=value[UOM];[warn];
 * [crit];[min];[max]. Used by `tlswatchctl probe` (one listener) and `status --nagios` (the fleet). */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "expiry-policy.h"
#include "report.h"
#include "time-util.h"

/* A label as the guidelines want it: bare, or in single quotes (inner quotes doubled) when it holds a
 * space, '=' or '\''. */
void plugin_output_label(const char *label, FILE *out);

/* One perfdata item with a space before it. `value` is printed with `precision` decimals, C locale;
 * warn, crit, min, max are range strings or NULL for empty; empty fields at the end are left off. */
void plugin_output_item(FILE *out, const char *label, double value, int precision, const char *uom,
                        const char *warn, const char *crit, const char *min, const char *max);

/* The perfdata of one probe, without the " |" before it: days_left (to the earliest notAfter, with
 * the thresholds as ranges "W:" and "C:", since it alerts below them: WarnDays/CritDays when they alone
 * judge, else the leaf's renew point and renewal floor in days), lifetime_left (percent of the leaf's
 * lifetime left, with the same thresholds in percent), handshake and duration in seconds; with more
 * than one address also each of those per address, labelled NAME_ADDRESS. */
void plugin_output_probe_perfdata(const Report *report, const ExpiryPolicy *expiry, usec_t timeout_usec,
                                  FILE *out);

/* The report as a plugin prints it: probe_output_human()'s text, its first line followed by " |" and
 * the perfdata, and no '|' anywhere else (Nagios would read what follows one as perfdata). Returns 0,
 * or -ENOMEM (nothing written). */
int plugin_output_probe(const Report *report, const ExpiryPolicy *expiry, usec_t timeout_usec, FILE *out);

/* The fleet check from a `status` (or `check`) answer: "TLSWATCH STATUS: counts | ok=N;;;0 ..." first
 * (and days_left, the earliest of the targets that have one),
 * then one line per target that is not OK, the worst first, then one per webhook with dead letters
 * (each raises the status to WARNING, as plain `status` does). No targets at all is UNKNOWN: a check
 * that checks nothing must not look green. Returns the status to exit with. */
Status plugin_output_fleet(json_t *targets, json_t *webhooks, FILE *out);

/* The one line a fleet check prints when it has no answer from the daemon: UNKNOWN and why. */
void plugin_output_fleet_unknown(const char *reason, FILE *out);
