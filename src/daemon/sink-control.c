/* SPDX-License-Identifier: MIT */
/* The control socket as a sink: it is made with the first configuration the service runs (the socket
 * systemd passes, or ControlSocket=), answers through the manager's request handlers, and feeds each
 * finished probe to the clients waiting on a check of that target. A command (--once) has no socket. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "sink-control.h"

typedef struct ControlSink {
        const SinkContext *context;
        const char *pending_path; /* ControlSocket= of the config being configured, NULL: the default */
        bool pending;
        bool started; /* the socket was made, or tried */
        Control *control;
} ControlSink;

static int sink_new(const SinkContext *context, void **ret) {
        ControlSink *s = calloc(1, sizeof(ControlSink));

        assert(context->host && context->host->requests);
        if (!s)
                return -ENOMEM;
        s->context = context;
        *ret = s;
        return 0;
}

static void *sink_free(void *sink) {
        ControlSink *s = sink;

        if (!s)
                return NULL;
        control_free(s->control);
        free(s);
        return NULL;
}

static int sink_configure(void *sink, const Config *config, char **ret_error) {
        ControlSink *s = sink;

        s->pending_path = config->control_socket;
        s->pending = true;
        return 0;
}

/* A failure costs only the socket, not the monitoring: warned about, once. */
static void start_control(ControlSink *s, const char *configured) {
        _cleanup_free_ char *path = NULL;
        int listen_fd = -EBADF;
        int r;

        if (configured)
                path = strdup(configured);
        else {
                const char *runtime = getenv("RUNTIME_DIRECTORY");
                /* systemd passes several directories separated by ':' when the unit lists several. */
                if (asprintf(&path, "%.*s/control.sock",
                             runtime ? (int) strcspn(runtime, ":") : (int) strlen("/run/tlswatch"),
                             runtime ?: "/run/tlswatch") < 0)
                        path = NULL;
        }
        if (!path) {
                log_warning("cannot create the control socket: %s", strerror(ENOMEM));
                return;
        }

        /* Socket activation: systemd passes the listening socket of tlswatchd.socket. */
        if (sd_listen_fds(true) >= 1)
                listen_fd = SD_LISTEN_FDS_START;

        r = control_new(s->context->event, path, listen_fd, s->context->host->requests,
                        s->context->host->userdata, &s->control);
        if (r < 0)
                log_warning(
                        "cannot create the control socket %s: %s; tlswatchctl will not reach this daemon",
                        path, strerror(-r));
}

static void sink_commit(void *sink, bool apply) {
        ControlSink *s = sink;
        bool first = apply && s->pending && !s->started;

        s->pending = false;
        /* Made once: clients and tlswatchd.socket know the path the service started with. */
        if (!first || s->context->once)
                return;
        s->started = true;
        start_control(s, s->pending_path);
}

static void sink_probe_done(void *sink, const SinkTarget *target) {
        ControlSink *s = sink;

        if (target->last_report)
                control_probe_finished(s->control, target->config->name, target->last_report);
}

static void sink_target_removed(void *sink, const TargetConfig *config) {
        ControlSink *s = sink;
        control_target_removed(s->control, config->name);
}

const SinkType sink_control = {
        .name = "control",
        .new = sink_new,
        .free = sink_free,
        .configure = sink_configure,
        .commit = sink_commit,
        .probe_done = sink_probe_done,
        .target_removed = sink_target_removed,
};
