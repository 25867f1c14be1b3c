/* SPDX-License-Identifier: MIT */
/* Small language helpers shared by every module: cleanup attributes for scope-bound ownership,
 * explicit hand-over of owned pointers (TAKE_PTR), and array sizing. Nothing here allocates or logs. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))
#define _fallthrough_ __attribute__((fallthrough))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* The struct that holds `member` at `pointer`: an embedded entry (a schedule slot) back to its owner. */
#define container_of(pointer, type, member) ((type *) ((char *) (pointer) - offsetof(type, member)))

/* True if x equals one of the listed values. */
#define IN_SET(x, first, ...)                                                    \
        ({                                                                       \
                const __typeof__(first) _set_[] = { first, __VA_ARGS__ };        \
                bool _found_ = false;                                            \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_set_); _i_++)             \
                        if (_set_[_i_] == (x)) {                                 \
                                _found_ = true;                                  \
                                break;                                           \
                        }                                                        \
                _found_;                                                         \
        })

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hands ownership of *p to the caller: returns the pointer and clears the variable, so the
 * variable's cleanup handler no longer frees it. */
#define TAKE_PTR(p)                              \
        ({                                       \
                __typeof__(p) _taken_ = (p);     \
                (p) = NULL;                      \
                _taken_;                         \
        })

#define TAKE_FD(fd)                              \
        ({                                       \
                int _taken_fd_ = (fd);           \
                (fd) = -EBADF;                   \
                _taken_fd_;                      \
        })

/* Defines func##p(type *p) that calls func(*p) when *p is not NULL, for use with _cleanup_. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)          \
        /* NOLINTNEXTLINE(bugprone-macro-parentheses): a type cannot be parenthesised */ \
        static inline void func##p(type *p) {            \
                if (*p)                                  \
                        func(*p);                        \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved_errno = errno;
                (void) close(fd);
                errno = saved_errno;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Frees the variable and sets it to NULL; works for any type with a NULL-safe destructor that
 * returns NULL. */
#define FREE_AND_NULL(p) ({ free(p); (p) = NULL; })

/* free() that returns NULL, for `p = mfree(p);`. */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}
