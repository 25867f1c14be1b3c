/* SPDX-License-Identifier: MIT */
/* The control server. Each client is a small state machine: READING a request line, WAITING for the
 * probes a check started, WRITING the answer, then READING again. A client that sends too much, is slow
 * to send its line, or does not read its answer is dropped; none of them can delay a probe, since all of
 * this runs as IO events on the probes' own loop, and no user but root and the daemon's own can take
 * the last of the slots. */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control-request.h"
#include "control.h"
#include "log.h"
#include "report-json.h"
#include "status-json.h"
#include "time-util.h"

#define CLIENTS_MAX 128
/* The last slots are for root and the daemon's user alone, and no other user holds more than its share:
 * a member of the socket's group (who may only read) cannot keep root from a reload. */
#define CLIENTS_RESERVED 16
#define CLIENTS_PER_UID 32
/* A request line must be whole within this time of the connection or of the previous answer. Bytes that
 * trickle in do not extend it: otherwise one a few seconds would hold a slot for ever. */
#define REQUEST_DEADLINE_USEC (10 * USEC_PER_SEC)
/* An answer (up to ANSWER_MAX) may be read slowly, but not stall: this long without progress ends it. */
#define CLIENT_IDLE_USEC (30 * USEC_PER_SEC)
/* Refusals for a cap are logged at most this often, so that the log is no one's lever either. */
#define REFUSAL_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)
/* A whole answer (all but status, which streams) is bounded; so is what is queued of a streamed one:
 * the next target's status is rendered only once the queue drained below STREAM_CHUNK, so a fleet's
 * status costs one target's document and this much buffer per client, whatever the fleet's size. */
#define ANSWER_MAX (64 * 1024 * 1024)
#define STREAM_CHUNK (64 * 1024)

typedef enum ClientState {
        CLIENT_READING,
        CLIENT_WAITING, /* for the results of a check */
        CLIENT_WRITING,
} ClientState;

typedef struct Client {
        Control *control;  /* back-pointer, not owned */
        int fd;
        uid_t uid;
        ClientState state;
        sd_event_source *io;
        sd_event_source *timer; /* the request's deadline while READING, the idle limit while WRITING */
        char input[CONTROL_REQUEST_MAX + 1];
        size_t input_length;
        char *output;
        size_t output_length;
        size_t output_allocated;
        size_t output_sent;
        bool streaming;      /* status: targets still to render */
        size_t cursor;       /* status: where the next target is looked for */
        size_t n_streamed;   /* status: targets rendered so far */
        char *stream_target; /* status: the one target asked for, NULL: all */
        json_t *pending; /* check: names still to come (object: name -> true) */
        json_t *results; /* check: the reports so far */
        struct Client *next;
} Client;

struct Control {
        sd_event *event;
        char *path; /* NULL when the socket came from systemd: we did not create it, we do not remove it */
        int fd;
        sd_event_source *io;
        ControlHandlers handlers;
        void *userdata;
        Client *clients;
        unsigned n_clients;
        usec_t refusal_logged_usec; /* when a cap's refusal was last logged, 0: never */
        unsigned refusals_unlogged; /* refusals since then */
};

/* Who may change anything, and take the reserved slots: root and the user the daemon runs as. */
static bool uid_is_privileged(uid_t uid) {
        return uid == 0 || uid == geteuid();
}

static void client_free(Client *client) {
        Control *c = client->control;

        for (Client **p = &c->clients; *p; p = &(*p)->next)
                if (*p == client) {
                        *p = client->next;
                        break;
                }
        c->n_clients--;
        sd_event_source_disable_unref(client->io);
        sd_event_source_disable_unref(client->timer);
        safe_close(client->fd);
        free(client->output);
        free(client->stream_target);
        json_decref(client->pending);
        json_decref(client->results);
        free(client);
}

static void client_arm(Client *client, usec_t usec) {
        uint64_t now = 0;

        (void) sd_event_now(client->control->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(client->timer, usec_add(now, usec));
        (void) sd_event_source_set_enabled(client->timer, SD_EVENT_ONESHOT);
}

/* The clock of the next request line starts: once, not at every byte of it. */
static void client_start_reading(Client *client) {
        client->state = CLIENT_READING;
        (void) sd_event_source_set_io_events(client->io, EPOLLIN);
        client_arm(client, REQUEST_DEADLINE_USEC);
}

/* Makes room for `n` more bytes in the output queue. Returns 0 or -ENOMEM (the queue unchanged). */
static int client_reserve(Client *client, size_t n) {
        if (client->output_length + n <= client->output_allocated)
                return 0;
        size_t allocated = MAX(client->output_length + n, MAX(client->output_allocated * 2, (size_t) 4096));
        char *output = realloc(client->output, allocated);
        if (!output)
                return -ENOMEM;
        client->output = output;
        client->output_allocated = allocated;
        return 0;
}

static int client_append(Client *client, const char *text, size_t n) {
        if (client_reserve(client, n) < 0)
                return -ENOMEM;
        memcpy(client->output + client->output_length, text, n);
        client->output_length += n;
        return 0;
}

static int client_append_json(Client *client, json_t *o) {
        const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | REPORT_JSON_DUMP_FLAGS;
        size_t n = o ? json_dumpb(o, NULL, 0, flags) : 0;

        if (n == 0 || client_reserve(client, n) < 0)
                return -ENOMEM;
        client->output_length += json_dumpb(o, client->output + client->output_length, n, flags);
        return 0;
}

static int client_error(Client *client, const char *message);

static void client_start_writing(Client *client) {
        client->output_sent = 0;
        client->state = CLIENT_WRITING;
        (void) sd_event_source_set_io_events(client->io, EPOLLOUT);
        client_arm(client, CLIENT_IDLE_USEC);
}

/* Queues one answer line and switches to writing. The document is consumed. Returns -ENOMEM after
 * freeing the client when even an error line cannot be built: the caller must not touch it then. */
static int client_answer(Client *client, json_t *answer) {
        static const char failed[] = "{\"ok\":false,\"error\":\"the answer could not be built\"}";
        size_t n = answer ? json_dumpb(answer, NULL, 0, JSON_COMPACT | REPORT_JSON_DUMP_FLAGS) : 0;

        client->output_length = client->output_sent = 0;
        if (n == 0 || n > ANSWER_MAX || client_append_json(client, answer) < 0) {
                client->output_length = 0;
                if (client_append(client, failed, strlen(failed)) < 0) {
                        json_decref(answer);
                        client_free(client);
                        return -ENOMEM;
                }
        }
        json_decref(answer);
        if (client_append(client, "\n", 1) < 0) {
                client_free(client);
                return -ENOMEM;
        }
        client_start_writing(client);
        return 0;
}

/* Renders status documents into the queue until it holds STREAM_CHUNK or the targets end; then the
 * answer's tail, with the webhooks. Returns 0, or -ENOMEM after freeing the client. */
static int client_stream_fill(Client *client) {
        Control *c = client->control;
        int r;

        while (client->streaming && client->output_length - client->output_sent < STREAM_CHUNK) {
                json_t *o = NULL;

                r = c->handlers.status(c->userdata, client->stream_target, &client->cursor, &o);
                if (r > 0) {
                        r = client_append(client, client->n_streamed > 0 ? "," : "", client->n_streamed > 0);
                        if (r >= 0)
                                r = client_append_json(client, o);
                        json_decref(o);
                        client->n_streamed++;
                        if (r < 0)
                                goto fail;
                        continue;
                }
                /* The end (or a failure half way, which the reader sees as an unterminated answer: a
                 * line that does not parse, not a wrong status). */
                if (r < 0)
                        goto fail;
                client->streaming = false;
                /* The webhooks' queues belong to the whole picture: dead letters are alerts nobody got. */
                json_t *webhooks = NULL;
                if (c->handlers.webhooks(c->userdata, &webhooks, NULL) < 0)
                        webhooks = json_array();
                r = client_append(client, "],\"webhooks\":", strlen("],\"webhooks\":"));
                if (r >= 0)
                        r = client_append_json(client, webhooks);
                json_decref(webhooks);
                if (r >= 0)
                        r = client_append(client, "}\n", 2);
                if (r < 0)
                        goto fail;
        }
        return 0;

fail:
        client_free(client);
        return -ENOMEM;
}

static void client_answer_status(Client *client, const char *target) {
        Control *c = client->control;
        json_t *first = NULL;
        size_t cursor = 0;
        int r;

        /* The first target is looked up before anything is sent, so that an unknown name is an error
         * answer, not an empty list. */
        r = c->handlers.status(c->userdata, target, &cursor, &first);
        if (r == 0 && target) {
                _cleanup_free_ char *message = NULL;
                (void) client_error(client, asprintf(&message, "no target \"%s\"", target) >= 0 ? message
                                                                                                   : "no such target");
                return;
        }
        if (r < 0) {
                (void) client_error(client, strerror(-r));
                return;
        }
        free(client->stream_target);
        client->stream_target = target ? strdup(target) : NULL;
        if (target && !client->stream_target) {
                json_decref(first);
                (void) client_error(client, strerror(ENOMEM));
                return;
        }
        client->output_length = client->output_sent = 0;
        client->cursor = cursor;
        client->n_streamed = 0;
        client->streaming = true;
        static const char head[] = "{\"ok\":true,\"schema\":\"" STATUS_JSON_SCHEMA "\",\"targets\":[";
        r = client_append(client, head, strlen(head));
        if (r >= 0 && first) {
                r = client_append_json(client, first);
                client->n_streamed++;
        }
        json_decref(first);
        if (r < 0) {
                client_free(client);
                return;
        }
        if (client_stream_fill(client) < 0)
                return;
        client_start_writing(client);
}

static int client_error(Client *client, const char *message) {
        return client_answer(client, json_pack("{s:b, s:s}", "ok", 0, "error", message));
}

static void client_run_request(Client *client, ControlRequest *request) {
        Control *c = client->control;
        _cleanup_free_ char *error = NULL;
        json_t *result = NULL;
        char *text = NULL;
        int r;

        if (control_command_is_privileged(request->command) && !uid_is_privileged(client->uid)) {
                client_error(client, "permission denied: only root and the daemon's user may change anything");
                return;
        }

        switch (request->command) {
        case CONTROL_STATUS:
                client_answer_status(client, request->target);
                return;
        case CONTROL_METRICS:
                r = c->handlers.metrics(c->userdata, &text, &error);
                if (r < 0)
                        break;
                (void) client_answer(client, json_pack("{s:b, s:s}", "ok", 1, "metrics", text));
                free(text);
                return;
        case CONTROL_WEBHOOKS:
                r = c->handlers.webhooks(c->userdata, &result, &error);
                if (r < 0)
                        break;
                (void) client_answer(client, json_pack("{s:b, s:o}", "ok", 1, "webhooks", result));
                return;
        case CONTROL_WEBHOOK_TEST:
                r = c->handlers.webhook_test(c->userdata, request->target, &error);
                if (r < 0)
                        break;
                (void) client_answer(client, json_pack("{s:b}", "ok", 1));
                return;
        case CONTROL_RELOAD:
                r = c->handlers.reload(c->userdata, &error);
                if (r < 0)
                        break;
                (void) client_answer(client, json_pack("{s:b}", "ok", 1));
                return;
        case CONTROL_CHECK: {
                json_t *names = NULL;
                size_t i;
                json_t *name;

                r = c->handlers.check(c->userdata, request->target, &names, &error);
                if (r < 0)
                        break;
                client->pending = json_object();
                client->results = json_array();
                json_array_foreach(names, i, name)
                        (void) json_object_set_new(client->pending, json_string_value(name), json_true());
                json_decref(names);
                if (json_object_size(client->pending) == 0) {
                        client->pending = (json_decref(client->pending), NULL);
                        (void) client_answer(client, json_pack("{s:b, s:o}", "ok", 1, "reports", TAKE_PTR(client->results)));
                        return;
                }
                /* The answer comes when the last report does; no idle timeout while the daemon works. */
                client->state = CLIENT_WAITING;
                (void) sd_event_source_set_enabled(client->io, SD_EVENT_OFF);
                (void) sd_event_source_set_enabled(client->timer, SD_EVENT_OFF);
                return;
        }
        default:
                r = -EINVAL;
        }
        (void) client_error(client, error ?: strerror(-r));
}

/* Runs the first complete request line in the buffer, if there is one. */
static void client_process_input(Client *client) {
        char *newline = memchr(client->input, '\n', client->input_length);
        if (!newline) {
                if (client->input_length >= sizeof(client->input)) {
                        client->input_length = 0;
                        if (client_error(client, "request larger than 64 KiB") >= 0)
                                (void) shutdown(client->fd, SHUT_RD);
                }
                return;
        }

        size_t line_length = (size_t) (newline - client->input);
        ControlRequest request;
        _cleanup_free_ char *error = NULL;
        int r = control_request_parse(client->input, line_length, &request, &error);

        memmove(client->input, newline + 1, client->input_length - line_length - 1);
        client->input_length -= line_length + 1;

        if (r < 0) {
                (void) client_error(client, error ?: "invalid request");
                return;
        }
        client_run_request(client, &request);
        control_request_clear(&request);
}

static void client_read(Client *client) {
        ssize_t n;

        n = read(client->fd, client->input + client->input_length, sizeof(client->input) - client->input_length);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                client_free(client);
                return;
        }
        if (n < 0)
                return;
        client->input_length += (size_t) n;
        client_process_input(client);
}

static void client_write(Client *client) {
        ssize_t n = send(client->fd, client->output + client->output_sent, client->output_length - client->output_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        client_free(client);
                return;
        }
        client->output_sent += (size_t) n;
        client_arm(client, CLIENT_IDLE_USEC);
        if (client->streaming && client->output_length - client->output_sent < STREAM_CHUNK) {
                /* Keep the queue's memory: move what is left to the front, render more behind it. */
                memmove(client->output, client->output + client->output_sent, client->output_length - client->output_sent);
                client->output_length -= client->output_sent;
                client->output_sent = 0;
                if (client_stream_fill(client) < 0)
                        return;
        }
        if (client->output_sent < client->output_length)
                return;

        client->output = mfree(client->output);
        client->output_length = client->output_sent = client->output_allocated = 0;
        client_start_reading(client);
        client_process_input(client);
}

static int on_client_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Client *client = userdata;

        if (client->state == CLIENT_WRITING)
                client_write(client);
        else if (client->state == CLIENT_READING)
                client_read(client);
        return 0;
}

static int on_client_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        client_free(userdata);
        return 0;
}

/* Whether a client of `uid` may have a slot; when not, a refusal for a cap, logged now and then. */
static bool control_admits(Control *c, uid_t uid) {
        unsigned n_uid = 0;

        if (c->n_clients >= CLIENTS_MAX)
                return false;
        if (uid_is_privileged(uid))
                return true;
        for (Client *client = c->clients; client; client = client->next)
                n_uid += client->uid == uid;
        if (n_uid < CLIENTS_PER_UID && c->n_clients < CLIENTS_MAX - CLIENTS_RESERVED)
                return true;

        uint64_t now = 0;
        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (c->refusal_logged_usec == 0 || now >= usec_add(c->refusal_logged_usec, REFUSAL_LOG_INTERVAL_USEC)) {
                if (n_uid >= CLIENTS_PER_UID)
                        log_warning("control socket: uid %u holds %u connections, its limit; refusing more "
                                    "(%u other refusals since the last such message)",
                                    (unsigned) uid, n_uid, c->refusals_unlogged);
                else
                        log_warning("control socket: %u of %u connections taken, the rest are kept for root "
                                    "and the daemon's user; refusing uid %u (%u other refusals since the last "
                                    "such message)",
                                    c->n_clients, CLIENTS_MAX, (unsigned) uid, c->refusals_unlogged);
                c->refusal_logged_usec = MAX(now, (uint64_t) 1);
                c->refusals_unlogged = 0;
        } else
                c->refusals_unlogged++;
        return false;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Control *c = userdata;
        struct ucred credentials;
        socklen_t length = sizeof(credentials);
        int client_fd;

        client_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client_fd < 0)
                return 0;

        if (getsockopt(client_fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0 ||
            !control_admits(c, credentials.uid)) {
                static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";
                (void) send(client_fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                safe_close(client_fd);
                return 0;
        }

        Client *client = calloc(1, sizeof(Client));
        if (!client) {
                safe_close(client_fd);
                return 0;
        }
        *client = (Client) { .control = c, .fd = client_fd, .uid = credentials.uid, .next = c->clients };
        c->clients = client;
        c->n_clients++;

        if (sd_event_add_io(c->event, &client->io, client_fd, EPOLLIN, on_client_io, client) < 0 ||
            sd_event_add_time_relative(c->event, &client->timer, CLOCK_MONOTONIC, REQUEST_DEADLINE_USEC,
                                       USEC_PER_SEC, on_client_timer, client) < 0)
                client_free(client);
        return 0;
}

void control_probe_finished(Control *c, const char *target, const Report *report) {
        json_t *document = NULL;
        Client *next;

        if (!c)
                return;
        assert(target);
        assert(report);
        for (Client *client = c->clients; client; client = next) {
                next = client->next;
                if (client->state != CLIENT_WAITING || !json_object_get(client->pending, target))
                        continue;
                (void) json_object_del(client->pending, target);
                /* Rendered once, for the first client that waits for it. */
                if (!document && report_to_json(report, &document) >= 0)
                        (void) json_object_set_new(document, "name", json_string(target));
                if (document)
                        (void) json_array_append(client->results, document);
                if (json_object_size(client->pending) > 0)
                        continue;
                client->pending = (json_decref(client->pending), NULL);
                (void) sd_event_source_set_enabled(client->io, SD_EVENT_ON);
                (void) client_answer(client, json_pack("{s:b, s:o}", "ok", 1, "reports", TAKE_PTR(client->results)));
        }
        json_decref(document);
}

void control_target_removed(Control *c, const char *target) {
        Client *next;
        char message[512];

        if (!c)
                return;
        snprintf(message, sizeof(message), "target \"%s\" was removed by a reload before its check finished", target);
        for (Client *client = c->clients; client; client = next) {
                next = client->next;
                if (client->state != CLIENT_WAITING || !json_object_get(client->pending, target))
                        continue;
                client->pending = (json_decref(client->pending), NULL);
                client->results = (json_decref(client->results), NULL);
                (void) sd_event_source_set_enabled(client->io, SD_EVENT_ON);
                (void) client_error(client, message);
        }
}

static int create_socket(const char *path) {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(address.sun_path))
                return -ENAMETOOLONG;
        strcpy(address.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path); /* a stale socket of a previous run */
        /* Readers need only to be able to open it: owner and group (tlswatch), nobody else. The mode
         * is set by the umask at bind, so there is no moment when the socket has another one. */
        mode_t saved_umask = umask(0117);
        int bound = bind(fd, (struct sockaddr *) &address, sizeof(address));
        int bind_errno = errno;
        (void) umask(saved_umask);
        if (bound < 0)
                return -bind_errno;
        if (listen(fd, SOMAXCONN) < 0) {
                int r = -errno;
                (void) unlink(path);
                return r;
        }
        return TAKE_FD(fd);
}

int control_new(sd_event *event, const char *path, int listen_fd, const ControlHandlers *handlers,
                void *userdata, Control **ret) {
        _cleanup_(control_freep) Control *c = NULL;
        int r;

        c = calloc(1, sizeof(Control));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->handlers = *handlers;
        c->userdata = userdata;
        c->fd = -EBADF;

        if (listen_fd >= 0) {
                c->fd = listen_fd;
                (void) fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        } else {
                c->path = strdup(path);
                if (!c->path)
                        return -ENOMEM;
                c->fd = create_socket(path);
                if (c->fd < 0) {
                        r = c->fd;
                        c->path = mfree(c->path); /* not ours to remove */
                        return r;
                }
        }

        r = sd_event_add_io(event, &c->io, c->fd, EPOLLIN, on_accept, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

const char *control_path(const Control *c) {
        return c->path;
}

Control *control_free(Control *c) {
        if (!c)
                return NULL;
        while (c->clients)
                client_free(c->clients);
        sd_event_source_disable_unref(c->io);
        safe_close(c->fd);
        if (c->path)
                (void) unlink(c->path);
        free(c->path);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
