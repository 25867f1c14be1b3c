/* SPDX-License-Identifier: MIT */
/* A blocking client is right here: tlswatchctl does one thing and exits. A receive timeout keeps a
 * wedged daemon from hanging a cron job; `check` waits as long as probes may take. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control-client.h"
#include "macro.h"

/* A check of every target may take several probe timeouts when targets queue for slots. */
#define ANSWER_TIMEOUT_SECONDS 600
#define ANSWER_MAX (256 * 1024 * 1024)

char *control_client_socket_path(const char *explicit_path) {
        const char *runtime = getenv("RUNTIME_DIRECTORY");
        char *path = NULL;

        if (explicit_path)
                return strdup(explicit_path);
        const char *from_environment = getenv("TLSWATCH_SOCKET");
        if (from_environment)
                return strdup(from_environment);
        if (asprintf(&path, "%.*s/control.sock", runtime ? (int) strcspn(runtime, ":") : (int) strlen("/run/tlswatch"),
                     runtime ?: "/run/tlswatch") < 0)
                return NULL;
        return path;
}

int control_client_call(const char *path, json_t *request, json_t **ret) {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        struct timeval timeout = { .tv_sec = ANSWER_TIMEOUT_SECONDS };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL, *answer = NULL;
        size_t used = 0, size = 0;

        if (strlen(path) >= sizeof(address.sun_path))
                return -ENAMETOOLONG;
        strcpy(address.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
                return -errno;

        text = json_dumps(request, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        size_t length = strlen(text);
        text[length] = '\0';
        if (send(fd, text, length, MSG_NOSIGNAL) != (ssize_t) length || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
                /* The server may have answered ("too many clients") and hung up before we wrote. */
                if (!IN_SET(errno, EPIPE, ECONNRESET))
                        return -errno;
        }

        for (;;) {
                if (used + 65536 + 1 > size) {
                        if (size > ANSWER_MAX)
                                return -EFBIG;
                        size = size ? size * 2 : 131072;
                        char *bigger = realloc(answer, size);
                        if (!bigger)
                                return -ENOMEM;
                        answer = bigger;
                }
                ssize_t n = recv(fd, answer + used, size - used - 1, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                if (n == 0)
                        break;
                used += (size_t) n;
                if (answer[used - 1] == '\n')
                        break;
        }
        if (used == 0)
                return -ECONNRESET;

        json_t *document = json_loadb(answer, used, 0, NULL);
        if (!json_is_object(document)) {
                json_decref(document);
                return -EBADMSG;
        }
        *ret = document;
        return 0;
}
