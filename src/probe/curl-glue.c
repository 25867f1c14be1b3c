/* SPDX-License-Identifier: MIT */
/* The glue between CURLM and sd-event (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION). Each socket
 * curl wants watched gets an IO source, stored with curl_multi_assign(); the one timer curl asks for
 * is one time source. */
#include <errno.h>
#include <sys/epoll.h>

#include "curl-glue.h"
#include "log.h"

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
};

typedef struct Transfer {
        curl_glue_done_t done;
        void *userdata;
} Transfer;

static void check_finished(CurlGlue *glue) {
        CURLMsg *message;
        int left;

        while ((message = curl_multi_info_read(glue->multi, &left))) {
                if (message->msg != CURLMSG_DONE)
                        continue;

                CURL *easy = message->easy_handle;
                CURLcode result = message->data.result;
                Transfer *transfer = NULL;

                (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &transfer);
                (void) curl_multi_remove_handle(glue->multi, easy);
                (void) curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
                if (transfer) {
                        curl_glue_done_t done = transfer->done;
                        void *userdata = transfer->userdata;
                        free(transfer);
                        done(glue, easy, result, userdata);
                }
        }
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        CurlGlue *glue = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;

        if (curl_multi_socket_action(glue->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed");
        check_finished(glue);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socket_data) {
        CurlGlue *glue = userdata;
        sd_event_source *source = socket_data;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (source) {
                        (void) curl_multi_assign(glue->multi, fd, NULL);
                        sd_event_source_disable_unref(source);
                }
                return 0;
        }

        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;

        if (source)
                return sd_event_source_set_io_events(source, events) < 0 ? -1 : 0;

        if (sd_event_add_io(glue->event, &source, fd, events, on_io, glue) < 0)
                return -1;
        if (curl_multi_assign(glue->multi, fd, source) != CURLM_OK) {
                sd_event_source_disable_unref(source);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        CurlGlue *glue = userdata;
        int running;

        if (curl_multi_socket_action(glue->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed");
        check_finished(glue);
        return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userdata) {
        CurlGlue *glue = userdata;
        uint64_t now = 0;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(glue->timer, SD_EVENT_OFF) < 0 ? -1 : 0;

        (void) sd_event_now(glue->event, CLOCK_MONOTONIC, &now);
        if (sd_event_source_set_time(glue->timer, now + (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(glue->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int curl_glue_new(sd_event *event, CurlGlue **ret) {
        _cleanup_(curl_glue_freep) CurlGlue *glue = NULL;
        int r;

        glue = calloc(1, sizeof(CurlGlue));
        if (!glue)
                return -ENOMEM;
        glue->event = sd_event_ref(event);
        glue->multi = curl_multi_init();
        if (!glue->multi)
                return -ENOMEM;

        /* Accuracy 1 ms: 0 would mean sd-event's default of 250 ms, and curl asks for a timeout of 0 to
         * start each transfer, so every webhook request waited a quarter of a second (4 a second at
         * most, however fast the receiver). */
        r = sd_event_add_time(event, &glue->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, glue);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(glue->timer, SD_EVENT_OFF);

        if (curl_multi_setopt(glue->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(glue->multi, CURLMOPT_SOCKETDATA, glue) != CURLM_OK ||
            curl_multi_setopt(glue->multi, CURLMOPT_TIMERFUNCTION, on_timer_change) != CURLM_OK ||
            curl_multi_setopt(glue->multi, CURLMOPT_TIMERDATA, glue) != CURLM_OK)
                return -EIO;

        *ret = TAKE_PTR(glue);
        return 0;
}

int curl_glue_add(CurlGlue *glue, CURL *easy, curl_glue_done_t done, void *userdata) {
        Transfer *transfer = calloc(1, sizeof(Transfer));

        if (!transfer)
                return -ENOMEM;
        *transfer = (Transfer) { .done = done, .userdata = userdata };
        if (curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer) != CURLE_OK ||
            curl_multi_add_handle(glue->multi, easy) != CURLM_OK) {
                (void) curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
                free(transfer);
                return -EIO;
        }
        return 0;
}

void curl_glue_remove(CurlGlue *glue, CURL *easy) {
        Transfer *transfer = NULL;

        if (!glue || !easy)
                return;
        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &transfer);
        (void) curl_multi_remove_handle(glue->multi, easy);
        (void) curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(transfer);
}

CurlGlue *curl_glue_free(CurlGlue *glue) {
        if (!glue)
                return NULL;
        /* Transfers still running belong to their owners, who remove them first. */
        if (glue->multi)
                curl_multi_cleanup(glue->multi);
        sd_event_source_disable_unref(glue->timer);
        sd_event_unref(glue->event);
        free(glue);
        return NULL;
}
