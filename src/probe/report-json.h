/* SPDX-License-Identifier: MIT */
/* The JSON vocabulary: how every document tlswatch writes spells a problem, a certificate, an address,
 * a point in time and a status. The probe's report (`tlswatchctl probe --json`, `tlswatchd --once
 * --json`) is built here whole; the daemon's documents (status, state file, alerts) are assembled from
 * these pieces, so a member is written in one place. Documented in tlswatchctl(1). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "report.h"

/* The probe report's schema; bumped when a member changes form or meaning. */
#define REPORT_JSON_SCHEMA "tlswatch.report/2"

/* Flags for every json_dump*() of these documents: reals with six significant digits ("days_left":
 * 89.9997, not 89.999756944444441), which is more than any reader of a day count or a duration needs. */
#define REPORT_JSON_DUMP_FLAGS JSON_REAL_PRECISION(6)

/* A problem's severity as documents spell it: "note" for a finding that changes no status. */
const char *problem_severity_to_string(Status severity);
/* The inverse, also accepting "ok" (state files of version 1); returns _STATUS_INVALID if unknown. */
Status problem_severity_from_string(const char *s);

/* Sets `key` to the RFC 3339 form of `seconds` (UTC) and `key`_unix to the seconds themselves: the
 * one way every document shows a point in time. Returns 0 or -ENOMEM. */
int json_object_set_time(json_t *o, const char *key, int64_t seconds);

/* {"code", "severity", "message", "depth"?, "verify_code"?} */
json_t *problem_to_json(const Problem *p);
json_t *problems_to_json(const ProblemList *list);
/* Appends a problem from its JSON form; -EBADMSG if it is not one. */
int problem_list_add_json(ProblemList *list, json_t *o);

/* One certificate of a chain at `depth`, with days left counted from `at` (Unix seconds). */
json_t *certificate_to_json(const Certificate *c, int depth, bool sent, int64_t at);

/* Returns 0 and a new reference in *ret, or -ENOMEM. */
int report_to_json(const Report *report, json_t **ret);
