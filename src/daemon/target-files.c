/* SPDX-License-Identifier: MIT */
/* The listener's own files, checked beside each probe: read from disk only when they change (a fleet
 * probes often and renews rarely), then linted and compared with what the probe saw, as pure code over
 * what was read. The files' findings join the probe's, so their expiry is watched even while the
 * listener is down. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cert-check.h"
#include "cert-file.h"
#include "cert-lint.h"
#include "file-util.h"
#include "target-files.h"
#include "time-util.h"

enum {
        FILE_CERT,
        FILE_KEY,
        FILE_CACERT,
        _FILE_MAX,
};

/* A file behind the listener, as last read. */
typedef struct WatchedFile {
        struct stat st;
        CertFile *parsed;
        int error; /* why it could not be read, or 0 */
} WatchedFile;

struct TargetFiles {
        WatchedFile files[_FILE_MAX];
};

/* The path of each file: a combined .pem holds the key too when KeyFile= is not given. */
static void file_paths(const TargetFilesPaths *paths, const char *ret[static _FILE_MAX]) {
        ret[FILE_CERT] = paths->cert_file;
        ret[FILE_KEY] = paths->key_file ?: paths->cert_file;
        ret[FILE_CACERT] = paths->cacert_file;
}

int target_files_new(TargetFiles **ret) {
        assert(ret);

        *ret = calloc(1, sizeof(TargetFiles));
        return *ret ? 0 : -ENOMEM;
}

TargetFiles *target_files_free(TargetFiles *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < _FILE_MAX; i++)
                cert_file_free(f->files[i].parsed);
        free(f);
        return NULL;
}

static void watched_file_refresh(WatchedFile *f, const char *path) {
        struct stat st;

        if (stat(path, &st) < 0) {
                f->error = -errno;
                f->parsed = cert_file_free(f->parsed);
                return;
        }
        if (f->parsed && st.st_ino == f->st.st_ino && st.st_size == f->st.st_size &&
            st.st_mtim.tv_sec == f->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec)
                return;
        f->st = st;
        f->parsed = cert_file_free(f->parsed);
        f->error = cert_file_load(path, &f->parsed);
}

void target_files_refresh(TargetFiles *f, const TargetFilesPaths *paths) {
        const char *p[_FILE_MAX];

        assert(f);
        assert(paths);

        if (!paths->cert_file)
                return;
        file_paths(paths, p);
        for (size_t i = 0; i < _FILE_MAX; i++)
                if (p[i])
                        watched_file_refresh(&f->files[i], p[i]);
}

/* Stale: an address serves a leaf other than the file's, and the file's is the one to load. Only the
 * first such address is named: one reload of the broker fixes them all. */
static int check_stale(X509 *disk_leaf, const char *cert_path, Report *report) {
        _cleanup_(certificate_unrefp) Certificate *disk = NULL;
        char issued[32], expires[32];
        int r;

        r = cert_check_describe(disk_leaf, &disk);
        if (r < 0)
                return r;
        for (size_t i = 0; i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];

                if (a->n_chain == 0 || !a->chain[0].sent ||
                    memcmp(a->chain[0].certificate->sha256, disk->sha256, sizeof(disk->sha256)) == 0)
                        continue;
                return problem_list_add(
                        &report->problems, PROBLEM_STALE_CERTIFICATE, STATUS_WARNING, 0, -1,
                        "the certificate on disk (%s) was issued on %s, but %s still serves the one "
                        "that expires %s: reload the broker",
                        cert_path, format_timestamp_rfc3339(issued, sizeof(issued), disk->not_before), a->address,
                        format_timestamp_rfc3339(expires, sizeof(expires), a->chain[0].certificate->not_after));
        }
        return 0;
}

static int check_loaded(const TargetFiles *f, const char *const p[static _FILE_MAX],
                        const TargetFilesCheck *check, Report *report) {
        AddressReport files = {};
        int r;

        for (size_t i = 0; i < _FILE_MAX; i++)
                if (p[i] && f->files[i].error < 0)
                        return problem_list_add(&report->problems, PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL,
                                                -1, -1, "%s: cannot read the listener's file: %s", p[i],
                                                file_error_text(f->files[i].error));

        LintInput input = {
                .certfile = f->files[FILE_CERT].parsed,
                .keyfile = f->files[FILE_KEY].parsed,
                .cacertfile = p[FILE_CACERT] ? f->files[FILE_CACERT].parsed : NULL,
                .key_mode = (int) (f->files[FILE_KEY].st.st_mode & 07777),
                .trust = check->trust,
                .now = check->now,
                .expiry = check->expiry,
        };
        r = cert_lint(&input, &files);
        for (size_t i = 0; r >= 0 && i < files.problems.n; i++) {
                const Problem *problem = &files.problems.items[i];
                r = problem_list_add(&report->problems, problem->code, problem->severity, problem->depth,
                                     problem->verify_code, "%s: %s", p[FILE_CERT], problem->message);
        }
        address_report_clear(&files);
        if (r < 0)
                return r;

        STACK_OF(X509) *on_disk = cert_file_certificates(f->files[FILE_CERT].parsed);
        if (on_disk && sk_X509_num(on_disk) > 0)
                r = check_stale(sk_X509_value(on_disk, 0), p[FILE_CERT], report);
        sk_X509_pop_free(on_disk, X509_free);
        return r;
}

int target_files_check(const TargetFiles *f, const TargetFilesPaths *paths, const TargetFilesCheck *check,
                       Report *report) {
        const char *p[_FILE_MAX];
        int r, k;

        assert(f);
        assert(paths);
        assert(check);
        assert(report);

        if (!paths->cert_file)
                return 0;
        file_paths(paths, p);
        r = check_loaded(f, p, check, report);
        /* The statuses follow the problems added, even when adding stopped half-way. */
        k = report_finalize(report);
        return r < 0 ? r : k;
}
