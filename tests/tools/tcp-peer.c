/* SPDX-License-Identifier: MIT */
/*
 * A deliberately broken TCP server for the integration tests: it listens on a loopback port and either
 * never answers, hangs up at once or answers in plain text, the failures a TLS probe must classify.
 * It always exits by itself when its lifetime ends, so a test that forgets it cannot hang.
 */

/* accept4() and SOCK_CLOEXEC; guarded because a build may already define it (AC_USE_SYSTEM_EXTENSIONS). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connections held open in silent mode; beyond this new ones are closed, which is plenty for tests. */
#define SILENT_FDS_MAX 64
/* How long plain mode waits for the client to stop sending before closing, see serve_plain(). */
#define PLAIN_LINGER_MSEC 1000
#define LIFETIME_MAX_SEC 3600

typedef enum Mode {
        MODE_SILENT,
        MODE_CLOSE,
        MODE_PLAIN,
} Mode;

static const char plain_reply[] = "HTTP/1.0 400 Bad Request\r\n\r\nthis is not TLS\r\n";

static void usage(FILE *f) {
        fprintf(f,
                "usage: tcp-peer --mode silent|close|plain --port-file FILE [--lifetime SECONDS]\n"
                "                [--bind 127.0.0.1|::1]\n"
                "Listens on an ephemeral loopback port, writes the port number to FILE and misbehaves\n"
                "towards every client until SECONDS (default 60) have passed.\n");
}

static int64_t now_msec(void) {
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write the port to path.tmp and rename it into place, so a reader polling for the file never sees a
 * partial number. */
static int write_port_file(const char *path, unsigned port) {
        char tmp[4096];
        FILE *f;
        int n;

        n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
        if (n < 0 || (size_t) n >= sizeof tmp)
                return -ENAMETOOLONG;

        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fprintf(f, "%u\n", port);
        if (fclose(f) != 0) {
                int r = -errno;

                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;

                (void) unlink(tmp);
                return r;
        }
        return 0;
}

/* Bind an ephemeral port on the given loopback address only, and return the listening socket. */
static int listen_loopback(const char *bind_addr, unsigned *ret_port) {
        struct sockaddr_storage ss = {};
        socklen_t len;
        int fd, r;

        if (strcmp(bind_addr, "127.0.0.1") == 0) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

                sin->sin_family = AF_INET;
                sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof *sin;
        } else if (strcmp(bind_addr, "::1") == 0) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

                sin6->sin6_family = AF_INET6;
                sin6->sin6_addr = in6addr_loopback;
                len = sizeof *sin6;
        } else
                return -EINVAL;

        /* Non-blocking, so a client that gives up between poll() and accept() cannot wedge us. */
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;

        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 16) < 0)
                goto fail;

        len = sizeof ss;
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                goto fail;

        /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): getsockname() filled ss */
        *ret_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                                   : ((struct sockaddr_in6 *) &ss)->sin6_port);
        return fd;

fail:
        r = -errno;
        close(fd);
        return r;
}

/*
 * Answer like a plain-text server that received garbage: send the reply, then half-close and read until
 * the client hangs up (bounded by PLAIN_LINGER_MSEC and the deadline). Closing with the client's
 * ClientHello still unread would make the kernel send a RST, which may discard the reply before the
 * client reads it; the test wants the client to see the text.
 */
static void serve_plain(int fd, int64_t deadline) {
        int64_t until = now_msec() + PLAIN_LINGER_MSEC;
        char buf[4096];

        if (until > deadline)
                until = deadline;

        /* MSG_NOSIGNAL: a client that already left must not kill us with SIGPIPE. */
        if (send(fd, plain_reply, sizeof plain_reply - 1, MSG_NOSIGNAL) < 0)
                return;
        if (shutdown(fd, SHUT_WR) < 0)
                return;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = until - now_msec();
                ssize_t n;

                if (left <= 0)
                        return;
                if (poll(&p, 1, (int) left) <= 0)
                        return;
                n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n == 0)
                        return;
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return;
        }
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

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "mode",      required_argument, NULL, 'm' },
                { "port-file", required_argument, NULL, 'p' },
                { "lifetime",  required_argument, NULL, 'l' },
                { "bind",      required_argument, NULL, 'b' },
                { "help",      no_argument,       NULL, 'h' },
                {}
        };
        int held[SILENT_FDS_MAX];
        size_t n_held = 0;
        const char *port_file = NULL, *bind_addr = "127.0.0.1";
        Mode mode = MODE_SILENT;
        bool have_mode = false;
        int lifetime = 60;
        int64_t deadline;
        unsigned port = 0;
        int c, lfd, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        if (strcmp(optarg, "silent") == 0)
                                mode = MODE_SILENT;
                        else if (strcmp(optarg, "close") == 0)
                                mode = MODE_CLOSE;
                        else if (strcmp(optarg, "plain") == 0)
                                mode = MODE_PLAIN;
                        else {
                                fprintf(stderr, "tcp-peer: unknown mode \"%s\"\n", optarg);
                                return 2;
                        }
                        have_mode = true;
                        break;
                case 'p':
                        port_file = optarg;
                        break;
                case 'l':
                        if (parse_lifetime(optarg, &lifetime) < 0) {
                                fprintf(stderr, "tcp-peer: lifetime must be 1..%d seconds, not \"%s\"\n",
                                        LIFETIME_MAX_SEC, optarg);
                                return 2;
                        }
                        break;
                case 'b':
                        bind_addr = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }

        if (optind != argc || !have_mode || !port_file) {
                usage(stderr);
                return 2;
        }

        /* Belt and braces next to MSG_NOSIGNAL: nothing a client does may end us early. */
        (void) signal(SIGPIPE, SIG_IGN);

        lfd = listen_loopback(bind_addr, &port);
        if (lfd == -EINVAL) {
                fprintf(stderr, "tcp-peer: --bind must be 127.0.0.1 or ::1, not \"%s\"\n", bind_addr);
                return 2;
        }
        if (lfd < 0) {
                fprintf(stderr, "tcp-peer: cannot listen on %s: %s\n", bind_addr, strerror(-lfd));
                return 1;
        }

        r = write_port_file(port_file, port);
        if (r < 0) {
                fprintf(stderr, "tcp-peer: cannot write %s: %s\n", port_file, strerror(-r));
                close(lfd);
                return 1;
        }

        deadline = now_msec() + (int64_t) lifetime * 1000;

        for (;;) {
                struct pollfd p = { .fd = lfd, .events = POLLIN };
                int64_t left = deadline - now_msec();
                int fd;

                if (left <= 0)
                        break;

                r = poll(&p, 1, (int) left);
                if (r < 0 && errno != EINTR) {
                        fprintf(stderr, "tcp-peer: poll: %s\n", strerror(errno));
                        break;
                }
                if (r <= 0)
                        continue;

                fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        /* EAGAIN and ECONNABORTED: the client is gone already, nothing to do. */
                        continue;

                switch (mode) {
                case MODE_SILENT:
                        if (n_held < SILENT_FDS_MAX)
                                held[n_held++] = fd;
                        else
                                close(fd);
                        break;
                case MODE_CLOSE:
                        close(fd);
                        break;
                case MODE_PLAIN:
                        serve_plain(fd, deadline);
                        close(fd);
                        break;
                }
        }

        for (size_t i = 0; i < n_held; i++)
                close(held[i]);
        close(lfd);
        return 0;
}
