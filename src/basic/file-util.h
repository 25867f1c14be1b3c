/* SPDX-License-Identifier: MIT */
/* Reading whole small files: configuration files, certificates and secrets (MQTT passwords). Every
 * file is opened so that it cannot block (a FIFO, a device), must be a regular file, and is bounded in
 * size; configuration and secrets must be text. */
#pragma once

#include <stdio.h>
#include <sys/stat.h>

#include <stddef.h>

/* Opens a file a configuration names, for reading, without ever blocking: O_NONBLOCK, so that open()
 * on a FIFO without a writer or on a device returns at once, and O_NOCTTY, so that a terminal never
 * becomes ours; then anything but a regular file is refused and O_NONBLOCK is cleared again. Returns
 * the fd (O_CLOEXEC), -EISDIR (a directory), -EBADFD (a FIFO, socket or device) or -errno; `ret_stat`
 * (may be NULL) gets its fstat(). */
int open_regular_file(const char *path, struct stat *ret_stat);

/* Reads a regular file (open_regular_file()) of at most max_size bytes whole; the data is followed by
 * a NUL that `ret_size` does not count. Returns 0, -EFBIG (larger than max_size) or as above. */
int read_regular_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* The same for text: into a NUL-terminated string. Returns 0, -EFBIG, -EBADMSG (it holds a NUL
 * byte) or as open_regular_file(). */
int read_full_file(const char *path, size_t max_size, char **ret);

/* Words for the errors of the functions above, for messages of the form "PATH: cannot read: WORDS":
 * what the operator must change, not "Input/output error" or "File descriptor in bad state". */
const char *file_error_text(int r);

/* The largest secret file: room for an OAuth or JWT bearer token of a few KiB. Error messages say
 * "larger than 16 KiB" (webhook.c), and the man pages too: change them with it. */
#define SECRET_MAX (16 * 1024)

/* Reads a secret: the file's first line, without its line ending, the file at most SECRET_MAX bytes
 * (else -EFBIG). `name` without a '/' is a systemd credential, looked up in $CREDENTIALS_DIRECTORY.
 * The caller frees the result with erase_and_free(). */
int read_secret(const char *name, char **ret);

/* Replaces `path` with `data` atomically: write a temporary file beside it, fsync, rename. A crash
 * leaves the old file or the new one, never half of one. Returns 0 or -errno. */
int write_file_atomic(const char *path, const char *data, size_t size, unsigned mode);

/* The same, the contents written by `write_contents` into the temporary file through stdio's small
 * buffer: a large file (a fleet's state, its metrics) is never held in memory whole. The callback
 * returns 0 or a negative errno. */
int write_file_atomic_stream(const char *path, unsigned mode, int (*write_contents)(FILE *f, void *userdata),
                             void *userdata);

/* Overwrites a secret before freeing it, so it does not linger in freed memory. */
void erase_and_free(char *secret);
