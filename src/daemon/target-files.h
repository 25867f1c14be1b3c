/* SPDX-License-Identifier: MIT */
/* The files behind a listener (CertFile=, KeyFile=, CACertFile=): linted by the mapping rules, and the
 * certificate on disk compared with the one served, so a renewal the broker never loaded shows as
 * stale_certificate. Each file is re-read only when its inode, size or mtime changes. */
#pragma once

#include <openssl/x509_vfy.h>
#include <time.h>

#include "expiry-policy.h"
#include "macro.h"
#include "report.h"

/* The paths one target names; `cert_file` NULL means it names none and nothing is checked. */
typedef struct TargetFilesPaths {
        const char *cert_file;   /* CertFile= */
        const char *key_file;    /* KeyFile=; NULL: the key is in cert_file */
        const char *cacert_file; /* CACertFile=; NULL: not given */
} TargetFilesPaths;

/* What one target last read of its files. Allocated only for a target that names them, since three
 * struct stat cost 0.5 KiB a target. */
typedef struct TargetFiles TargetFiles;

int target_files_new(TargetFiles **ret);
TargetFiles *target_files_free(TargetFiles *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(TargetFiles *, target_files_free);

/* Re-reads each named file that changed since the last call (or could not be read then). */
void target_files_refresh(TargetFiles *f, const TargetFilesPaths *paths);

typedef struct TargetFilesCheck {
        X509_STORE *trust; /* the anchors the listener's clients trust */
        time_t now;
        ExpiryPolicy expiry;
} TargetFilesCheck;

/* Adds the files' findings to `report` (a finished probe's) and finalizes it again: an unreadable
 * file, the lint's problems prefixed with the certfile's path, and stale_certificate when an address
 * serves a leaf other than the file's. Reads only what target_files_refresh() loaded. Returns 0 or
 * -ENOMEM. */
int target_files_check(const TargetFiles *f, const TargetFilesPaths *paths, const TargetFilesCheck *check,
                       Report *report);
