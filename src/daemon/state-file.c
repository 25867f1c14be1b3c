/* SPDX-License-Identifier: MIT */
/* The state file's two forms. Version 2 spells times as every document does (RFC 3339 beside Unix
 * seconds) and problems in the one vocabulary of report-json.c; version 1 (times in microseconds,
 * severity "ok" for a note) is still read, never written. No I/O here but the FILE the caller gives. */
#include <openssl/crypto.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report-json.h"
#include "state-file.h"

int state_file_parse(const char *text, size_t size, json_t **ret_document, char *ret_reason, size_t reason_size) {
        json_error_t error;
        json_t *document;

        assert(text || size == 0);
        assert(ret_document);

        document = json_loadb(text, size, 0, &error);
        if (!document) {
                snprintf(ret_reason, reason_size, "%s", error.text);
                return -EBADMSG;
        }
        if (!json_is_object(json_object_get(document, "targets"))) {
                json_decref(document);
                snprintf(ret_reason, reason_size, "no targets object");
                return -EBADMSG;
        }
        json_t *version = json_object_get(document, "version");
        if (version && (!json_is_integer(version) || json_integer_value(version) < 1 ||
                        json_integer_value(version) > STATE_FILE_VERSION)) {
                json_decref(document);
                snprintf(ret_reason, reason_size, "unknown version");
                return -EBADMSG;
        }
        *ret_document = document;
        return 0;
}

static int problems_from_json(json_t *problems, ProblemList *list) {
        size_t i;
        json_t *item;

        if (!json_is_array(problems))
                return -EBADMSG;
        json_array_foreach(problems, i, item)
                if (problem_list_add_json(list, item) < 0)
                        return -EBADMSG;
        return 0;
}

/* Copies the strings common to both versions; the caller has checked their lengths. */
static int common_from_json(TargetState *state, const char *status, json_t *problems, const char *sha256,
                            const char *subject, const char *issuer, json_t *days_left, int failures, int probes) {
        state->status = status_from_string(status);
        if (state->status < 0 || failures < 0 || probes < 0 || (days_left && !json_is_number(days_left)) ||
            strlen(sha256) >= sizeof(state->sha256))
                return -EBADMSG;
        if (problems_from_json(problems, &state->problems) < 0)
                return -EBADMSG;
        snprintf(state->sha256, sizeof(state->sha256), "%s", sha256);
        if (subject || issuer) {
                /* The state refers to its leaf as a certificate; the saved one has only what the file
                 * keeps (no names, no key), until the first probe replaces it by the one served. */
                uint8_t digest[32] = {};
                size_t length = 0;
                if (strlen(sha256) == 64 &&
                    (OPENSSL_hexstr2buf_ex(digest, sizeof(digest), &length, sha256, '\0') != 1 || length != 32))
                        return -EBADMSG;
                if (certificate_new(digest, 0, 0, NULL, 0, NULL, subject ?: "", issuer ?: "", NULL, 0, &state->leaf) < 0)
                        return -ENOMEM;
                state->subject = subject ? state->leaf->subject : NULL;
                state->issuer = issuer ? state->leaf->issuer : NULL;
        }
        state->has_days_left = json_is_number(days_left);
        state->days_left = state->has_days_left ? json_number_value(days_left) : 0;
        state->consecutive_failures = (unsigned) failures;
        state->probes = (unsigned) probes;
        return 0;
}

static int entry_from_json_v1(json_t *o, TargetState *state) {
        const char *status = NULL, *sha256 = "", *not_after = "", *subject = NULL, *issuer = NULL;
        json_int_t last_probe = 0, last_duration = 0, last_announced = 0;
        int failures = 0, probes = 0;
        json_t *problems = NULL, *days_left = NULL;

        if (json_unpack(o, "{s:s, s:o, s?s, s?s, s?s, s?s, s?I, s?I, s?I, s?i, s?i, s?o}", "status", &status,
                        "problems", &problems, "sha256", &sha256, "not_after", &not_after, "subject", &subject,
                        "issuer", &issuer, "last_probe_usec", &last_probe, "last_duration_usec", &last_duration,
                        "last_announced_usec", &last_announced, "consecutive_failures", &failures, "probes", &probes,
                        "days_left", &days_left) < 0 ||
            strlen(not_after) >= sizeof(state->not_after) || last_probe < 0 || last_duration < 0 || last_announced < 0)
                return -EBADMSG;
        if (common_from_json(state, status, problems, sha256, subject, issuer, days_left, failures, probes) < 0)
                return -EBADMSG;
        snprintf(state->not_after, sizeof(state->not_after), "%s", not_after);
        state->last_probe_usec = (usec_t) last_probe;
        state->last_duration_usec = (usec_t) last_duration;
        state->last_announced_usec = (usec_t) last_announced;
        return 0;
}

/* Unix seconds as usec_t; 0 (never) for what is absent, -EBADMSG for what no clock shows. */
static int seconds_to_usec(json_int_t seconds, usec_t *ret) {
        if (seconds < 0 || (uint64_t) seconds > UINT64_MAX / USEC_PER_SEC)
                return -EBADMSG;
        *ret = (usec_t) seconds * USEC_PER_SEC;
        return 0;
}

static int entry_from_json_v2(json_t *o, TargetState *state) {
        const char *status = NULL, *sha256 = "", *subject = NULL, *issuer = NULL;
        json_int_t not_after = -1, last_probe = 0, last_announced = 0;
        double last_duration = 0;
        int failures = 0, probes = 0;
        json_t *problems = NULL, *days_left = NULL;

        if (json_unpack(o, "{s:s, s:o, s?s, s?I, s?s, s?s, s?I, s?F, s?I, s?i, s?i, s?o}", "status", &status,
                        "problems", &problems, "sha256", &sha256, "not_after_unix", &not_after, "subject", &subject,
                        "issuer", &issuer, "last_probe_unix", &last_probe, "last_duration_seconds", &last_duration,
                        "last_announced_unix", &last_announced, "consecutive_failures", &failures, "probes", &probes,
                        "days_left", &days_left) < 0 ||
            !(last_duration >= 0 && last_duration < 1e9) || seconds_to_usec(last_probe, &state->last_probe_usec) < 0 ||
            seconds_to_usec(last_announced, &state->last_announced_usec) < 0)
                return -EBADMSG;
        if (common_from_json(state, status, problems, sha256, subject, issuer, days_left, failures, probes) < 0)
                return -EBADMSG;
        if (not_after != -1)
                format_timestamp_rfc3339(state->not_after, sizeof(state->not_after), (int64_t) not_after);
        state->last_duration_usec = (usec_t) (last_duration * USEC_PER_SEC + 0.5);
        return 0;
}

int state_file_find(json_t *document, const char *name, const char *address, TargetState *ret) {
        json_t *saved = json_object_get(json_object_get(document, "targets"), name);
        const char *saved_address;
        TargetState state = { .status = STATUS_UNKNOWN };
        int r;

        assert(name);
        assert(address);
        assert(ret);

        if (!saved)
                return 0;
        if (!json_is_object(saved))
                return -EBADMSG;
        /* A target that now points elsewhere starts afresh. */
        saved_address = json_string_value(json_object_get(saved, "address"));
        if (!saved_address || strcmp(saved_address, address) != 0)
                return 0;

        json_t *version = json_object_get(document, "version");
        if (version && json_integer_value(version) >= 2)
                r = entry_from_json_v2(saved, &state);
        else
                r = entry_from_json_v1(saved, &state);
        if (r < 0) {
                target_state_clear(&state);
                return -EBADMSG;
        }
        *ret = state;
        return 1;
}

/* A time the state knows (usec_t, 0: never) as the vocabulary's pair of members. */
static int set_time_usec(json_t *o, const char *key, usec_t usec) {
        return usec == 0 ? 0 : json_object_set_time(o, key, (int64_t) (usec / USEC_PER_SEC));
}

json_t *state_file_entry_to_json(const TargetState *state, const char *address) {
        assert(state);
        assert(address);

        json_t *o = json_pack("{s:s, s:s, s:o*, s:s, s:s*, s:s*, s:f, s:i, s:i}", "address", address, "status",
                              status_to_string(state->status), "problems", problems_to_json(&state->problems),
                              "sha256", state->sha256, "subject", state->subject, "issuer", state->issuer,
                              "last_duration_seconds", (double) state->last_duration_usec / USEC_PER_SEC,
                              "consecutive_failures", (int) state->consecutive_failures, "probes",
                              (int) state->probes);
        int64_t not_after = parse_timestamp_rfc3339(state->not_after);

        if (o && (set_time_usec(o, "last_probe", state->last_probe_usec) < 0 ||
                  set_time_usec(o, "last_announced", state->last_announced_usec) < 0 ||
                  (not_after >= 0 && json_object_set_time(o, "not_after", not_after) < 0) ||
                  (state->has_days_left && json_object_set_new(o, "days_left", json_real(state->days_left)) < 0)))
                o = (json_decref(o), NULL);
        return o;
}

int state_file_write_head(FILE *f) {
        assert(f);
        return fprintf(f, "{\"version\":%d,\"schema\":\"%s\",\"targets\":{", STATE_FILE_VERSION, STATE_FILE_SCHEMA) < 0
                       ? -EIO
                       : 0;
}

int state_file_write_target(FILE *f, bool first, const char *name, const char *address, const TargetState *state) {
        assert(f);
        assert(name);

        json_t *o = state_file_entry_to_json(state, address);
        json_t *key = json_string(name);
        int r = -ENOMEM;

        /* Reals at full precision: this file is read back by a machine, not by a person. */
        if (o && key && fputs(first ? "" : ",", f) >= 0 && json_dumpf(key, f, JSON_ENCODE_ANY) == 0 &&
            fputc(':', f) != EOF && json_dumpf(o, f, JSON_COMPACT) == 0)
                r = 0;
        json_decref(o);
        json_decref(key);
        return r;
}

int state_file_write_tail(FILE *f) {
        assert(f);
        return fputs("}}", f) < 0 ? -EIO : 0;
}
