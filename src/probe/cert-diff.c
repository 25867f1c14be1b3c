/* SPDX-License-Identifier: MIT */
/* The renewal diff's rules. Each change kind compares only what both sides know: a leaf the state file
 * rebuilt (fingerprint and names only) still yields issuer and subject changes, and the diff says it
 * is partial rather than inventing "key rotated". */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert-diff.h"
#include "string-table.h"

static const char *const cert_change_kind_table[_CERT_CHANGE_KIND_MAX] = {
        [CERT_CHANGE_ISSUER] = "issuer_changed",
        [CERT_CHANGE_INTERMEDIATE] = "intermediate_changed",
        [CERT_CHANGE_ROOT] = "root_changed",
        [CERT_CHANGE_KEY_REUSED] = "key_reused",
        [CERT_CHANGE_KEY_ROTATED] = "key_rotated",
        [CERT_CHANGE_KEY_TYPE] = "key_type_changed",
        [CERT_CHANGE_SAN_ADDED] = "san_added",
        [CERT_CHANGE_SAN_REMOVED] = "san_removed",
        [CERT_CHANGE_CLIENT_AUTH_DROPPED] = "client_auth_dropped",
        [CERT_CHANGE_CLIENT_AUTH_ADDED] = "client_auth_added",
        [CERT_CHANGE_LIFETIME] = "lifetime_changed",
        [CERT_CHANGE_SUBJECT] = "subject_changed",
        [CERT_CHANGE_SIGNATURE_ALGORITHM] = "signature_algorithm_changed",
};

DEFINE_STRING_TABLE_LOOKUP(cert_change_kind, CertChangeKind, _CERT_CHANGE_KIND_MAX);

/* A lifetime that moved by less than this is the same policy (CAs back-date notBefore by minutes). */
#define LIFETIME_SLACK_SECONDS 3600

static bool is_self_issued(const Certificate *c) {
        return strcmp(c->subject, c->issuer) == 0;
}

CertPath cert_path_of(const ChainLink *chain, size_t n_chain) {
        CertPath path = {};

        if (n_chain == 0)
                return path;
        path.leaf = chain[0].certificate;
        if (n_chain > 1) {
                const Certificate *last = chain[n_chain - 1].certificate;
                if (is_self_issued(last))
                        path.root = last;
                if (n_chain > 2 || !path.root)
                        path.intermediate = chain[1].certificate;
        }
        return path;
}

static void change_clear(CertChange *c) {
        free(c->old_value);
        free(c->new_value);
        for (size_t i = 0; i < c->n_names; i++)
                free(c->names[i]);
        free(c->names);
}

void cert_diff_clear(CertDiff *diff) {
        for (size_t i = 0; i < diff->n_changes; i++)
                change_clear(&diff->changes[i]);
        free(diff->changes);
        *diff = (CertDiff){};
}

bool cert_diff_has(const CertDiff *diff, CertChangeKind kind) {
        for (size_t i = 0; i < diff->n_changes; i++)
                if (diff->changes[i].kind == kind)
                        return true;
        return false;
}

static CertChange *diff_add(CertDiff *diff, CertChangeKind kind, const char *old_value,
                            const char *new_value) {
        CertChange *changes = realloc(diff->changes, (diff->n_changes + 1) * sizeof(CertChange));
        if (!changes)
                return NULL;
        diff->changes = changes;
        CertChange *c = &changes[diff->n_changes];
        *c = (CertChange){ .kind = kind };
        if ((old_value && !(c->old_value = strdup(old_value))) ||
            (new_value && !(c->new_value = strdup(new_value)))) {
                change_clear(c);
                return NULL;
        }
        diff->n_changes++;
        return c;
}

/* "CN=R10 (key id 1a2b3c4d...)": who a CA is, by name and, when known, by key. */
static void ca_identity(const char *name, const uint8_t *key_id, size_t n_key_id, char *buffer,
                        size_t size) {
        char hex[2 * CERTIFICATE_KEY_ID_MAX + 1];

        if (n_key_id == 0) {
                snprintf(buffer, size, "%s", name);
                return;
        }
        certificate_hex(key_id, n_key_id, hex);
        snprintf(buffer, size, "%s (key id %s)", name, hex);
}

/* The issuing CA of a path: its name from the leaf, its key id from the intermediate's
 * subjectKeyIdentifier or else the leaf's authorityKeyIdentifier. */
static void issuer_of(const CertPath *path, const uint8_t **ret_key_id, size_t *ret_n) {
        if (path->intermediate && path->intermediate->n_subject_key_id > 0) {
                *ret_key_id = path->intermediate->subject_key_id;
                *ret_n = path->intermediate->n_subject_key_id;
        } else {
                *ret_key_id = path->leaf->authority_key_id;
                *ret_n = path->leaf->n_authority_key_id;
        }
}

static bool name_in(const Certificate *c, const char *name) {
        for (size_t i = 0; i < c->n_subject_alt_names; i++)
                if (strcmp(c->subject_alt_names[i], name) == 0)
                        return true;
        return false;
}

/* The names of `a` that `b` lacks. */
static int diff_names(CertDiff *diff, CertChangeKind kind, const Certificate *a, const Certificate *b) {
        CertChange *c = NULL;

        for (size_t i = 0; i < a->n_subject_alt_names; i++) {
                const char *name = a->subject_alt_names[i];
                if (name_in(b, name))
                        continue;
                if (!c && !(c = diff_add(diff, kind, NULL, NULL)))
                        return -ENOMEM;
                c->n_names_total++;
                if (c->n_names >= CERT_CHANGE_NAMES_MAX)
                        continue;
                char **names = realloc(c->names, (c->n_names + 1) * sizeof(char *));
                if (!names)
                        return -ENOMEM;
                c->names = names;
                if (!(c->names[c->n_names] = strdup(name)))
                        return -ENOMEM;
                c->n_names++;
        }
        return 0;
}

static void lifetime_text(int64_t seconds, char *buffer, size_t size) {
        if (seconds < 2 * 86400)
                snprintf(buffer, size, "%.0f hours", (double) seconds / 3600.0);
        else
                snprintf(buffer, size, "%.0f days", (double) seconds / 86400.0);
}

static int diff_issuers(const CertPath *o, const CertPath *n, CertDiff *diff) {
        const uint8_t *old_id, *new_id;
        size_t n_old_id, n_new_id;
        char a[1200], b[1200];

        issuer_of(o, &old_id, &n_old_id);
        issuer_of(n, &new_id, &n_new_id);
        bool name_differs = strcmp(o->leaf->issuer, n->leaf->issuer) != 0;
        bool key_differs = n_old_id > 0 && n_new_id > 0 &&
                           (n_old_id != n_new_id || memcmp(old_id, new_id, n_old_id) != 0);
        if (!name_differs && !key_differs)
                return 0;

        ca_identity(o->leaf->issuer, old_id, n_old_id, a, sizeof(a));
        ca_identity(n->leaf->issuer, new_id, n_new_id, b, sizeof(b));
        /* An intermediate on either side: the CA a device may pin or ship changed. A leaf straight
         * under its root only names another issuer (the root change says the rest). */
        CertChangeKind kind = o->intermediate || n->intermediate ? CERT_CHANGE_INTERMEDIATE
                                                                 : CERT_CHANGE_ISSUER;
        return diff_add(diff, kind, a, b) ? 0 : -ENOMEM;
}

int cert_diff(const CertPath *o, const CertPath *n, CertDiff *ret) {
        CertDiff diff = {};
        char a[128], b[128];
        int r = -ENOMEM;

        assert(o && o->leaf);
        assert(n && n->leaf);
        assert(ret);

        const Certificate *ol = o->leaf, *nl = n->leaf;
        bool details = ol->has_details && nl->has_details;
        diff.partial = !details;

        if (strcmp(ol->subject, nl->subject) != 0 &&
            !diff_add(&diff, CERT_CHANGE_SUBJECT, ol->subject, nl->subject))
                goto fail;
        if (diff_issuers(o, n, &diff) < 0)
                goto fail;
        if (o->root && n->root && memcmp(o->root->sha256, n->root->sha256, sizeof(o->root->sha256)) != 0 &&
            !diff_add(&diff, CERT_CHANGE_ROOT, o->root->subject, n->root->subject))
                goto fail;

        if (details) {
                char old_key[65], new_key[65];
                certificate_hex(ol->spki_sha256, 32, old_key);
                certificate_hex(nl->spki_sha256, 32, new_key);
                bool same = memcmp(ol->spki_sha256, nl->spki_sha256, 32) == 0;
                if (!diff_add(&diff, same ? CERT_CHANGE_KEY_REUSED : CERT_CHANGE_KEY_ROTATED, old_key,
                              new_key))
                        goto fail;
                if (strcmp(ol->key_type, nl->key_type) != 0 || ol->key_bits != nl->key_bits) {
                        snprintf(a, sizeof(a), "%s %d", ol->key_type, ol->key_bits);
                        snprintf(b, sizeof(b), "%s %d", nl->key_type, nl->key_bits);
                        if (!diff_add(&diff, CERT_CHANGE_KEY_TYPE, a, b))
                                goto fail;
                }
                if (diff_names(&diff, CERT_CHANGE_SAN_ADDED, nl, ol) < 0 ||
                    diff_names(&diff, CERT_CHANGE_SAN_REMOVED, ol, nl) < 0)
                        goto fail;
                bool old_client = certificate_allows_client_auth(ol),
                     new_client = certificate_allows_client_auth(nl);
                if (old_client != new_client &&
                    !diff_add(&diff,
                              old_client ? CERT_CHANGE_CLIENT_AUTH_DROPPED : CERT_CHANGE_CLIENT_AUTH_ADDED,
                              NULL, NULL))
                        goto fail;
                int64_t old_life = ol->not_after - ol->not_before, new_life = nl->not_after - nl->not_before;
                if (old_life - new_life > LIFETIME_SLACK_SECONDS ||
                    new_life - old_life > LIFETIME_SLACK_SECONDS) {
                        lifetime_text(old_life, a, sizeof(a));
                        lifetime_text(new_life, b, sizeof(b));
                        if (!diff_add(&diff, CERT_CHANGE_LIFETIME, a, b))
                                goto fail;
                }
                if (strcmp(ol->signature_algorithm, nl->signature_algorithm) != 0 &&
                    !diff_add(&diff, CERT_CHANGE_SIGNATURE_ALGORITHM, ol->signature_algorithm,
                              nl->signature_algorithm))
                        goto fail;
        }

        *ret = diff;
        return 0;
fail:
        cert_diff_clear(&diff);
        return r;
}

static void names_text(const CertChange *c, char *buffer, size_t size) {
        size_t used = 0;

        buffer[0] = '\0';
        for (size_t i = 0; i < c->n_names && i < 6; i++) {
                int k = snprintf(buffer + used, size - used, "%s%s", i ? ", " : "", c->names[i]);
                if (k < 0 || (size_t) k >= size - used)
                        return;
                used += (size_t) k;
        }
        if (c->n_names_total > 6)
                snprintf(buffer + used, size - used, " and %zu more", c->n_names_total - 6);
}

void cert_change_describe(const CertChange *c, char *buffer, size_t size) {
        char names[512];

        switch (c->kind) {
        case CERT_CHANGE_ISSUER:
                snprintf(buffer, size, "issuer \"%s\" -> \"%s\"", c->old_value, c->new_value);
                break;
        case CERT_CHANGE_INTERMEDIATE:
                snprintf(buffer, size, "intermediate \"%s\" -> \"%s\"", c->old_value, c->new_value);
                break;
        case CERT_CHANGE_ROOT:
                snprintf(buffer, size, "root \"%s\" -> \"%s\"", c->old_value, c->new_value);
                break;
        case CERT_CHANGE_KEY_REUSED:
                snprintf(buffer, size, "key reused (sha256 %.16s...)", c->new_value);
                break;
        case CERT_CHANGE_KEY_ROTATED:
                snprintf(buffer, size, "key rotated (sha256 %.16s... -> %.16s...)", c->old_value,
                         c->new_value);
                break;
        case CERT_CHANGE_KEY_TYPE:
                snprintf(buffer, size, "key %s -> %s", c->old_value, c->new_value);
                break;
        case CERT_CHANGE_SAN_ADDED:
        case CERT_CHANGE_SAN_REMOVED:
                names_text(c, names, sizeof(names));
                snprintf(buffer, size, "SAN %s: %s", c->kind == CERT_CHANGE_SAN_ADDED ? "added" : "removed",
                         names);
                break;
        case CERT_CHANGE_CLIENT_AUTH_DROPPED:
                snprintf(buffer, size, "clientAuth dropped from the extended key usage");
                break;
        case CERT_CHANGE_CLIENT_AUTH_ADDED:
                snprintf(buffer, size, "clientAuth added to the extended key usage");
                break;
        case CERT_CHANGE_LIFETIME:
                snprintf(buffer, size, "lifetime %s -> %s", c->old_value, c->new_value);
                break;
        case CERT_CHANGE_SUBJECT:
                snprintf(buffer, size, "subject \"%s\" -> \"%s\"", c->old_value, c->new_value);
                break;
        case CERT_CHANGE_SIGNATURE_ALGORITHM:
                snprintf(buffer, size, "signature %s -> %s", c->old_value, c->new_value);
                break;
        default:
                snprintf(buffer, size, "?");
        }
}

void cert_diff_describe(const CertDiff *diff, char *buffer, size_t size) {
        size_t used = 0;

        assert(size > 0);
        buffer[0] = '\0';
        for (size_t i = 0; i < diff->n_changes; i++) {
                char clause[2600];
                cert_change_describe(&diff->changes[i], clause, sizeof(clause));
                int k = snprintf(buffer + used, size - used, "%s%s", used ? "; " : "", clause);
                if (k < 0 || (size_t) k >= size - used) {
                        buffer[used] = '\0'; /* whole clauses only */
                        return;
                }
                used += (size_t) k;
        }
}
