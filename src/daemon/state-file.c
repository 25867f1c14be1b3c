/* SPDX-License-Identifier: MIT */
/* The state file's two forms. Version 2 spells times as every document does (RFC 3339 beside Unix
 * seconds) and problems in the one vocabulary of report-json.c; version 1 (times in microseconds,
 * severity "ok" for a note) is still read, never written. No I/O here but the FILE the caller gives. */
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
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

/* A probe's duration past this is no duration; both versions refuse it, so a version 1 entry that
 * loads also saves as version 2 and loads again. */
#define LAST_DURATION_SECONDS_MAX 1e9

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
            strlen(not_after) >= sizeof(state->not_after) || last_probe < 0 || last_duration < 0 ||
            (double) last_duration / USEC_PER_SEC >= LAST_DURATION_SECONDS_MAX || last_announced < 0)
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
            !(last_duration >= 0 && last_duration < LAST_DURATION_SECONDS_MAX) || seconds_to_usec(last_probe, &state->last_probe_usec) < 0 ||
            seconds_to_usec(last_announced, &state->last_announced_usec) < 0)
                return -EBADMSG;
        if (common_from_json(state, status, problems, sha256, subject, issuer, days_left, failures, probes) < 0)
                return -EBADMSG;
        if (not_after != -1)
                format_timestamp_rfc3339(state->not_after, sizeof(state->not_after), (int64_t) not_after);
        state->last_duration_usec = (usec_t) (last_duration * USEC_PER_SEC + 0.5);
        return 0;
}

/* --- reading entry by entry ---------------------------------------------------------------------- */

/* The reader walks the top two levels of the document itself and lets jansson parse every string and
 * value, so that only one target's tree exists at a time (a tree of 10,000 targets costs more than the
 * fleet's whole running state) and a file cut short still yields every entry before the cut. */
typedef struct Reader {
        const char *text;
        size_t size, position;
} Reader;

static void reader_skip_space(Reader *r) {
        while (r->position < r->size && r->text[r->position] && strchr(" \t\r\n", r->text[r->position]))
                r->position++;
}

/* Consumes `c` (after white space) and returns true, or returns false and leaves the position. */
static bool reader_expect(Reader *r, char c) {
        reader_skip_space(r);
        if (r->position >= r->size || r->text[r->position] != c)
                return false;
        r->position++;
        return true;
}

/* The next JSON value (a new reference), or NULL with the reason. */
static json_t *reader_value(Reader *r, char *ret_reason, size_t reason_size) {
        json_error_t error;
        json_t *value;

        reader_skip_space(r);
        value = json_loadb(r->text + r->position, r->size - r->position,
                           JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &error);
        if (!value) {
                snprintf(ret_reason, reason_size, "%s at byte %zu", error.text,
                         r->position + (size_t) MAX(error.position, 0));
                return NULL;
        }
        r->position += (size_t) error.position;
        return value;
}

static void reader_fail(const Reader *r, const char *expected, char *ret_reason, size_t reason_size) {
        snprintf(ret_reason, reason_size, "%s at byte %zu", r->position >= r->size ? "the file ends" : expected,
                 r->position);
}

int state_file_read(const char *text, size_t size, state_file_entry_func entry, void *userdata, char *ret_reason,
                    size_t reason_size) {
        Reader r = { .text = text, .size = size };
        int version = 1; /* version 1 wrote none at first */
        bool targets_seen = false;

        assert(text || size == 0);
        assert(entry);

        if (!reader_expect(&r, '{')) {
                reader_fail(&r, "not a JSON object", ret_reason, reason_size);
                return -EBADMSG;
        }
        for (bool first = true;; first = false) {
                json_auto_t *key = NULL;
                json_auto_t *value = NULL;

                if (reader_expect(&r, '}'))
                        break;
                if (!first && !reader_expect(&r, ',')) {
                        reader_fail(&r, "expected , or }", ret_reason, reason_size);
                        goto broken;
                }
                key = reader_value(&r, ret_reason, reason_size);
                if (!key)
                        goto broken;
                if (!json_is_string(key) || !reader_expect(&r, ':')) {
                        reader_fail(&r, "expected a member name and :", ret_reason, reason_size);
                        goto broken;
                }
                if (strcmp(json_string_value(key), "targets") != 0) {
                        value = reader_value(&r, ret_reason, reason_size);
                        if (!value)
                                goto broken;
                        if (strcmp(json_string_value(key), "version") != 0)
                                continue;
                        /* The entries' form depends on the version: it must come first, as every
                         * version writes it. */
                        if (targets_seen) {
                                snprintf(ret_reason, reason_size, "the version follows the targets");
                                goto broken;
                        }
                        if (!json_is_integer(value) || json_integer_value(value) < 1 ||
                            json_integer_value(value) > STATE_FILE_VERSION) {
                                snprintf(ret_reason, reason_size, "unknown version");
                                return -EBADMSG;
                        }
                        version = (int) json_integer_value(value);
                        continue;
                }
                if (!reader_expect(&r, '{')) {
                        reader_fail(&r, "expected the targets object", ret_reason, reason_size);
                        goto broken;
                }
                targets_seen = true;
                for (bool first_target = true;; first_target = false) {
                        json_auto_t *name = NULL;
                        json_auto_t *saved = NULL;

                        if (reader_expect(&r, '}'))
                                break;
                        if (!first_target && !reader_expect(&r, ',')) {
                                reader_fail(&r, "expected , or }", ret_reason, reason_size);
                                goto broken;
                        }
                        name = reader_value(&r, ret_reason, reason_size);
                        if (!name)
                                goto broken;
                        if (!json_is_string(name) || !reader_expect(&r, ':')) {
                                reader_fail(&r, "expected a target name and :", ret_reason, reason_size);
                                goto broken;
                        }
                        saved = reader_value(&r, ret_reason, reason_size);
                        if (!saved)
                                goto broken;
                        int k = entry(json_string_value(name), saved, version, userdata);
                        if (k < 0)
                                return k;
                }
        }
        reader_skip_space(&r);
        if (r.position < r.size) {
                reader_fail(&r, "data after the document", ret_reason, reason_size);
                goto broken;
        }
        if (!targets_seen) {
                snprintf(ret_reason, reason_size, "no targets object");
                return -EBADMSG;
        }
        return 0;

broken:
        /* Cut short or damaged past its head: the entries before the damage are good, and kept. */
        return targets_seen ? 1 : -EBADMSG;
}

/* --- the certificate path, for the renewal diff after a restart ---------------------------------- */

/* The optional "path" member (since issue 16; readers before it ignore it, and without it the diff is
 * partial): what cert_diff() compares of the leaf, its intermediate and its root. */

static int hex_to_bytes(const char *hex, uint8_t *out, size_t max, uint8_t *ret_n) {
        size_t length = 0;

        if (!hex || !*hex) {
                *ret_n = 0;
                return 0;
        }
        if (strlen(hex) > 2 * max || OPENSSL_hexstr2buf_ex(out, max, &length, hex, '\0') != 1)
                return -EBADMSG;
        *ret_n = (uint8_t) length;
        return 0;
}

static json_t *certificate_state_to_json(const Certificate *c) {
        char sha256[65], spki[65], ski[2 * CERTIFICATE_KEY_ID_MAX + 1], aki[2 * CERTIFICATE_KEY_ID_MAX + 1];

        certificate_sha256_hex(c, sha256);
        certificate_hex(c->spki_sha256, sizeof(c->spki_sha256), spki);
        certificate_hex(c->subject_key_id, c->n_subject_key_id, ski);
        certificate_hex(c->authority_key_id, c->n_authority_key_id, aki);
        json_t *names = json_array();
        for (size_t i = 0; names && i < c->n_subject_alt_names; i++)
                if (json_array_append_new(names, json_string(c->subject_alt_names[i])) < 0)
                        names = (json_decref(names), NULL);
        return json_pack(
                "{s:s, s:s, s:s, s:I, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:I, s:o}", "sha256", sha256,
                "subject", c->subject, "issuer", c->issuer, "not_before_unix", (json_int_t) c->not_before,
                "not_after_unix", (json_int_t) c->not_after, "key_type", c->key_type, "key_bits",
                c->key_bits, "signature_algorithm", c->signature_algorithm, "spki_sha256", spki,
                "subject_key_id", ski, "authority_key_id", aki, "extended_key_usage",
                c->extended_key_usage == UINT32_MAX ? (json_int_t) -1 : (json_int_t) c->extended_key_usage,
                "subject_alt_names", names);
}

static json_t *path_to_json(const TargetState *state) {
        if (!state->leaf || !state->leaf->has_details)
                return NULL;
        json_t *o = json_pack("{s:o}", "leaf", certificate_state_to_json(state->leaf));
        if (o &&
            ((state->intermediate &&
              json_object_set_new(o, "intermediate", certificate_state_to_json(state->intermediate)) < 0) ||
             (state->root && json_object_set_new(o, "root", certificate_state_to_json(state->root)) < 0)))
                o = (json_decref(o), NULL);
        return o;
}

/* The names a Certificate holds as static strings are OpenSSL's own, found again by name. */
static const char *static_key_type(const char *name) {
        static const char *const known[] = { "RSA", "RSA-PSS", "DSA", "EC" };
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strcmp(name, known[i]) == 0)
                        return known[i];
        int nid = OBJ_sn2nid(name);
        return nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
}

static int certificate_state_from_json(json_t *o, Certificate **ret) {
        const char *sha256 = NULL, *subject = NULL, *issuer = NULL, *key_type = NULL, *signature = NULL,
                   *spki = NULL, *ski = NULL, *aki = NULL;
        json_int_t not_before = 0, not_after = 0, eku = -1;
        int key_bits = 0;
        json_t *names = NULL;
        uint8_t digest[32], spki_digest[32];
        uint8_t n = 0;

        if (json_unpack(o, "{s:s, s:s, s:s, s:I, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:I, s:o}", "sha256",
                        &sha256, "subject", &subject, "issuer", &issuer, "not_before_unix", &not_before,
                        "not_after_unix", &not_after, "key_type", &key_type, "key_bits", &key_bits,
                        "signature_algorithm", &signature, "spki_sha256", &spki, "subject_key_id", &ski,
                        "authority_key_id", &aki, "extended_key_usage", &eku, "subject_alt_names",
                        &names) < 0 ||
            !json_is_array(names) || json_array_size(names) > 256 || eku < -1 ||
            eku > (json_int_t) UINT32_MAX - 1 || hex_to_bytes(sha256, digest, 32, &n) < 0 || n != 32 ||
            hex_to_bytes(spki, spki_digest, 32, &n) < 0 || n != 32)
                return -EBADMSG;

        size_t n_names = json_array_size(names);
        _cleanup_free_ char **list = calloc(MAX(n_names, (size_t) 1), sizeof(char *));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n_names; i++)
                if (!(list[i] = (char *) json_string_value(json_array_get(names, i))))
                        return -EBADMSG;

        Certificate *c = NULL;
        int r = certificate_new(digest, (int64_t) not_before, (int64_t) not_after, static_key_type(key_type),
                                key_bits, OBJ_nid2ln(OBJ_ln2nid(signature)), subject, issuer, list, n_names,
                                &c);
        if (r < 0)
                return r;
        memcpy(c->spki_sha256, spki_digest, 32);
        if (hex_to_bytes(ski, c->subject_key_id, CERTIFICATE_KEY_ID_MAX, &c->n_subject_key_id) < 0 ||
            hex_to_bytes(aki, c->authority_key_id, CERTIFICATE_KEY_ID_MAX, &c->n_authority_key_id) < 0) {
                certificate_unref(c);
                return -EBADMSG;
        }
        c->extended_key_usage = eku < 0 ? UINT32_MAX : (uint32_t) eku;
        c->has_details = true;
        *ret = c;
        return 0;
}

/* Replaces the stub leaf by the saved path when there is one and it is the leaf the entry names. A
 * malformed path is dropped, not the entry: the diff is then only partial. */
static void path_from_json(json_t *path, TargetState *state) {
        Certificate *leaf = NULL, *intermediate = NULL, *root = NULL;
        char sha256[65];

        if (!json_is_object(path) || certificate_state_from_json(json_object_get(path, "leaf"), &leaf) < 0)
                return;
        certificate_sha256_hex(leaf, sha256);
        if (strcmp(sha256, state->sha256) != 0 ||
            (json_object_get(path, "intermediate") &&
             certificate_state_from_json(json_object_get(path, "intermediate"), &intermediate) < 0) ||
            (json_object_get(path, "root") &&
             certificate_state_from_json(json_object_get(path, "root"), &root) < 0)) {
                certificate_unref(leaf);
                certificate_unref(intermediate);
                certificate_unref(root);
                return;
        }
        certificate_unref(state->leaf);
        state->leaf = leaf;
        state->subject = leaf->subject;
        state->issuer = leaf->issuer;
        state->intermediate = intermediate;
        state->root = root;
}

int state_file_decode(json_t *saved, int version, const char *address, TargetState *ret) {
        TargetState state = { .status = STATUS_UNKNOWN };
        const char *saved_address;
        int r;

        assert(address);
        assert(ret);
        if (!json_is_object(saved))
                return -EBADMSG;
        /* A target that now points elsewhere starts afresh. */
        saved_address = json_string_value(json_object_get(saved, "address"));
        if (!saved_address || strcmp(saved_address, address) != 0)
                return 0;
        r = version >= 2 ? entry_from_json_v2(saved, &state) : entry_from_json_v1(saved, &state);
        if (r < 0) {
                target_state_clear(&state);
                return -EBADMSG;
        }
        path_from_json(json_object_get(saved, "path"), &state);
        *ret = state;
        return 1;
}

int state_file_find(json_t *document, const char *name, const char *address, TargetState *ret) {
        json_t *saved = json_object_get(json_object_get(document, "targets"), name);
        json_t *version = json_object_get(document, "version");

        assert(name);
        if (!saved)
                return 0;
        return state_file_decode(saved, version ? (int) json_integer_value(version) : 1, address, ret);
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
        json_t *path = o ? path_to_json(state) : NULL;
        if (path && json_object_set_new(o, "path", path) < 0)
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
        int r = 0;

        /* Reals at full precision: this file is read back by a machine, not by a person. A failed
         * write says why (a full disk is ENOSPC, not "out of memory"). */
        errno = 0;
        if (!o || !key)
                r = -ENOMEM;
        else if (fputs(first ? "" : ",", f) < 0 || json_dumpf(key, f, JSON_ENCODE_ANY) != 0 ||
                 fputc(':', f) == EOF || json_dumpf(o, f, JSON_COMPACT) != 0)
                r = errno > 0 ? -errno : -EIO;
        json_decref(o);
        json_decref(key);
        return r;
}

int state_file_write_tail(FILE *f) {
        assert(f);
        return fputs("}}", f) < 0 ? -EIO : 0;
}
