/* SPDX-License-Identifier: MIT */
/* Reading whole small files: configuration files and secrets (MQTT passwords). Both are bounded in
 * size and must be text. */
#pragma once

#include <stdio.h>

#include <stddef.h>

/* Reads the file into a NUL-terminated string. Returns 0, -errno, -EFBIG (larger than max_size) or
 * -EBADMSG (it holds a NUL byte). */
int read_full_file(const char *path, size_t max_size, char **ret);

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
