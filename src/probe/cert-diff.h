/* SPDX-License-Identifier: MIT */
/* The renewal diff: what changed between the certificate path a listener served before and the one it
 * serves now (issuer, intermediate, root, key, names, key type, EKU, lifetime). Pure: two summaries in,
 * a list of changes out, so the rules are unit-tested and fuzzed without a listener. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "report.h"

typedef enum CertChangeKind {
        CERT_CHANGE_ISSUER,       /* the leaf names another issuer */
        CERT_CHANGE_INTERMEDIATE, /* the issuing CA certificate: another subject or key id */
        CERT_CHANGE_ROOT,         /* the root the path verified to */
        CERT_CHANGE_KEY_REUSED,   /* a new certificate for the old key */
        CERT_CHANGE_KEY_ROTATED,  /* a new key */
        CERT_CHANGE_KEY_TYPE,     /* another algorithm or size */
        CERT_CHANGE_SAN_ADDED,
        CERT_CHANGE_SAN_REMOVED,
        CERT_CHANGE_CLIENT_AUTH_DROPPED, /* the old leaf allowed clientAuth, the new one does not */
        CERT_CHANGE_CLIENT_AUTH_ADDED,
        CERT_CHANGE_LIFETIME, /* notAfter - notBefore differs */
        CERT_CHANGE_SUBJECT,
        CERT_CHANGE_SIGNATURE_ALGORITHM,
        _CERT_CHANGE_KIND_MAX,
        _CERT_CHANGE_KIND_INVALID = -EINVAL,
} CertChangeKind;

/* The names a SAN change lists, at most; the sentence says how many more. */
#define CERT_CHANGE_NAMES_MAX 32

typedef struct CertChange {
        CertChangeKind kind;
        char *old_value; /* what it was and is now, for the kinds that have a value; else NULL */
        char *new_value;
        char **names; /* SAN_ADDED / SAN_REMOVED: the names */
        size_t n_names;
        size_t n_names_total;
} CertChange;

typedef struct CertDiff {
        CertChange *changes;
        size_t n_changes;
        /* The old leaf was known only by fingerprint, subject and issuer (the state file's, after a
         * restart): key, names, EKU and lifetime could not be compared. */
        bool partial;
} CertDiff;

/* A served path as the diff sees it: the leaf, the CA certificate that issued it (NULL when the
 * leaf is issued by the root, or was not known) and the root the path verified to (NULL if none). */
typedef struct CertPath {
        const Certificate *leaf;
        const Certificate *intermediate;
        const Certificate *root;
} CertPath;

/* The path of a report's chain (the verified path when there was one): depth 1 is the intermediate
 * unless it is the last and self-issued, the last self-issued one is the root. */
CertPath cert_path_of(const ChainLink *chain, size_t n_chain);

/* Compares two paths; both leaves must be set. Returns 0 and the changes in *ret (possibly none),
 * or -ENOMEM. */
int cert_diff(const CertPath *old_path, const CertPath *new_path, CertDiff *ret);
void cert_diff_clear(CertDiff *diff);

bool cert_diff_has(const CertDiff *diff, CertChangeKind kind);

/* The stable names used in JSON and the journal: issuer_changed, intermediate_changed, root_changed,
 * key_reused, key_rotated, key_type_changed, san_added, san_removed, client_auth_dropped,
 * client_auth_added, lifetime_changed, subject_changed, signature_algorithm_changed. */
const char *cert_change_kind_to_string(CertChangeKind kind);
CertChangeKind cert_change_kind_from_string(const char *s);

/* One readable clause: "intermediate \"CN=R10\" (key id 1a2b...) -> \"CN=YR1\" (key id 3c4d...)". */
void cert_change_describe(const CertChange *change, char *buffer, size_t size);

/* All changes as one clause list, "; "-separated, cut to `size` whole clauses. */
void cert_diff_describe(const CertDiff *diff, char *buffer, size_t size);
