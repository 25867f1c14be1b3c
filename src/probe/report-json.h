/* SPDX-License-Identifier: MIT */
/* The JSON form of a Report: the documented contract of `tlswatchctl probe --json`, also used by the
 * daemon's status and webhooks. Building only; printing and sending are the caller's. */
#pragma once

#include <jansson.h>

#include "report.h"

/* One certificate of a chain, as the "chain" arrays hold it. */
json_t *certificate_info_to_json(const CertificateInfo *c);

/* Returns 0 and a new reference in *ret, or -ENOMEM. */
int report_to_json(const Report *report, json_t **ret);
