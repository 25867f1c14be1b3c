/* SPDX-License-Identifier: MIT */
/*
 * A raw client of tlswatchd's control socket for tests/integration/test-control.sh: it says what
 * tlswatchctl never would (invalid JSON, unknown commands, requests one after another or pipelined on
 * one connection, a request of an exact size) and misbehaves the ways the server must survive (a
 * megabyte without a newline, a thousand idle connections, connections that send a byte a second and
 * never a newline, a request whose answer it never reads).
 * It prints what came back, one "KEY VALUE" line per fact, for the script to check. Every wait is
 * bounded; libc only, so it builds wherever the daemon does.
 */

/* accept4()-era socket flags; guarded because a build may already define it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long to wait for one answer: far longer than the daemon needs, far shorter than the harness. */
#define ANSWER_TIMEOUT_MSEC 10000
/* An answer line we keep; longer ones are counted, not kept (metrics and status fit easily). */
#define LINE_MAX_BYTES (4 * 1024 * 1024)
#define COUNT_MAX 10000
#define SECONDS_MAX 600

static void usage(FILE *f) {
        fprintf(f,
                "usage: control-abuse SOCKET send REQUEST...      one at a time on one connection\n"
                "       control-abuse SOCKET pipeline REQUEST...  all in one write, then the answers\n"
                "       control-abuse SOCKET pad LENGTH           a status request padded to LENGTH bytes\n"
                "       control-abuse SOCKET flood BYTES          BYTES without a newline\n"
                "       control-abuse SOCKET idle COUNT SECONDS   COUNT silent connections for SECONDS\n"
                "       control-abuse SOCKET dribble COUNT SECONDS\n"
                "                                                 COUNT connections, each sending a byte a\n"
                "                                                 second (never a newline) for SECONDS\n"
                "       control-abuse SOCKET noread REQUEST SECONDS\n"
                "                                                 never read the answer for SECONDS\n"
                "Prints \"answer LINE\", \"eof\", \"timeout\" and counts; exit 0, 1 when an answer is\n"
                "missing (send, pipeline, pad), 2 on a usage or setup error.\n");
}

static int64_t now_msec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_number(const char *s, long min, long max, long *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* A blocking connection to `path`; connect() waits at most 5 s for a full backlog. */
static int connect_unix(const char *path) {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        struct timeval timeout = { .tv_sec = 5 };
        int fd;

        if (strlen(path) >= sizeof(address.sun_path))
                return -ENAMETOOLONG;
        strcpy(address.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int write_all(int fd, const char *data, size_t length) {
        while (length > 0) {
                ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                data += n;
                length -= (size_t) n;
        }
        return 0;
}

/* Buffered line reader over one connection. */
typedef struct Reader {
        int fd;
        char *buffer;
        size_t length;
        bool eof;
} Reader;

/* Reads until a whole line is buffered, EOF, or the deadline. Returns the line's length (without the
 * newline) or -1: *eof tells which. */
static ssize_t read_line(Reader *r, int64_t deadline) {
        for (;;) {
                char *newline = r->length ? memchr(r->buffer, '\n', r->length) : NULL;
                if (newline)
                        return newline - r->buffer;
                if (r->eof || r->length >= LINE_MAX_BYTES)
                        return -1;

                int64_t left = deadline - now_msec();
                struct pollfd p = { .fd = r->fd, .events = POLLIN };
                if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                        return -1;
                ssize_t n = recv(r->fd, r->buffer + r->length, LINE_MAX_BYTES - r->length, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0) {
                        r->eof = true;
                        continue;
                }
                r->length += (size_t) n;
        }
}

static void consume_line(Reader *r, size_t line_length) {
        memmove(r->buffer, r->buffer + line_length + 1, r->length - line_length - 1);
        r->length -= line_length + 1;
}

/* Prints the next answer line, or "eof"/"timeout"; returns whether there was one. */
static bool print_answer(Reader *r, int64_t deadline) {
        ssize_t n = read_line(r, deadline);

        if (n < 0) {
                if (r->eof && r->length > 0)
                        printf("partial %zu\n", r->length);
                printf("%s\n", r->eof ? "eof" : "timeout");
                return false;
        }
        printf("answer %.*s\n", (int) n, r->buffer);
        consume_line(r, (size_t) n);
        return true;
}

static int reader_init(Reader *r, int fd) {
        *r = (Reader) { .fd = fd, .buffer = malloc(LINE_MAX_BYTES) };
        return r->buffer ? 0 : -ENOMEM;
}

/* send: each request written and answered before the next, as a person with socat would. */
static int run_send(int fd, char **requests, int n, bool pipelined) {
        Reader r;
        int missing = 0;

        if (reader_init(&r, fd) < 0)
                return 2;
        if (pipelined) {
                size_t total = 0;
                for (int i = 0; i < n; i++)
                        total += strlen(requests[i]) + 1;
                char *all = calloc(total + 1, 1);
                if (!all) {
                        free(r.buffer);
                        return 2;
                }
                size_t used = 0;
                for (int i = 0; i < n; i++)
                        used += (size_t) sprintf(all + used, "%s\n", requests[i]);
                int e = write_all(fd, all, used);
                free(all);
                if (e < 0) {
                        printf("write-failed %s\n", strerror(-e));
                        free(r.buffer);
                        return 1;
                }
                int64_t deadline = now_msec() + ANSWER_TIMEOUT_MSEC;
                for (int i = 0; i < n; i++)
                        if (!print_answer(&r, deadline))
                                missing++;
        } else
                for (int i = 0; i < n; i++) {
                        int e = write_all(fd, requests[i], strlen(requests[i]));
                        if (e >= 0)
                                e = write_all(fd, "\n", 1);
                        if (e < 0)
                                /* The server may have answered and stopped reading before we finished
                                 * (a request that is too long): its answer is still to be read. */
                                printf("write-failed %s\n", strerror(-e));
                        if (!print_answer(&r, now_msec() + ANSWER_TIMEOUT_MSEC))
                                missing++;
                        if (e < 0) {
                                missing += n - i - 1;
                                break;
                        }
                }
        free(r.buffer);
        return missing > 0 ? 1 : 0;
}

static int run_pad(int fd, long length) {
        static const char request[] = "{\"command\":\"status\"}";
        char *text;
        int result;

        if ((size_t) length < sizeof(request) - 1)
                return 2;
        text = malloc(length + 1);
        if (!text)
                return 2;
        memcpy(text, request, sizeof(request) - 1);
        memset(text + sizeof(request) - 1, ' ', length - (sizeof(request) - 1));
        text[length] = '\0';
        result = run_send(fd, &text, 1, false);
        free(text);
        return result;
}

/* flood: write BYTES of 'x' without a newline while reading whatever comes back, until the server
 * hangs up or 10 s pass. Prints how much it could send, the answer and whether the server closed. */
static int run_flood(int fd, long bytes) {
        char chunk[65536];
        Reader r;
        long sent = 0;
        bool writing = true, answered = false;
        int64_t deadline = now_msec() + ANSWER_TIMEOUT_MSEC;

        if (reader_init(&r, fd) < 0)
                return 2;
        memset(chunk, 'x', sizeof(chunk));
        while (!r.eof && now_msec() < deadline) {
                struct pollfd p = { .fd = fd, .events = POLLIN | (writing ? POLLOUT : 0) };
                if (poll(&p, 1, (int) (deadline - now_msec())) <= 0)
                        continue;
                if (p.revents & POLLIN) {
                        ssize_t n = recv(fd, r.buffer + r.length, LINE_MAX_BYTES - r.length, MSG_DONTWAIT);
                        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                                r.eof = true;
                        else if (n > 0)
                                r.length += (size_t) n;
                        char *newline = memchr(r.buffer, '\n', r.length);
                        if (newline && !answered) {
                                printf("answer %.*s\n", (int) (newline - r.buffer), r.buffer);
                                answered = true;
                        }
                }
                if (writing && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
                        size_t want = (size_t) (bytes - sent);
                        if (want > sizeof(chunk))
                                want = sizeof(chunk);
                        ssize_t n = send(fd, chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0 && errno != EAGAIN && errno != EINTR)
                                writing = false; /* EPIPE, ECONNRESET: the server stopped reading */
                        else if (n > 0)
                                sent += n;
                        if (sent >= bytes)
                                writing = false;
                }
        }
        printf("sent %ld\n", sent);
        if (!answered)
                printf("no-answer\n");
        printf("%s\n", r.eof ? "eof" : "open");
        free(r.buffer);
        return 0;
}

static void raise_fd_limit(long count) {
        struct rlimit limit;

        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t) count + 64) {
                limit.rlim_cur = limit.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &limit);
        }
}

/* idle: COUNT connections that send nothing. After 2 s, each has either been turned away (an answer
 * line and EOF), or is held open in silence. Then, up to SECONDS later, a held one the server closed
 * without a word was dropped by its idle timer. dribble: the same, but each held one sends a byte a
 * second meanwhile, the start of a request line that never ends; the server drops them all the same. */
static int run_idle(const char *path, long count, long seconds, bool dribble) {
        enum { OPEN, REFUSED, DROPPED, OTHER } *state = calloc(count, sizeof(*state));
        int *fds = calloc(count, sizeof(int));
        long connected = 0, refused = 0, held = 0, other = 0, dropped = 0;
        char first[256] = "";

        if (!state || !fds)
                return 2;
        raise_fd_limit(count);
        for (long i = 0; i < count; i++) {
                fds[i] = connect_unix(path);
                if (fds[i] < 0) {
                        printf("connect-failed %ld %s\n", i, strerror(-fds[i]));
                        count = i;
                        break;
                }
                connected++;
        }
        printf("connected %ld\n", connected);

        /* Phase 1: who is turned away. */
        int64_t settle = now_msec() + 2000;
        for (; now_msec() < settle; usleep(20000))
                for (long i = 0; i < count; i++) {
                        char buffer[512];
                        if (state[i] != OPEN)
                                continue;
                        ssize_t n = recv(fds[i], buffer, sizeof(buffer) - 1, MSG_DONTWAIT);
                        if (n < 0)
                                continue;
                        buffer[n > 0 ? n : 0] = '\0';
                        if (n > 0 && strstr(buffer, "\"too many clients\"")) {
                                state[i] = REFUSED;
                                if (!first[0])
                                        snprintf(first, sizeof(first), "%.*s", (int) strcspn(buffer, "\n"), buffer);
                        } else
                                state[i] = OTHER;
                        if (n == 0)
                                state[i] = OTHER; /* closed without a word this early: not idle */
                }
        for (long i = 0; i < count; i++) {
                refused += state[i] == REFUSED;
                held += state[i] == OPEN;
                other += state[i] == OTHER;
        }
        printf("refused %ld\nheld %ld\nother %ld\n", refused, held, other);
        if (first[0])
                printf("answer %s\n", first);
        (void) fflush(stdout);

        /* The refused ones are closed by the server; close ours so only the held ones remain. */
        for (long i = 0; i < count; i++)
                if (state[i] != OPEN) {
                        close(fds[i]);
                        fds[i] = -1;
                }

        /* Phase 2: the held ones, until each is dropped or SECONDS pass. */
        int64_t deadline = now_msec() + seconds * 1000, next_byte = now_msec();
        while (dropped < held && now_msec() < deadline) {
                if (dribble && now_msec() >= next_byte) {
                        for (long i = 0; i < count; i++) {
                                if (fds[i] < 0 || send(fds[i], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ||
                                    errno == EAGAIN || errno == EINTR)
                                        continue;
                                dropped++; /* the server hung up */
                                close(fds[i]);
                                fds[i] = -1;
                        }
                        next_byte = now_msec() + 1000;
                }
                struct pollfd *p = calloc(count, sizeof(struct pollfd));
                if (!p)
                        return 2;
                for (long i = 0; i < count; i++)
                        p[i] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
                int64_t left = deadline - now_msec();
                if (left > 0 && poll(p, count, (int) (left > 1000 ? 1000 : left)) > 0)
                        for (long i = 0; i < count; i++) {
                                char buffer[512];
                                if (fds[i] < 0 || !p[i].revents)
                                        continue;
                                ssize_t n = recv(fds[i], buffer, sizeof(buffer), MSG_DONTWAIT);
                                if (n < 0 && errno == EAGAIN)
                                        continue;
                                if (n > 0)
                                        printf("unexpected %.*s\n", (int) strcspn(buffer, "\n"), buffer);
                                dropped++;
                                close(fds[i]);
                                fds[i] = -1;
                        }
                free(p);
        }
        printf("dropped %ld\nstill %ld\n", dropped, held - dropped);
        for (long i = 0; i < count; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
        free(state);
        return 0;
}

/* noread: send one request with a small receive buffer and read nothing for SECONDS; then drain what
 * the server managed to queue. "complete no" with "eof yes": the server gave up on us. */
static int run_noread(int fd, const char *request, long seconds) {
        int size = 4096;
        Reader r;
        size_t received = 0;
        bool complete = false;
        char *chunk;

        if (reader_init(&r, fd) < 0)
                return 2;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        int e = write_all(fd, request, strlen(request));
        if (e >= 0)
                e = write_all(fd, "\n", 1);
        if (e < 0) {
                printf("write-failed %s\n", strerror(-e));
                free(r.buffer);
                return 1;
        }
        printf("sent\n");
        (void) fflush(stdout);
        sleep((unsigned) seconds);

        chunk = r.buffer;
        int64_t deadline = now_msec() + 3000;
        while (!r.eof && now_msec() < deadline) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 500) <= 0)
                        break; /* nothing more queued: the server is neither sending nor closing */
                ssize_t n = recv(fd, chunk, LINE_MAX_BYTES, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0) {
                        r.eof = true;
                        break;
                }
                received += (size_t) n;
                complete = chunk[n - 1] == '\n';
        }
        printf("received %zu\ncomplete %s\neof %s\n", received, complete ? "yes" : "no",
               r.eof ? "yes" : "no");
        free(r.buffer);
        return 0;
}

int main(int argc, char *argv[]) {
        const char *path, *mode;
        long a = 0, b = 0;
        int fd, result;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return 0;
        }
        if (argc < 4) {
                usage(stderr);
                return 2;
        }
        path = argv[1];
        mode = argv[2];
        /* The server may hang up while we write; that is a result, not our end. */
        (void) signal(SIGPIPE, SIG_IGN);
        (void) setvbuf(stdout, NULL, _IOLBF, 0);

        if (strcmp(mode, "idle") == 0 || strcmp(mode, "dribble") == 0) {
                if (argc != 5 || parse_number(argv[3], 1, COUNT_MAX, &a) < 0 ||
                    parse_number(argv[4], 0, SECONDS_MAX, &b) < 0) {
                        usage(stderr);
                        return 2;
                }
                return run_idle(path, a, b, strcmp(mode, "dribble") == 0);
        }

        if ((strcmp(mode, "pad") == 0 &&
             (argc != 4 || parse_number(argv[3], 20, 64L * 1024 * 1024, &a) < 0)) ||
            (strcmp(mode, "flood") == 0 &&
             (argc != 4 || parse_number(argv[3], 1, 1024L * 1024 * 1024, &a) < 0)) ||
            (strcmp(mode, "noread") == 0 && (argc != 5 || parse_number(argv[4], 0, SECONDS_MAX, &b) < 0))) {
                usage(stderr);
                return 2;
        }
        if (!(strcmp(mode, "send") == 0 || strcmp(mode, "pipeline") == 0 || strcmp(mode, "pad") == 0 ||
              strcmp(mode, "flood") == 0 || strcmp(mode, "noread") == 0)) {
                fprintf(stderr, "control-abuse: unknown mode \"%s\"\n", mode);
                return 2;
        }

        fd = connect_unix(path);
        if (fd < 0) {
                printf("connect-failed %s\n", strerror(-fd));
                return 2;
        }
        if (strcmp(mode, "send") == 0)
                result = run_send(fd, argv + 3, argc - 3, false);
        else if (strcmp(mode, "pipeline") == 0)
                result = run_send(fd, argv + 3, argc - 3, true);
        else if (strcmp(mode, "pad") == 0)
                result = run_pad(fd, a);
        else if (strcmp(mode, "flood") == 0)
                result = run_flood(fd, a);
        else
                result = run_noread(fd, argv[3], b);
        close(fd);
        return result;
}
