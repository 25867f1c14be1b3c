/* SPDX-License-Identifier: MIT */
/* Whole-file reads with a size bound, and secrets from files or systemd credentials
 * (systemd.exec(5), LoadCredential=: the service finds them under $CREDENTIALS_DIRECTORY). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "macro.h"

/* Keeps `fd` if it is a regular file, then in blocking mode again (a regular file never blocks anyway;
 * cleared so that whoever reads or writes the fd sees a plain file). Closes it otherwise. */
static int verify_regular(int fd, struct stat *ret_stat) {
        struct stat st = {};
        int flags, r;

        r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r == 0 && !S_ISREG(st.st_mode))
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        if (r == 0 && ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0))
                r = -errno;
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        if (ret_stat)
                *ret_stat = st;
        return fd;
}

int open_regular_file(const char *path, struct stat *ret_stat) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        return verify_regular(fd, ret_stat);
}

int read_regular_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *data = NULL;
        struct stat st = {};
        size_t size, used = 0;
        int fd, r = 0;

        assert(max_size < SIZE_MAX / 2);
        fd = open_regular_file(path, &st);
        if (fd < 0)
                return fd;
        if ((uint64_t) st.st_size > max_size) {
                safe_close(fd);
                return -EFBIG;
        }
        /* The size stat() gave is a hint only: the file may grow while it is read, up to the bound. */
        size = (size_t) st.st_size + 1;
        for (;;) {
                if (used + 1 >= size) {
                        if (used > max_size) {
                                r = -EFBIG;
                                break;
                        }
                        size = MIN(MAX(size * 2, (size_t) 4096), max_size + 2);
                        char *bigger = realloc(data, size);
                        if (!bigger) {
                                r = -ENOMEM;
                                break;
                        }
                        data = bigger;
                } else if (!data) {
                        data = malloc(size);
                        if (!data) {
                                r = -ENOMEM;
                                break;
                        }
                }
                ssize_t n = read(fd, data + used, size - used - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                used += (size_t) n;
        }
        safe_close(fd);
        if (r < 0)
                return r;
        if (used > max_size)
                return -EFBIG;
        data[used] = '\0';
        *ret = TAKE_PTR(data);
        if (ret_size)
                *ret_size = used;
        return 0;
}

int read_full_file(const char *path, size_t max_size, char **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = read_regular_file(path, max_size, &data, &size);
        if (r < 0)
                return r;
        if (strlen(data) != size)
                return -EBADMSG;
        *ret = TAKE_PTR(data);
        return 0;
}

const char *file_error_text(int r) {
        switch (r) {
        case -EISDIR:
                return "it is a directory, not a file";
        case -EBADFD:
                return "not a regular file (a FIFO, socket or device); refused, as reading it could block";
        case -EFBIG:
                return "the file is too large";
        case -EBADMSG:
                return "it holds a NUL byte, not text";
        default:
                return strerror(-r);
        }
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

/* The temporary file beside a file written atomically. Someone may have left anything under its name:
 * a FIFO there would block open() for writing until a reader came (O_NONBLOCK: ENXIO instead). */
static int open_temporary(const char *temporary, unsigned mode) {
        int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
        if (fd < 0)
                return errno == ENXIO ? -EBADFD : -errno;
        return verify_regular(fd, NULL);
}

int write_file_atomic(const char *path, const char *data, size_t size, unsigned mode) {
        _cleanup_free_ char *temporary = NULL;
        int fd, r = 0;

        if (asprintf(&temporary, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open_temporary(temporary, mode);
        if (fd < 0)
                return fd;
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
        fd = open_temporary(temporary, mode);
        if (fd < 0)
                return fd;
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
