/* SPDX-License-Identifier: MIT */
/* libcurl's multi interface driven by sd-event: curl says which sockets and which timeout it wants
 * watched, the loop watches them, and finished transfers are handed to their callbacks. So HTTP
 * requests run beside the probes on one thread and a slow receiver blocks nothing. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct CurlGlue CurlGlue;

/* Called once when a transfer ends; the callee owns and frees `easy`. */
typedef void (*curl_glue_done_t)(CurlGlue *glue, CURL *easy, CURLcode result, void *userdata);

int curl_glue_new(sd_event *event, CurlGlue **ret);
CurlGlue *curl_glue_free(CurlGlue *glue);
DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue *, curl_glue_free);

/* Starts a transfer. On success the glue drives it until `done` is called. */
int curl_glue_add(CurlGlue *glue, CURL *easy, curl_glue_done_t done, void *userdata);

/* Abandons a transfer that has not finished; `done` is not called. The caller frees `easy`. */
void curl_glue_remove(CurlGlue *glue, CURL *easy);
