/* SPDX-License-Identifier: MIT */
/* Whole-file reads with a size bound, and secrets from files or systemd credentials
 * (systemd.exec(5), LoadCredential=: the service finds them under $CREDENTIALS_DIRECTORY). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "macro.h"

int read_full_file(const char *path, size_t max_size, char **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0, used = 0;
        FILE *f;
        int r = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                if (used + 1 >= size) {
                        if (size > max_size) {
                                r = -EFBIG;
                                break;
                        }
                        size = size ? size * 2 : 4096;
                        char *bigger = realloc(data, size);
                        if (!bigger) {
                                r = -ENOMEM;
                                break;
                        }
                        data = bigger;
                }
                size_t n = fread(data + used, 1, size - used - 1, f);
                used += n;
                if (n == 0) {
                        if (ferror(f))
                                r = -EIO;
                        break;
                }
        }
        fclose(f);
        if (r < 0)
                return r;
        if (used > max_size)
                return -EFBIG;
        data[used] = '\0';
        if (strlen(data) != used)
                return -EBADMSG;
        *ret = TAKE_PTR(data);
        return 0;
}

void erase_and_free(char *secret) {
        if (!secret)
                return;
        /* volatile, so the compiler cannot drop the stores as dead before free(). */
        for (volatile char *p = secret; *p; p++)
                *p = 0;
        free(secret);
}

int read_secret(const char *name, char **ret) {
        _cleanup_free_ char *path = NULL;
        char *data = NULL;
        int r;

        if (!strchr(name, '/')) {
                const char *directory = getenv("CREDENTIALS_DIRECTORY");
                if (!directory)
                        return -ENOENT;
                if (asprintf(&path, "%s/%s", directory, name) < 0)
                        return -ENOMEM;
        }

        r = read_full_file(path ?: name, SECRET_MAX, &data);
        if (r < 0)
                return r;
        if (!data) /* cannot happen; the static analyzer doubts that errno is positive when fopen() fails */
                return -EIO;
        data[strcspn(data, "\r\n")] = '\0';
        *ret = data;
        return 0;
}

int write_file_atomic(const char *path, const char *data, size_t size, unsigned mode) {
        _cleanup_free_ char *temporary = NULL;
        int fd, r = 0;

        if (asprintf(&temporary, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        /* The mode is the file's contract (a metrics file others read): not narrowed by the umask. */
        if (fchmod(fd, mode) < 0)
                r = -errno;
        for (size_t written = 0; written < size && r == 0;) {
                ssize_t n = write(fd, data + written, size - written);
                if (n < 0 && errno != EINTR)
                        r = -errno;
                else if (n > 0)
                        written += (size_t) n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        safe_close(fd);
        if (r == 0 && rename(temporary, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(temporary);
        return r;
}

int write_file_atomic_stream(const char *path, unsigned mode, int (*write_contents)(FILE *f, void *userdata),
                             void *userdata) {
        _cleanup_free_ char *temporary = NULL;
        int fd, r;

        assert(path);
        assert(write_contents);

        if (asprintf(&temporary, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                safe_close(fd);
                (void) unlink(temporary);
                return r;
        }
        /* The mode is the file's contract (a metrics file others read): not narrowed by the umask. */
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r == 0)
                r = write_contents(f, userdata);
        if (r == 0 && (fflush(f) != 0 || ferror(f)))
                r = -errno ?: -EIO;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(temporary, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(temporary);
        return r;
}
