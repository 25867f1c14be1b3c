/* SPDX-License-Identifier: MIT */
/*
 * The service manager's end of sd_notify(3) for the integration tests: binds an AF_UNIX datagram socket
 * at a path, prints every assignment of every datagram it receives on its own line of stdout (a
 * datagram is split at '\n'), flushing after each, and exits by itself when its lifetime ends, so a
 * test that forgets it cannot hang. The tests point NOTIFY_SOCKET at the path and read stdout.
 */

/* SOCK_CLOEXEC and MSG_CMSG_CLOEXEC; guarded because a build may already define it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LIFETIME_MAX_SEC 3600
/* systemd reads notification datagrams into a buffer of this size (NOTIFY_BUFFER_MAX in
 * src/core/manager.c); anything longer is truncated there, and reported as truncated here. */
#define DATAGRAM_MAX 4096
/* sd_pid_notify_with_fds() may pass descriptors (FDSTORE=1); we close whatever arrives. */
#define FDS_MAX 64

static volatile sig_atomic_t terminate;

static void on_signal(int sig) {
        (void) sig;
        terminate = 1;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: notify-listener --socket PATH [--lifetime SECONDS]\n"
                "Binds an AF_UNIX datagram socket at PATH (a plain file-system path, not abstract) and\n"
                "prints each NAME=VALUE assignment it receives on its own line, until SECONDS (default\n"
                "60) have passed or SIGTERM/SIGINT arrives; then removes PATH.\n");
}

static int64_t now_msec(void) {
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_lifetime(const char *s, int *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < 1 || v > LIFETIME_MAX_SEC)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

/* Bind a datagram socket at path, which must not exist yet: a stale file is the caller's mistake, and
 * silently unlinking it could steal another listener's socket. */
static int bind_path(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        int fd, r;

        /* An abstract address starts with '@' in systemd's notation (or a NUL byte); only paths here. */
        if (n == 0 || path[0] == '@')
                return -EINVAL;
        if (n >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, n + 1);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Close every descriptor passed along with a datagram. */
static void close_passed_fds(struct msghdr *mh) {
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(mh); cmsg; cmsg = CMSG_NXTHDR(mh, cmsg)) {
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        (void) close(fd);
                }
        }
}

/* Print one datagram, one assignment a line. Empty lines (a trailing '\n') are dropped; a NUL byte
 * ends the text, as it would for systemd. */
static void print_datagram(const char *data, size_t size, bool truncated) {
        const char *p = data, *end = data + strnlen(data, size);

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

                if (len > 0)
                        printf("%.*s\n", (int) len, p);
                p += len + 1;
        }
        if (truncated)
                printf("notify-listener: datagram truncated at %d bytes\n", DATAGRAM_MAX);
        (void) fflush(stdout);
}

static int receive_one(int fd) {
        char buffer[DATAGRAM_MAX];
        union {
                struct cmsghdr header;
                uint8_t data[CMSG_SPACE(sizeof(int) * FDS_MAX)];
        } control;
        struct iovec iov = { .iov_base = buffer, .iov_len = sizeof buffer };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        ssize_t n;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        close_passed_fds(&mh);
        print_datagram(buffer, (size_t) n, mh.msg_flags & MSG_TRUNC);
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "socket",   required_argument, NULL, 's' },
                { "lifetime", required_argument, NULL, 'l' },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        struct sigaction sa = { .sa_handler = on_signal };
        const char *path = NULL;
        int lifetime = 60, c, fd, r;
        int64_t deadline;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        path = optarg;
                        break;
                case 'l':
                        if (parse_lifetime(optarg, &lifetime) < 0) {
                                fprintf(stderr, "notify-listener: lifetime must be 1..%d seconds, not \"%s\"\n",
                                        LIFETIME_MAX_SEC, optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }

        if (optind != argc || !path) {
                usage(stderr);
                return 2;
        }

        /* No SA_RESTART: poll() returns EINTR and the loop sees the flag at once. */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        fd = bind_path(path);
        if (fd == -EINVAL) {
                fprintf(stderr, "notify-listener: --socket must be a file-system path, not \"%s\"\n", path);
                return 2;
        }
        if (fd < 0) {
                fprintf(stderr, "notify-listener: cannot bind %s: %s\n", path, strerror(-fd));
                return 1;
        }

        deadline = now_msec() + (int64_t) lifetime * 1000;
        r = 0;
        while (!terminate) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = deadline - now_msec();
                int k;

                if (left <= 0)
                        break;
                k = poll(&p, 1, (int) left);
                if (k < 0 && errno != EINTR) {
                        fprintf(stderr, "notify-listener: poll: %s\n", strerror(errno));
                        r = 1;
                        break;
                }
                if (k <= 0)
                        continue;

                /* Drain what is queued, so a burst is printed in order before we sleep again. */
                for (;;) {
                        k = receive_one(fd);
                        if (k == -EAGAIN || k == -EINTR)
                                break;
                        if (k < 0) {
                                fprintf(stderr, "notify-listener: recvmsg: %s\n", strerror(-k));
                                r = 1;
                                break;
                        }
                }
                if (r)
                        break;
        }

        close(fd);
        (void) unlink(path);
        return r;
}
