/* SPDX-License-Identifier: MIT */
/* Asynchronous getaddrinfo() with one detached thread per lookup, answering through a socketpair.
 *
 * Why a thread and not c-ares or getaddrinfo_a(): only getaddrinfo() honours the host's whole name
 * service configuration (nsswitch, /etc/hosts, systemd-resolved's NSS module), which is what operators
 * expect a monitor to see; getaddrinfo_a() runs the same lookup on glibc's own threads but reports
 * through signals or SIGEV_THREAD, which fit an sd-event loop worse than a file descriptor does.
 * Lookups are bounded by the number of probes in flight.
 *
 * Ownership: the thread owns its request and the result until it has handed the result over; if the
 * query was cancelled, the send fails (the other end is closed) and the thread frees the result. */
#include <netinet/in.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "resolve.h"

struct ResolveQuery {
        sd_event_source *io;
        int fd;
        struct addrinfo *literal; /* the answer for an IP literal, until delivered */
        resolve_handler_t handler;
        void *userdata;
};

typedef struct LookupRequest {
        int fd;
        char *host;
        char service[8];
} LookupRequest;

typedef struct LookupAnswer {
        int gai_error;
        struct addrinfo *addresses;
} LookupAnswer;

static void *lookup_thread(void *arg) {
        LookupRequest *request = arg;
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
                .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV,
        };
        LookupAnswer answer = {};

        answer.gai_error = getaddrinfo(request->host, request->service, &hints, &answer.addresses);
        if (send(request->fd, &answer, sizeof(answer), MSG_NOSIGNAL) != (ssize_t) sizeof(answer) &&
            answer.addresses)
                freeaddrinfo(answer.addresses);

        safe_close(request->fd);
        free(request->host);
        free(request);
        return NULL;
}

static int on_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ResolveQuery *query = userdata;
        LookupAnswer answer = {};
        ssize_t n;

        n = recv(fd, &answer, sizeof(answer), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n != (ssize_t) sizeof(answer))
                answer = (LookupAnswer) { .gai_error = EAI_SYSTEM };

        /* Once answered, the query is inert; the handler may free it. */
        query->io = sd_event_source_disable_unref(query->io);
        query->handler(query, answer.gai_error, answer.addresses, query->userdata);
        return 0;
}

/* An IP literal needs no lookup; its answer is still delivered from the loop, never from inside
 * resolve_start(), so callers see one order of events either way. */
static int on_literal(sd_event_source *source, void *userdata) {
        ResolveQuery *query = userdata;
        struct addrinfo *addresses = TAKE_PTR(query->literal);

        query->io = sd_event_source_disable_unref(query->io);
        query->handler(query, 0, addresses, query->userdata);
        return 0;
}

int resolve_start(sd_event *event, const char *host, uint16_t port, resolve_handler_t handler, void *userdata,
                  ResolveQuery **ret) {
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
                .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
        };
        _cleanup_(resolve_query_freep) ResolveQuery *query = NULL;
        _cleanup_free_ LookupRequest *request = NULL;
        int pair[2] = { -EBADF, -EBADF };
        pthread_attr_t attributes;
        pthread_t thread;
        char service[8];
        int r;

        query = calloc(1, sizeof(ResolveQuery));
        if (!query)
                return -ENOMEM;
        *query = (ResolveQuery) { .fd = -EBADF, .handler = handler, .userdata = userdata };
        snprintf(service, sizeof(service), "%u", port);

        if (getaddrinfo(host, service, &hints, &query->literal) == 0) {
                r = sd_event_add_defer(event, &query->io, on_literal, query);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(query);
                return 0;
        }

        request = calloc(1, sizeof(LookupRequest));
        if (!request)
                return -ENOMEM;
        request->host = strdup(host);
        if (!request->host)
                return -ENOMEM;
        memcpy(request->service, service, sizeof(service));

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                free(request->host);
                return -errno;
        }
        query->fd = pair[0];
        request->fd = pair[1];

        r = sd_event_add_io(event, &query->io, query->fd, EPOLLIN, on_answer, query);
        if (r < 0)
                goto fail_request;

        /* Small stacks: a lookup needs little, and many may run at once. */
        r = -pthread_attr_init(&attributes);
        if (r < 0)
                goto fail_request;
        (void) pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        (void) pthread_attr_setstacksize(&attributes, 256 * 1024);
        r = -pthread_create(&thread, &attributes, lookup_thread, request);
        pthread_attr_destroy(&attributes);
        if (r < 0)
                goto fail_request;

        TAKE_PTR(request);
        *ret = TAKE_PTR(query);
        return 0;

fail_request:
        safe_close(request->fd);
        free(request->host);
        return r;
}

ResolveQuery *resolve_query_free(ResolveQuery *query) {
        if (!query)
                return NULL;
        sd_event_source_disable_unref(query->io);
        safe_close(query->fd);
        if (query->literal)
                freeaddrinfo(query->literal);
        free(query);
        return NULL;
}
