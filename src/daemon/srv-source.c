/* SPDX-License-Identifier: MIT */
/* SRV= templates and their expansions. Each template has an SrvName: its SRV owner name, the last good
 * answer, a timer for the next lookup and at most one lookup in flight.
 *
 * Why a thread and res_nquery(): getaddrinfo() knows no SRV; res_nquery() asks the name servers of
 * /etc/resolv.conf (re-read at each lookup, with its own res_state, so it is safe on any thread) and
 * may wait for seconds on an unreachable server, which the loop must never do (see resolve.c, whose
 * shape this follows). The thread owns its request and the answer's buffer until it has handed them
 * over through the socketpair; if the lookup was cancelled, the send fails and the thread frees them.
 *
 * A change is reported through a defer source, never from inside the answer's handler: the owner's
 * reload calls srv_source_expand(), which may free the very SrvName that answered. */
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

/* <sys/param.h>, through <arpa/nameser.h>, has MIN and MAX of its own; macro.h's are used. */
#undef MIN
#undef MAX

#include "field-table.h"
#include "log.h"
#include "srv-answer.h"
#include "srv-source.h"

/* The largest DNS message (over TCP, which res_nquery() falls back to when UDP's answer is cut). */
#define SRV_MESSAGE_MAX 65536

typedef struct SrvName {
        SrvSource *source; /* back-pointer, not owned */
        char *target;      /* the template's name */
        char *srv_name;
        usec_t interval_usec; /* the template's Interval=: how often the name is looked up */
        SrvAnswer good;       /* the last good answer */
        bool have_good;
        bool failing;           /* the last lookup failed (said once, until one succeeds) */
        bool answered;          /* a lookup finished since the name was added */
        bool seen;              /* during srv_source_expand(): the configuration still has it */
        size_t skipped;         /* records the last good answer ignored (said when it changes) */
        sd_event_source *timer; /* the next lookup */
        sd_event_source *io;    /* the lookup in flight */
        int fd;
} SrvName;

struct SrvSource {
        sd_event *event;
        srv_source_changed_t on_changed;
        void *userdata;
        SrvName **names;
        size_t n_names;
        sd_event_source *changed; /* a pending call of on_changed */
        bool waiting;             /* wait_first() runs: no callbacks */
        bool expanded;            /* srv_source_expand() ran once: the start is over */
};

typedef struct LookupRequest {
        int fd;
        char *name;
} LookupRequest;

typedef struct LookupAnswer {
        int error; /* 0, or a negative errno: -ENXIO no such name, -ENODATA no SRV, -EAGAIN no answer */
        uint8_t *message;
        size_t size;
} LookupAnswer;

static void *lookup_thread(void *arg) {
        LookupRequest *request = arg;
        LookupAnswer answer = { .error = -ENOMEM };
        struct __res_state state = {};

        answer.message = malloc(SRV_MESSAGE_MAX);
        if (answer.message && res_ninit(&state) < 0)
                answer.error = -EIO;
        else if (answer.message) {
                int n = res_nquery(&state, request->name, ns_c_in, ns_t_srv, answer.message,
                                   SRV_MESSAGE_MAX);
                if (n >= 0) {
                        answer.error = 0;
                        answer.size = (size_t) MIN(n, SRV_MESSAGE_MAX);
                } else
                        answer.error = state.res_h_errno == HOST_NOT_FOUND ? -ENXIO
                                       : state.res_h_errno == NO_DATA      ? -ENODATA
                                       : state.res_h_errno == TRY_AGAIN    ? -EAGAIN
                                                                           : -EIO;
                res_nclose(&state);
        }
        if (send(request->fd, &answer, sizeof(answer), MSG_NOSIGNAL) != (ssize_t) sizeof(answer))
                free(answer.message);
        safe_close(request->fd);
        free(request->name);
        free(request);
        return NULL;
}

static const char *lookup_error_text(int error) {
        switch (error) {
        case -ENXIO:
                return "no such name (NXDOMAIN)";
        case -ENODATA:
                return "the name has no SRV records";
        case -EAGAIN:
                return "no answer from the name servers (a timeout or SERVFAIL)";
        case -EBADMSG:
                return "the answer is no valid DNS message";
        default:
                return strerror(-error);
        }
}

static void srv_name_stop(SrvName *n) {
        n->timer = sd_event_source_disable_unref(n->timer);
        n->io = sd_event_source_disable_unref(n->io);
        n->fd = safe_close(n->fd);
}

static SrvName *srv_name_free(SrvName *n) {
        if (!n)
                return NULL;
        srv_name_stop(n);
        srv_answer_clear(&n->good);
        free(n->target);
        free(n->srv_name);
        free(n);
        return NULL;
}

static int start_lookup(SrvName *n);

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        SrvName *n = userdata;

        n->timer = sd_event_source_disable_unref(n->timer);
        if (start_lookup(n) < 0) {
                log_warning("[Target %s] SRV=%s: cannot start a lookup; retrying in a minute", n->target,
                            n->srv_name);
                (void) sd_event_add_time_relative(n->source->event, &n->timer, CLOCK_MONOTONIC,
                                                  USEC_PER_MINUTE, USEC_PER_SEC, on_timer, n);
        }
        return 0;
}

static void schedule_lookup(SrvName *n, usec_t delay) {
        n->timer = sd_event_source_disable_unref(n->timer);
        if (sd_event_add_time_relative(n->source->event, &n->timer, CLOCK_MONOTONIC, delay, USEC_PER_SEC,
                                       on_timer, n) < 0)
                log_warning("[Target %s] SRV=%s: cannot schedule the next lookup", n->target, n->srv_name);
}

static int on_changed(sd_event_source *source, void *userdata) {
        SrvSource *s = userdata;

        s->changed = sd_event_source_disable_unref(s->changed);
        s->on_changed(s, s->userdata);
        return 0;
}

static void notify_changed(SrvSource *s) {
        if (s->waiting || s->changed || !s->on_changed)
                return;
        if (sd_event_add_defer(s->event, &s->changed, on_changed, s) < 0)
                log_warning("cannot apply a changed SRV answer now; it is applied at the next reload");
}

static void apply_answer(SrvName *n, int error, const uint8_t *message, size_t size) {
        SrvAnswer answer = {};

        if (error >= 0)
                error = srv_answer_parse(message, size, &answer);
        n->answered = true;
        if (error < 0) {
                if (!n->failing) {
                        if (n->have_good)
                                log_warning("[Target %s] SRV=%s: the lookup failed: %s; keeping the %zu "
                                            "targets of "
                                            "the last good answer",
                                            n->target, n->srv_name, lookup_error_text(error), n->good.n);
                        else
                                log_warning("[Target %s] SRV=%s: the lookup failed: %s; no targets until it "
                                            "succeeds",
                                            n->target, n->srv_name, lookup_error_text(error));
                }
                n->failing = true;
                return;
        }
        if (n->failing)
                log_info("[Target %s] SRV=%s: the lookup succeeds again", n->target, n->srv_name);
        n->failing = false;
        if (answer.skipped != n->skipped && answer.skipped > 0)
                log_warning(
                        "[Target %s] SRV=%s: %zu records ignored (a target that is no plain host name, port "
                        "0, or more than %d records)",
                        n->target, n->srv_name, answer.skipped, SRV_ANSWER_RECORDS_MAX);
        n->skipped = answer.skipped;
        if (n->have_good && srv_answer_same_targets(&n->good, &answer)) {
                srv_answer_clear(&n->good); /* the same targets; priorities and weights may have moved */
                n->good = answer;
                return;
        }
        log_info("[Target %s] SRV=%s: %zu targets%s%s", n->target, n->srv_name, answer.n,
                 answer.unavailable ? " (the service is marked unavailable: a lone \".\" record)" : "",
                 n->have_good ? ", changed" : "");
        srv_answer_clear(&n->good);
        n->good = answer;
        n->have_good = true;
        notify_changed(n->source);
}

static int on_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        SrvName *n = userdata;
        LookupAnswer answer = {};
        ssize_t k;

        k = recv(fd, &answer, sizeof(answer), MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (k != (ssize_t) sizeof(answer))
                answer = (LookupAnswer){ .error = -EIO };
        n->io = sd_event_source_disable_unref(n->io);
        n->fd = safe_close(n->fd);
        apply_answer(n, answer.error, answer.message, answer.size);
        free(answer.message);
        schedule_lookup(n, n->interval_usec);
        return 0;
}

static int start_lookup(SrvName *n) {
        _cleanup_free_ LookupRequest *request = NULL;
        int pair[2] = { -EBADF, -EBADF };
        pthread_attr_t attributes;
        pthread_t thread;
        int r;

        if (n->io)
                return 0;
        request = calloc(1, sizeof(LookupRequest));
        if (!request)
                return -ENOMEM;
        request->name = strdup(n->srv_name);
        if (!request->name)
                return -ENOMEM;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                r = -errno;
                free(request->name);
                return r;
        }
        n->fd = pair[0];
        request->fd = pair[1];
        r = sd_event_add_io(n->source->event, &n->io, n->fd, EPOLLIN, on_answer, n);
        if (r >= 0)
                r = -pthread_attr_init(&attributes);
        if (r >= 0) {
                (void) pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
                (void) pthread_attr_setstacksize(&attributes, 256 * 1024);
                r = -pthread_create(&thread, &attributes, lookup_thread, request);
                pthread_attr_destroy(&attributes);
        }
        if (r < 0) {
                safe_close(request->fd);
                free(request->name);
                srv_name_stop(n);
                return r;
        }
        TAKE_PTR(request);
        return 0;
}

int srv_source_new(sd_event *event, srv_source_changed_t on_changed_handler, void *userdata,
                   SrvSource **ret) {
        SrvSource *s = calloc(1, sizeof(SrvSource));

        if (!s)
                return -ENOMEM;
        *s = (SrvSource){ .event = event ? sd_event_ref(event) : NULL,
                          .on_changed = on_changed_handler,
                          .userdata = userdata };
        *ret = s;
        return 0;
}

SrvSource *srv_source_free(SrvSource *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_names; i++)
                srv_name_free(s->names[i]);
        free(s->names);
        sd_event_source_disable_unref(s->changed);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

static SrvName *find_name(SrvSource *s, const char *target) {
        for (size_t i = 0; i < s->n_names; i++)
                if (strcmp(s->names[i]->target, target) == 0)
                        return s->names[i];
        return NULL;
}

/* The SrvName of template `t`, made (and its first lookup started) when new, reset when SRV= changed. */
static int note_template(SrvSource *s, const TargetConfig *t, SrvName **ret) {
        SrvName *n = find_name(s, t->name);
        int r;

        if (n && strcmp(n->srv_name, t->srv_name) != 0) {
                srv_name_stop(n);
                srv_answer_clear(&n->good);
                n->have_good = n->failing = n->answered = false;
                n->skipped = 0;
                free(n->srv_name);
                n->srv_name = strdup(t->srv_name);
                if (!n->srv_name)
                        return -ENOMEM;
        }
        if (!n) {
                SrvName **names = reallocarray(s->names, s->n_names + 1, sizeof(SrvName *));
                if (!names)
                        return -ENOMEM;
                s->names = names;
                n = calloc(1, sizeof(SrvName));
                if (!n)
                        return -ENOMEM;
                *n = (SrvName){ .source = s, .fd = -EBADF };
                n->target = strdup(t->name);
                n->srv_name = strdup(t->srv_name);
                if (!n->target || !n->srv_name) {
                        srv_name_free(n);
                        return -ENOMEM;
                }
                s->names[s->n_names++] = n;
        }
        /* A shorter Interval= takes effect at the next lookup; a new name is looked up at once. */
        n->interval_usec = t->interval_usec;
        n->seen = true;
        if (s->event && !n->timer && !n->io) {
                r = start_lookup(n);
                if (r < 0)
                        schedule_lookup(n, USEC_PER_MINUTE);
        }
        *ret = n;
        return 0;
}

static void clear_expansion(TargetConfig *targets, size_t n) {
        for (size_t i = 0; i < n; i++)
                target_config_clear(&targets[i]);
        free(targets);
}

/* One target per record: a copy of the template at the record's host and port, the host as server name
 * unless the template sets ServerName=, the protocol by the port unless it sets Protocol=. */
static int build_expansion(const TargetConfig *t, const SrvAnswer *answer, TargetConfig **ret) {
        TargetConfig *targets = calloc(MAX(answer->n, (size_t) 1), sizeof(TargetConfig));

        if (!targets)
                return -ENOMEM;
        for (size_t i = 0; i < answer->n; i++) {
                const SrvRecord *record = &answer->records[i];
                TargetConfig *e = &targets[i];

                if (field_table_copy(target_config_fields, target_config_n_fields, e, t) < 0)
                        goto fail;
                e->srv_name = mfree(e->srv_name);
                e->name = mfree(e->name);
                free(e->probe.host);
                e->probe.host = strdup(record->host);
                e->probe.port = record->port;
                e->file = strdup(t->file);
                e->line = t->line;
                e->set_mask = t->set_mask;
                if (asprintf(&e->name, "%s/%s:%u", t->name, record->host, record->port) < 0)
                        e->name = NULL;
                if (!e->probe.host || !e->file || !e->name)
                        goto fail;
                if (!target_config_has_key(t, "ServerName")) {
                        free(e->probe.server_name);
                        e->probe.server_name = strdup(record->host);
                        if (!e->probe.server_name)
                                goto fail;
                }
                e->probe.protocol = probe_settings_protocol(&e->probe);
        }
        *ret = targets;
        return 0;
fail:
        clear_expansion(targets, answer->n);
        return -ENOMEM;
}

static usec_t now_monotonic(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static bool wait_first(SrvSource *s, usec_t timeout_usec) {
        /* Not sd_event_now(): the loop has not run yet, so it has no time to tell. */
        usec_t start = now_monotonic(), now;
        bool any = false;

        s->waiting = true;
        for (;;) {
                bool pending = false;
                for (size_t i = 0; i < s->n_names; i++)
                        pending = pending || !s->names[i]->answered;
                if (!pending || s->n_names == 0 || !s->event)
                        break;
                now = now_monotonic();
                if (now >= start + timeout_usec)
                        break;
                if (sd_event_run(s->event, start + timeout_usec - now) < 0)
                        break;
        }
        s->waiting = false;
        for (size_t i = 0; i < s->n_names; i++)
                any = any || s->names[i]->have_good;
        return any;
}

int srv_source_expand(SrvSource *s, Config *config, char **ret_error) {
        int r;

        *ret_error = NULL;
        for (size_t i = 0; i < s->n_names; i++)
                s->names[i]->seen = false;

        for (size_t i = 0; i < config->n_targets; i++) {
                SrvName *n;

                if (!config->targets[i].srv_name)
                        continue;
                r = note_template(s, &config->targets[i], &n);
                if (r < 0)
                        return r;
        }
        /* The start: nothing is running yet that a few seconds of waiting could hold up. */
        if (!s->expanded && s->event && s->n_names > 0)
                (void) wait_first(s, SRV_SOURCE_FIRST_WAIT_USEC);
        s->expanded = true;

        /* Backwards, so that replacing a template does not move those still to come. */
        for (size_t i = config->n_targets; i-- > 0;) {
                const TargetConfig *t = &config->targets[i];
                TargetConfig *expansion = NULL;
                SrvName *n = find_name(s, t->name);

                if (!t->srv_name || !n)
                        continue;
                r = build_expansion(t, &n->good, &expansion);
                if (r < 0)
                        return r;
                r = config_replace_target(config, i, expansion, n->good.n, ret_error);
                if (r < 0) {
                        clear_expansion(expansion, n->good.n);
                        if (r == -E2BIG)
                                return config_section_error(
                                        ret_error, "Target", t->file, t->line, t->name,
                                        "SRV=%s: its %zu records exceed the limit of targets", n->srv_name,
                                        n->good.n);
                        return r;
                }
                free(expansion); /* its contents are the Config's now */
        }

        /* Templates gone from the configuration: their lookups stop. */
        size_t kept = 0;
        for (size_t i = 0; i < s->n_names; i++) {
                if (s->names[i]->seen)
                        s->names[kept++] = s->names[i];
                else
                        srv_name_free(s->names[i]);
        }
        s->n_names = kept;
        return 0;
}

static int source_apply(void *source, Config *config, char **ret_error) {
        return srv_source_expand(source, config, ret_error);
}

static void source_free(void *source) {
        srv_source_free(source);
}

const TargetSourceType srv_target_source = {
        .name = "srv",
        .apply = source_apply,
        .free = source_free,
};
