/* SPDX-License-Identifier: MIT */
/* Webhook queues and their delivery. Each webhook is a small state machine — IDLE, SENDING one event,
 * WAITING for its retry timer — over a FIFO of events whose spool files are written (write, fsync,
 * rename) before the first attempt. A restart reads the spool back in order, so what was pending is
 * sent again: delivery is at least once, and a duplicate carries the same event id.
 * Alertmanager webhooks follow Prometheus instead of the events: after each probe the target's problems
 * are compared with the alerts it has firing (the manager's alert table); an alert that starts, ends or
 * changes severity is spooled like an event, and every alert still firing is resent, in memory only,
 * coalesced per target and batched, so that it holds (endsAt) for a few intervals more. Each URL= of
 * such a webhook is a peer with its own queue. */
#include <assert.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <systemd/sd-id128.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "curl-glue.h"
#include "file-util.h"
#include "log.h"
#include "report-json.h"
#include "time-util.h"
#include "webhook-payload.h"
#include "webhook.h"

#define RETRY_FIRST_USEC (500 * USEC_PER_MSEC)
#define RETRY_LONGEST_USEC (10 * USEC_PER_MINUTE)
#define RETRY_AFTER_LONGEST_USEC (1 * USEC_PER_HOUR)
#define RESPONSE_LINE_MAX 256
/* A receiver's answer is read for its status and first line; a body beyond this is a receiver gone
 * wrong (or hostile), and the attempt is abandoned as failed rather than read on until Timeout=. */
#define RESPONSE_BODY_MAX (64 * 1024)
/* Resends wait this long to travel together, as Prometheus's notifier batches them. */
#define RESEND_GATHER_USEC (1 * USEC_PER_SEC)
#define RESEND_BATCH_ALERTS 256
/* Targets whose resends wait for a receiver that is down; beyond, new ones are dropped (resends are
 * only a renewal: the next probe makes them again). */
#define RESEND_TARGETS_MAX 10000
#define RESEND_HOLD_LONGEST_USEC (30 * USEC_PER_SEC)

typedef struct Pending {
        uint64_t sequence;
        json_t *event;   /* the tlswatch.alert/1 document; NULL while it waits in its spool file */
        char *path;      /* its spool file, NULL if it could not be written */
        size_t bytes;
        unsigned attempts;
        usec_t first_attempt_usec; /* CLOCK_REALTIME, 0 before the first: recorded and shown, not measured */
        /* RetryMax= is measured on CLOCK_BOOTTIME, which no step of the wall clock moves (and which, unlike
         * CLOCK_MONOTONIC, goes on while the machine sleeps, as the receiver's outage does): the time
         * tried in earlier runs, plus this run's since `counted_since_usec` (0 before the first attempt). */
        usec_t tried_before_usec;
        usec_t counted_since_usec;
        struct Pending *next;
} Pending;

typedef enum WebhookState {
        WEBHOOK_IDLE,
        WEBHOOK_SENDING,
        WEBHOOK_WAITING, /* for the retry timer */
} WebhookState;

typedef struct Webhook {
        WebhookManager *manager; /* back-pointer, not owned */
        const WebhookConfig *config;
        const char *url; /* one of config->urls */
        unsigned peer;   /* its index there */
        WebhookState state;
        char *secret;
        char *bearer_token;
        char *directory;
        Pending *head, *tail;
        size_t n_pending;
        size_t n_unspooled;  /* events in memory only: their spool file could not be written */
        bool spool_failing;  /* said so once; said again when the spool is written again */
        uint64_t next_sequence;

        CURL *easy;
        struct curl_slist *headers;
        char *body;
        char response_line[RESPONSE_LINE_MAX];
        char curl_error[CURL_ERROR_SIZE]; /* curl's detailed reason, e.g. which certificate check failed */
        size_t response_length;
        size_t response_body_bytes; /* read of the answer's body so far, up to RESPONSE_BODY_MAX */
        usec_t retry_after_usec;
        sd_event_source *retry_timer;

        /* Alertmanager: target name -> array of the alert objects to resend, the newest probe's. */
        json_t *resends;
        bool resending;  /* the request in flight is a batch of resends */
        bool resend_due; /* the gather time passed: send resends when the queue is empty */
        bool resends_full_warned;
        unsigned resend_failures;
        sd_event_source *resend_timer;

        uint64_t failures_total;
        uint64_t dead_letters;
        uint64_t spool_unreadable; /* spool files found at the last load that could not be read */
        usec_t last_success_usec;
        char *last_error;
} Webhook;

struct WebhookManager {
        sd_event *event;
        CurlGlue *glue;
        char *spool_directory;
        uint64_t spool_max_bytes;
        uint64_t spool_bytes;
        bool spool_full_warned;
        json_t *spool_unreadable; /* the paths said to be unreadable, each said once */
        char hostname[256];
        const SinkHost *host; /* the targets' states, for the alert table at the start; may be NULL */
        const Config *config; /* the configuration in force (for the targets' Interval=), NULL before */
        const Config *prepared_config;
        /* What the Alertmanager webhooks have firing: target name -> {code: {severity, starts, message}}.
         * Filled from the saved states at the start, then kept by each probe. */
        json_t *alerts;
        bool alerts_seeded;
        size_t n_alertmanagers;
        Webhook **webhooks;
        size_t n_webhooks;
        /* Made by configure, put in force or dropped by commit. */
        Webhook **prepared;
        size_t n_prepared;
        uint64_t prepared_spool_max_bytes;
};

/* Vantage= of the configuration in force, for each event's document. */
static const char *vantage_of(const WebhookManager *m) {
        return m->config ? m->config->vantage : NULL;
}

static usec_t now_clock(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static usec_t now_realtime(void) {
        return now_clock(CLOCK_REALTIME);
}

/* How long the event has been tried, for RetryMax=. */
static usec_t pending_tried_usec(const Pending *p) {
        if (!p->counted_since_usec)
                return 0;
        usec_t now = now_clock(CLOCK_BOOTTIME);
        return usec_add(p->tried_before_usec, now - MIN(now, p->counted_since_usec));
}

static void pending_free(Pending *p) {
        if (!p)
                return;
        json_decref(p->event);
        free(p->path);
        free(p);
}

static void set_last_error(Webhook *w, const char *format, ...) _printf_(2, 3);
static void set_last_error(Webhook *w, const char *format, ...) {
        va_list ap;

        free(w->last_error);
        va_start(ap, format);
        if (vasprintf(&w->last_error, format, ap) < 0)
                w->last_error = NULL;
        va_end(ap);
}

static void cancel_request(Webhook *w) {
        if (w->easy) {
                curl_glue_remove(w->manager->glue, w->easy);
                curl_easy_cleanup(w->easy);
                w->easy = NULL;
        }
        curl_slist_free_all(w->headers);
        w->headers = NULL;
        w->body = mfree(w->body);
}

static void respool(Webhook *w);

static Webhook *webhook_free(Webhook *w) {
        if (!w)
                return NULL;
        /* At a stop or a reload, what is in memory only has one more chance to reach the spool, from
         * which the next run (or the reloaded webhook) sends it. */
        respool(w);
        cancel_request(w);
        sd_event_source_disable_unref(w->retry_timer);
        sd_event_source_disable_unref(w->resend_timer);
        json_decref(w->resends);
        while (w->head) {
                Pending *next = w->head->next;
                w->manager->spool_bytes -= MIN(w->manager->spool_bytes, w->head->bytes);
                pending_free(w->head);
                w->head = next;
        }
        erase_and_free(w->secret);
        erase_and_free(w->bearer_token);
        free(w->directory);
        free(w->last_error);
        free(w);
        return NULL;
}

/* "<spool file>.first-attempt" holds when the event was first tried, so RetryMax= counts from the
 * first attempt across restarts too; the event file itself stays exactly the body it was. The line is
 * "REALTIME BOOT-ID BOOTTIME" (microseconds): within one boot the restarted daemon measures on
 * CLOCK_BOOTTIME, across a reboot by the wall clock, checked against the files' own times. (Before
 * 0.2 it was "REALTIME" alone; read as from another boot.) */
static char *first_attempt_path(const char *event_path) {
        char *path = NULL;

        if (!event_path || asprintf(&path, "%s.first-attempt", event_path) < 0)
                return NULL;
        return path;
}

static void save_first_attempt(const Webhook *w, const Pending *p) {
        _cleanup_free_ char *path = first_attempt_path(p->path);
        char text[128], boot[SD_ID128_STRING_MAX] = "-";
        sd_id128_t id;

        if (!path)
                return;
        if (sd_id128_get_boot(&id) >= 0)
                (void) sd_id128_to_string(id, boot);
        int n = snprintf(text, sizeof(text), "%llu %s %llu\n", (unsigned long long) p->first_attempt_usec, boot,
                         (unsigned long long) p->counted_since_usec);
        int r = write_file_atomic(path, text, (size_t) n, 0600);
        if (r < 0)
                log_warning("webhook %s: cannot record the first attempt in %s: %s; after a restart RetryMax= "
                            "counts from then", w->config->name, path, file_error_text(r));
}

/* The first attempt of `p`, in this run (the event was never tried before). */
static void begin_attempts(const Webhook *w, Pending *p) {
        p->first_attempt_usec = now_realtime();
        p->counted_since_usec = now_clock(CLOCK_BOOTTIME);
        p->tried_before_usec = 0;
        save_first_attempt(w, p);
}

static usec_t timespec_usec(const struct timespec *ts) {
        return (usec_t) ts->tv_sec * USEC_PER_SEC + (usec_t) ts->tv_nsec / 1000;
}

/* Grace for the coarse timestamps of file systems, and for the write of the marker after the attempt. */
#define FILE_TIME_SLACK_USEC (2 * USEC_PER_SEC)

usec_t webhook_tried_across_reboot(usec_t first_attempt, usec_t spooled, usec_t recorded, usec_t now) {
        /* The first attempt came after the event was spooled and before the marker was written: outside
         * that, the saved time is wrong (a damaged file, or a clock stepped between), and RetryMax=
         * counts from the latest time the files allow, so no event goes to the dead letters early. */
        if (first_attempt + FILE_TIME_SLACK_USEC < spooled || first_attempt > usec_add(recorded, FILE_TIME_SLACK_USEC))
                first_attempt = recorded;
        /* A time ahead of now (the clock stepped back since): counted afresh from now. */
        return now - MIN(now, first_attempt);
}

static void load_first_attempt(const Webhook *w, Pending *p, const struct stat *event_st) {
        _cleanup_free_ char *path = first_attempt_path(p->path), *text = NULL;
        unsigned long long realtime = 0, boottime = 0;
        char boot[SD_ID128_STRING_MAX] = "";
        struct stat st;
        sd_id128_t id, saved_id;
        int n;

        if (!path || read_full_file(path, 128, &text) < 0 || stat(path, &st) < 0)
                return;
        /* "REALTIME" or "REALTIME BOOT-ID BOOTTIME"; anything else is ignored, as no record. */
        char *end = NULL;
        errno = 0;
        realtime = strtoull(text, &end, 10);
        if (errno != 0 || end == text || realtime == 0)
                return;
        n = 1;
        if (*end == ' ' && strlen(end + 1) > 33 && end[33] == ' ') {
                memcpy(boot, end + 1, 32);
                boot[32] = '\0';
                const char *b = end + 34;
                boottime = strtoull(b, &end, 10);
                if (errno == 0 && end != b && (*end == '\n' || *end == '\0'))
                        n = 3;
        } else if (*end != ' ' && *end != '\n' && *end != '\0')
                return; /* (a record without a boot ID, "-", is taken by the wall clock) */

        usec_t now = now_clock(CLOCK_BOOTTIME);
        if (n == 3 && sd_id128_get_boot(&id) >= 0 && sd_id128_from_string(boot, &saved_id) >= 0 &&
            sd_id128_equal(id, saved_id) && boottime > 0 && boottime <= now)
                /* The same boot: exact, whatever the wall clock did meanwhile. */
                p->tried_before_usec = now - boottime;
        else {
                p->tried_before_usec = webhook_tried_across_reboot(realtime, timespec_usec(&event_st->st_mtim),
                                                                   timespec_usec(&st.st_mtim), now_realtime());
                if (realtime > now_realtime())
                        (void) log_full_errno(LOG_NOTICE, 0, "webhook %s: the first attempt recorded in %s lies in the future (the clock "
                                   "stepped back?); RetryMax= counts from now",
                                   w->config->name, path);
        }
        p->first_attempt_usec = realtime;
        p->counted_since_usec = now;
        p->attempts = 1;
}

/* The event's document. A spooled event keeps only its path in memory until it is sent (a document
 * costs some 4 KiB, its path a hundred bytes), so a receiver that stays down behind a busy fleet
 * costs the spool's disk space, not that much memory nine times over. NULL: the spool file is gone
 * or unreadable. */
static json_t *pending_event(Pending *p) {
        if (!p->event && p->path) {
                _cleanup_free_ char *text = NULL;
                if (read_full_file(p->path, 1024 * 1024, &text) >= 0)
                        p->event = json_loads(text, 0, NULL);
        }
        return p->event;
}

/* Removes the head event: delivered, or given up on. */
static void pop_head(Webhook *w) {
        Pending *p = w->head;

        if (!p)
                return;
        /* The marker first: a crash in between leaves an event that is retried afresh, never a marker
         * that a later event with the same sequence number would inherit. */
        _cleanup_free_ char *marker = first_attempt_path(p->path);
        if (marker && unlink(marker) < 0 && errno != ENOENT)
                log_warning("webhook %s: cannot remove %s: %m", w->config->name, marker);
        if (p->path && unlink(p->path) < 0 && errno != ENOENT)
                log_warning("webhook %s: cannot remove %s: %m", w->config->name, p->path);
        w->head = p->next;
        if (!w->head)
                w->tail = NULL;
        w->n_pending--;
        if (!p->path && w->directory)
                w->n_unspooled -= MIN(w->n_unspooled, 1);
        w->manager->spool_bytes -= MIN(w->manager->spool_bytes, p->bytes);
        pending_free(p);
}

static void dead_letter(Webhook *w, const char *reason) {
        Pending *p = w->head;
        _cleanup_free_ char *path = NULL, *line = NULL;

        w->dead_letters++;
        log_error("webhook %s: giving up on event %s after %u attempts: %s", w->config->name,
                  json_string_value(json_object_get(pending_event(p), "id")) ?: "?", p->attempts, reason);

        json_t *entry = json_pack("{s:s, s:s, s:i, s:O*}", "webhook", w->config->name, "error", reason, "attempts",
                                  (int) p->attempts, "event", pending_event(p));
        line = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
        json_decref(entry);
        if (w->directory && line && asprintf(&path, "%s.dead", w->directory) >= 0) {
                /* Never blocking on a FIFO put in its place, and into a regular file only. */
                struct stat st;
                int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
                if ((fd < 0 && errno == ENXIO) || (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)))) {
                        errno = EBADFD;
                        fd = safe_close(fd);
                }
                if (fd < 0 || dprintf(fd, "%s\n", line) < 0 || fsync(fd) < 0)
                        log_warning("webhook %s: cannot write the dead letter to %s: %s", w->config->name, path,
                                    file_error_text(-errno));
                safe_close(fd);
        }
        pop_head(w);
}

static void webhook_kick(Webhook *w);

static int on_retry_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Webhook *w = userdata;

        w->state = WEBHOOK_IDLE;
        webhook_kick(w);
        return 0;
}

/* WAITING for `delay`, then IDLE again and kicked. */
static void wait_for(Webhook *w, usec_t delay) {
        uint64_t now = 0;

        w->state = WEBHOOK_WAITING;
        (void) sd_event_now(w->manager->event, CLOCK_MONOTONIC, &now);
        if (!w->retry_timer) {
                if (sd_event_add_time(w->manager->event, &w->retry_timer, CLOCK_MONOTONIC, now + delay,
                                      USEC_PER_MSEC * 50, on_retry_timer, w) < 0)
                        w->state = WEBHOOK_IDLE;
        } else {
                (void) sd_event_source_set_time(w->retry_timer, now + delay);
                (void) sd_event_source_set_enabled(w->retry_timer, SD_EVENT_ONESHOT);
        }
}

/* Returns true when the head was given up on instead: the caller moves on to the next event. (It does
 * not kick itself: with a request that cannot even be prepared, each queued event would then add a
 * stack frame, and a full spool would overflow the stack.) */
static bool schedule_retry(Webhook *w) {
        Pending *p = w->head;
        usec_t delay = RETRY_FIRST_USEC;
        uint32_t random = 0;

        for (unsigned i = 1; i < p->attempts && delay < RETRY_LONGEST_USEC; i++)
                delay *= 2;
        delay = MIN(delay, RETRY_LONGEST_USEC);
        /* ±25% jitter, so webhooks that failed together do not retry together. */
        (void) RAND_bytes((unsigned char *) &random, sizeof(random));
        delay = delay * 3 / 4 + (delay / 2) * (random % 1000) / 1000;
        if (w->retry_after_usec)
                delay = MAX(delay, MIN(w->retry_after_usec, RETRY_AFTER_LONGEST_USEC));

        /* Elapsed time on CLOCK_BOOTTIME (pending_tried_usec()): a step of the wall clock during an outage
         * sends nothing to the dead letters early, nor keeps an event beyond RetryMax=. */
        if (usec_add(pending_tried_usec(p), delay) > w->config->retry_max_usec) {
                dead_letter(w, w->last_error ?: "retries exhausted");
                w->state = WEBHOOK_IDLE;
                return true;
        }

        wait_for(w, delay);
        return false;
}

/* A failed delivery attempt: counted, and its reason kept for `tlswatchctl webhooks`. */
static void record_failure(Webhook *w, CURLcode result, long status) {
        w->failures_total++;
        if (w->response_body_bytes > RESPONSE_BODY_MAX)
                set_last_error(w, "HTTP %ld with an answer over %d KiB, abandoned", status,
                               RESPONSE_BODY_MAX / 1024);
        else if (result != CURLE_OK)
                set_last_error(w, "%s", w->curl_error[0] ? w->curl_error : curl_easy_strerror(result));
        else
                set_last_error(w, "HTTP %ld: %.*s", status, (int) w->response_length, w->response_line);
}

/* A batch of resends is not retried: the alerts are sent again after their targets' next probes,
 * and until then they still hold at the receiver. A failure holds the next batch back a while. */
static void on_resend_done(Webhook *w, CURLcode result, long status) {
        if (result == CURLE_OK && status >= 200 && status < 300) {
                w->resend_failures = 0;
                w->last_success_usec = now_realtime();
                w->last_error = mfree(w->last_error);
                webhook_kick(w);
                return;
        }
        record_failure(w, result, status);
        if (w->resend_failures++ == 0)
                log_warning("webhook %s: resending the firing alerts to %s failed (%s); they go again "
                            "after the next probes",
                            w->config->name, w->url, w->last_error ?: "?");
        usec_t delay = RETRY_FIRST_USEC;
        for (unsigned i = 1; i < w->resend_failures && delay < RESEND_HOLD_LONGEST_USEC; i++)
                delay *= 2;
        wait_for(w, MIN(delay, RESEND_HOLD_LONGEST_USEC));
}

static void on_request_done(CurlGlue *glue, CURL *easy, CURLcode result, void *userdata) {
        Webhook *w = userdata;
        long status = 0;

        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        w->easy = NULL;
        curl_easy_cleanup(easy);
        curl_slist_free_all(w->headers);
        w->headers = NULL;
        w->body = mfree(w->body);
        w->state = WEBHOOK_IDLE;

        if (w->resending) {
                w->resending = false;
                on_resend_done(w, result, status);
                return;
        }

        if (result == CURLE_OK && status >= 200 && status < 300) {
                w->last_success_usec = now_realtime();
                w->last_error = mfree(w->last_error);
                pop_head(w);
                webhook_kick(w);
                return;
        }

        record_failure(w, result, status);

        /* 4xx says the request itself is wrong, and sending it again will not help; 408 and 429 are the
         * receiver asking for time. */
        if (result == CURLE_OK && status >= 400 && status < 500 && status != 408 && status != 429) {
                dead_letter(w, w->last_error ?: "rejected");
                webhook_kick(w);
                return;
        }
        log_warning("webhook %s: delivery failed (%s), will retry", w->config->name, w->last_error ?: "?");
        if (schedule_retry(w))
                webhook_kick(w);
}

static size_t on_response_body(char *data, size_t size, size_t n, void *userdata) {
        Webhook *w = userdata;
        size_t total = size * n;

        /* Past the bound, returning short makes curl end the transfer (CURLE_WRITE_ERROR). */
        if (total > RESPONSE_BODY_MAX - w->response_body_bytes) {
                w->response_body_bytes = RESPONSE_BODY_MAX + 1;
                return 0;
        }
        w->response_body_bytes += total;
        /* Keep the first line for the log; drop the rest, however much there is. */
        for (size_t i = 0; i < total && w->response_length < sizeof(w->response_line) - 1; i++) {
                if (data[i] == '\n' || data[i] == '\r') {
                        w->response_length = sizeof(w->response_line) - 1;
                        break;
                }
                w->response_line[w->response_length++] = (char) ((unsigned char) data[i] < 0x20 ? '?' : data[i]);
        }
        return total;
}

static size_t on_response_header(char *data, size_t size, size_t n, void *userdata) {
        Webhook *w = userdata;
        size_t total = size * n;

        if (total > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
                unsigned long seconds = strtoul(data + 12, NULL, 10);
                /* An HTTP-date form is rare for webhooks; without a number we keep our own backoff. */
                if (seconds > 0)
                        w->retry_after_usec = (usec_t) seconds * USEC_PER_SEC;
        }
        return total;
}

/* The Alertmanager settings of this webhook for an alert of `target` sent now. */
static AlertSettings alert_settings(const Webhook *w, const char *target) {
        const Config *config = w->manager->config;
        const TargetConfig *t = config && target ? config_find_target(config, target) : NULL;

        return (AlertSettings) {
                .labels = &w->config->labels,
                .runbook_url = w->config->runbook_url,
                .generator_url = config ? config->http.external_url : NULL, /* NULL while [HTTP] is off */
                .now_usec = now_realtime(),
                /* A target gone since the event was spooled: the shortest hold. */
                .horizon_usec = webhook_alert_horizon(t ? t->interval_usec : 0),
                .vantage_label = w->config->vantage_label,
        };
}

static int post_body(Webhook *w, const char *event_type, const char *event_id);

static int start_request(Webhook *w) {
        const WebhookConfig *c = w->config;
        Pending *p = w->head;
        int r;

        json_t *event = pending_event(p);
        if (!event) {
                /* Kept aside, not deleted with the queue's head: it may be readable to a person. */
                _cleanup_free_ char *aside = NULL;
                if (p->path && asprintf(&aside, "%s.corrupt", p->path) >= 0 && rename(p->path, aside) >= 0)
                        log_error("webhook %s: the spooled event %s cannot be read; kept aside as %s", c->name,
                                  p->path, aside);
                else
                        log_error("webhook %s: the spooled event %s is gone or unreadable; it is dropped", c->name,
                                  p->path ?: "?");
                pop_head(w);
                return 0;
        }
        AlertSettings settings = alert_settings(w, json_string_value(json_object_get(event, "target")));
        r = webhook_render(c->format, event, &settings, &w->body);
        if (r == -ENODATA) {
                pop_head(w); /* nothing for this format to say about the event */
                return 0;
        }
        if (r < 0)
                return r;

        r = post_body(w, json_string_value(json_object_get(event, "event")) ?: "",
                      json_string_value(json_object_get(event, "id")) ?: "");
        if (r < 0)
                return r;
        if (p->attempts++ == 0)
                begin_attempts(w, p);
        return 0;
}

/* POSTs w->body: the headers, the options, into the loop. */
static int post_body(Webhook *w, const char *event_type, const char *event_id) {
        const WebhookConfig *c = w->config;
        char timestamp[32], signature[72];
        int r;

        w->easy = curl_easy_init();
        if (!w->easy)
                return -ENOMEM;

        snprintf(timestamp, sizeof(timestamp), "%llu", (unsigned long long) (now_realtime() / USEC_PER_SEC));
        struct curl_slist *list = NULL;
        /* Each header as long as it is: a bearer token of a few KiB must not be cut (the config bounds
         * them, WEBHOOK_HEADER_MAX). The copy may hold the token: wiped before it is freed. */
#define ADD_HEADER(...)                                                              \
        do {                                                                         \
                char *header = NULL;                                                 \
                struct curl_slist *grown = NULL;                                     \
                if (asprintf(&header, __VA_ARGS__) >= 0) {                           \
                        grown = curl_slist_append(list, header);                     \
                        erase_and_free(header);                                      \
                }                                                                    \
                if (!grown) {                                                        \
                        curl_slist_free_all(list);                                   \
                        return -ENOMEM;                                              \
                }                                                                    \
                list = grown;                                                        \
        } while (0)
        ADD_HEADER("Content-Type: application/json");
        ADD_HEADER("X-Tlswatch-Event: %s", event_type);
        ADD_HEADER("X-Tlswatch-Event-Id: %s", event_id);
        ADD_HEADER("X-Tlswatch-Timestamp: %s", timestamp);
        if (w->secret) {
                if (webhook_signature(w->secret, timestamp, w->body, signature) < 0) {
                        curl_slist_free_all(list);
                        return -EIO;
                }
                ADD_HEADER("X-Tlswatch-Signature: %s", signature);
        }
        if (w->bearer_token)
                ADD_HEADER("Authorization: Bearer %s", w->bearer_token);
        for (size_t i = 0; i < c->headers.n; i++)
                ADD_HEADER("%s", c->headers.items[i]);
#undef ADD_HEADER
        w->headers = list;
        w->response_length = 0;
        w->response_body_bytes = 0;
        w->retry_after_usec = 0;
        w->curl_error[0] = '\0';

        if (curl_easy_setopt(w->easy, CURLOPT_URL, w->url) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_USERAGENT, "tlswatch/" PACKAGE_VERSION) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, (long) (c->timeout_usec / USEC_PER_MSEC)) !=
                    CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR,
                             webhook_config_allows_http(c) ? "https,http" : "https") != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_response_body) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, on_response_header) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->curl_error) != CURLE_OK ||
            (c->ca_file && curl_easy_setopt(w->easy, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) ||
            (c->proxy && curl_easy_setopt(w->easy, CURLOPT_PROXY, c->proxy) != CURLE_OK))
                return -EIO;

        r = curl_glue_add(w->manager->glue, w->easy, on_request_done, w);
        if (r < 0)
                return r;
        w->state = WEBHOOK_SENDING;
        return 0;
}

static void new_event_id(char ret[33]);

/* One request with the resends of as many targets as fit in a batch. */
static int start_resend(Webhook *w) {
        _cleanup_(json_decrefp) json_t *batch = json_array();
        const char *key;
        json_t *value;
        void *next;
        char id[33];

        if (!batch)
                return -ENOMEM;
        json_object_foreach_safe(w->resends, next, key, value) {
                if (json_array_size(batch) >= RESEND_BATCH_ALERTS)
                        break;
                if (json_array_extend(batch, value) < 0)
                        return -ENOMEM;
                (void) json_object_del(w->resends, key);
        }
        if (json_object_size(w->resends) == 0)
                w->resend_due = false;
        if (json_array_size(batch) == 0)
                return 0;
        w->body = json_dumps(batch, JSON_COMPACT);
        if (!w->body)
                return -ENOMEM;
        new_event_id(id);
        /* Set first: the answer must find the request marked, however soon it comes. */
        w->resending = true;
        int r = post_body(w, "resend", id);
        if (r < 0)
                w->resending = false;
        return r;
}

/* Sends the head of the queue if nothing is in flight or waiting. */
static void webhook_kick(Webhook *w) {
        respool(w);
        while (w->state == WEBHOOK_IDLE && w->head) {
                int r = start_request(w);
                if (r >= 0)
                        continue; /* sending, or the head was dropped: look again */
                cancel_request(w);
                set_last_error(w, "cannot prepare the request: %s", strerror(-r));
                if (!w->head->counted_since_usec)
                        begin_attempts(w, w->head);
                w->head->attempts++;
                if (!schedule_retry(w))
                        return;
        }
        /* Resends go after what is spooled: a resolve must not be overtaken by an older firing. */
        while (w->state == WEBHOOK_IDLE && !w->head && w->resend_due && w->resends &&
               json_object_size(w->resends) > 0) {
                int r = start_resend(w);
                if (r < 0) {
                        cancel_request(w);
                        set_last_error(w, "cannot prepare the resends: %s", strerror(-r));
                        json_object_clear(w->resends);
                        w->resend_due = false;
                }
        }
}

/* Writes the spool file of `p`, whose document is `text`, and lets the document go from memory. A spool
 * that cannot be written (a full disk) is said once, until a write succeeds again; meanwhile the event
 * is kept in memory, sent from there, and spooled by respool() as soon as there is room. */
static int spool_write(Webhook *w, Pending *p, const char *text) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%020llu.json", w->directory, (unsigned long long) p->sequence) < 0)
                r = -ENOMEM;
        else
                r = write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0) {
                if (!w->spool_failing)
                        log_error("webhook %s: cannot spool the event to %s: %s; events are kept in memory "
                                  "until the spool can be written again (lost if it still cannot at a stop)",
                                  w->config->name, path ?: w->directory, strerror(-r));
                w->spool_failing = true;
                return r;
        }
        if (w->spool_failing)
                log_info("webhook %s: the spool %s can be written again; %zu more events kept in memory "
                         "meanwhile go to it now, oldest first",
                         w->config->name, w->directory, w->n_unspooled);
        w->spool_failing = false;
        p->path = TAKE_PTR(path);
        json_decref(p->event);
        p->event = NULL;
        if (p->first_attempt_usec)
                save_first_attempt(w, p);
        return 0;
}

/* Spools the events kept in memory only, oldest first, stopping at the first write that fails. Their
 * sequence numbers were given when they came, so a restart reads them back in their order. */
static void respool(Webhook *w) {
        if (!w->directory)
                return;
        for (Pending *p = w->head; p && w->n_unspooled > 0; p = p->next) {
                if (p->path || !p->event)
                        continue;
                _cleanup_free_ char *text = json_dumps(p->event, JSON_COMPACT);
                w->n_unspooled--; /* not counted while it is written: the message counts the others */
                if (!text || spool_write(w, p, text) < 0) {
                        w->n_unspooled++;
                        break;
                }
        }
}

/* The event joins the end of the queue, and its bytes the manager's account of the spool. */
static void queue_append(Webhook *w, Pending *p) {
        w->manager->spool_bytes += p->bytes;
        if (w->tail)
                w->tail->next = p;
        else
                w->head = p;
        w->tail = p;
        w->n_pending++;
}

static void enqueue(Webhook *w, json_t *event) {
        WebhookManager *m = w->manager;
        _cleanup_free_ char *text = json_dumps(event, JSON_COMPACT);
        Pending *p;

        if (!text)
                return;
        size_t bytes = strlen(text);
        if (m->spool_bytes + bytes > m->spool_max_bytes) {
                if (!m->spool_full_warned)
                        log_warning("webhook spool full (SpoolMax=%llu bytes): new events are not queued until "
                                    "receivers catch up", (unsigned long long) m->spool_max_bytes);
                m->spool_full_warned = true;
                return;
        }
        m->spool_full_warned = false;

        p = calloc(1, sizeof(Pending));
        if (!p)
                return;
        *p = (Pending) { .sequence = w->next_sequence++, .event = json_incref(event), .bytes = bytes };
        if (w->directory && spool_write(w, p, text) < 0)
                w->n_unspooled++;
        queue_append(w, p);
        webhook_kick(w);
}

static int is_spool_file(const struct dirent *entry) {
        size_t n = strlen(entry->d_name);
        return n == 25 && strcmp(entry->d_name + 20, ".json") == 0 && strspn(entry->d_name, "0123456789") == 20;
}

static int is_temporary_file(const struct dirent *entry) {
        size_t n = strlen(entry->d_name);
        return n > 4 && strcmp(entry->d_name + n - 4, ".tmp") == 0;
}

/* A run killed in the middle of a spool write leaves the file it was writing, never renamed into
 * place: nothing was promised for it. Removed at the start, so none outlives the run after. */
static void remove_temporaries(Webhook *w) {
        struct dirent **entries = NULL;
        int n = scandir(w->directory, &entries, is_temporary_file, alphasort);

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", w->directory, entries[i]->d_name) >= 0 && unlink(path) < 0 &&
                    errno != ENOENT)
                        log_debug("webhook %s: cannot remove %s: %m", w->config->name, path);
                free(entries[i]);
        }
        free(entries);
}

/* Says once per file (across reloads, which read the spool again) that a spool file cannot be read:
 * under DynamicUser= a file of another uid would otherwise sit there unsent for ever, unnoticed. */
static void warn_unreadable(Webhook *w, const char *path, int r) {
        WebhookManager *m = w->manager;

        if (m->spool_unreadable && json_object_get(m->spool_unreadable, path))
                return;
        log_warning("webhook %s: cannot read the spooled event %s: %s; it is left where it is, unsent (see "
                    "spool_unreadable in `tlswatchctl webhooks`)",
                    w->config->name, path, file_error_text(r));
        if (!m->spool_unreadable)
                m->spool_unreadable = json_object();
        if (m->spool_unreadable)
                (void) json_object_set_new(m->spool_unreadable, path, json_true());
}

/* Picks up what a previous run left in the spool, oldest first. A file that cannot be read is left
 * alone and counted; one that is not an event is kept aside as NAME.corrupt. */
static void load_spool(Webhook *w) {
        struct dirent **entries = NULL;
        int n = scandir(w->directory, &entries, is_spool_file, alphasort);

        w->spool_unreadable = 0;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                uint64_t sequence = strtoull(entries[i]->d_name, NULL, 10);
                struct stat st = {};
                int r;

                /* The sequence number is taken even from a file that cannot be read: never overwritten. */
                w->next_sequence = MAX(w->next_sequence, sequence + 1);
                if (asprintf(&path, "%s/%s", w->directory, entries[i]->d_name) < 0) {
                        free(entries[i]);
                        continue;
                }
                free(entries[i]);
                r = read_full_file(path, 1024 * 1024, &text);
                if (r >= 0 && stat(path, &st) < 0)
                        r = -errno;
                if (r == -ENOENT)
                        continue; /* gone meanwhile */
                if (r < 0 && r != -EBADMSG) {
                        warn_unreadable(w, path, r);
                        w->spool_unreadable++;
                        continue;
                }
                json_t *event = r >= 0 ? json_loads(text, 0, NULL) : NULL;
                Pending *p = event ? calloc(1, sizeof(Pending)) : NULL;
                if (p) {
                        /* Parsed only to set bad files aside; read again when sent. */
                        json_decref(event);
                        *p = (Pending) { .sequence = sequence, .path = TAKE_PTR(path), .bytes = strlen(text) };
                        load_first_attempt(w, p, &st);
                        queue_append(w, p);
                } else if (event) {
                        json_decref(event); /* out of memory: read again at the next start */
                } else {
                        _cleanup_free_ char *aside = NULL, *marker = first_attempt_path(path);
                        if (asprintf(&aside, "%s.corrupt", path) >= 0 && rename(path, aside) >= 0)
                                log_warning("webhook %s: %s is not an event; moved aside to %s", w->config->name,
                                            path, aside);
                        else
                                log_warning("webhook %s: %s is not an event, and cannot be moved aside: %m",
                                            w->config->name, path);
                        /* A later event may get this sequence number: it must not inherit the
                         * first attempt. */
                        if (marker)
                                (void) unlink(marker);
                }
        }
        free(entries);
}

int webhook_manager_new(sd_event *event, const char *spool_directory, const SinkHost *host,
                        WebhookManager **ret) {
        _cleanup_(webhook_manager_freep) WebhookManager *m = NULL;
        int r;

        m = calloc(1, sizeof(WebhookManager));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->host = host;
        m->alerts = json_object();
        if (!m->alerts)
                return -ENOMEM;
        if (spool_directory) {
                m->spool_directory = strdup(spool_directory);
                if (!m->spool_directory)
                        return -ENOMEM;
        }
        if (gethostname(m->hostname, sizeof(m->hostname) - 1) < 0)
                snprintf(m->hostname, sizeof(m->hostname), "localhost");
        r = curl_glue_new(event, &m->glue);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int read_webhook_secret(const WebhookConfig *c, const char *key, const char *name, char **ret,
                               char **ret_error) {
        int r;

        if (!name)
                return 0;
        r = read_secret(name, ret);
        if (r < 0) {
                if (asprintf(ret_error, "%s:%u: [Webhook %s]: %s=%s: %s", c->file, c->line, c->name, key, name,
                             r == -ENOENT && !strchr(name, '/') ? "no such credential in $CREDENTIALS_DIRECTORY"
                             : r == -EFBIG                      ? "larger than 16 KiB"
                                                                : file_error_text(r)) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        return 0;
}

/* curl opens CAFile= itself, plainly, at each connection: a FIFO there would block the loop. Checked
 * here, at every start and reload, so that --check-config names it too. */
static int check_ca_file(const WebhookConfig *c, char **ret_error) {
        int fd;

        if (!c->ca_file)
                return 0;
        fd = open_regular_file(c->ca_file, NULL);
        if (fd < 0) {
                if (asprintf(ret_error, "%s:%u: [Webhook %s]: CAFile=%s: %s", c->file, c->line, c->name, c->ca_file,
                             file_error_text(fd)) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        safe_close(fd);
        return 0;
}

static void free_webhooks(Webhook **webhooks, size_t n) {
        for (size_t i = 0; i < n; i++)
                webhook_free(webhooks[i]);
        free(webhooks);
}

int webhook_manager_configure(WebhookManager *m, const Config *config, char **ret_error) {
        Webhook **webhooks;
        size_t n = 0;
        int r = 0;

        assert(m);
        assert(config);
        assert(!m->prepared);

        size_t n_peers = 0;
        for (size_t i = 0; i < config->n_webhooks; i++)
                n_peers += config->webhooks[i].urls.n;
        webhooks = calloc(n_peers ?: 1, sizeof(Webhook *));
        if (!webhooks)
                return -ENOMEM;
        /* One Webhook per URL: each peer of an Alertmanager cluster has its own queue, spool and retries,
         * so one that is down delays nothing for the others. */
        for (size_t i = 0; i < config->n_webhooks && r >= 0; i++) {
                const WebhookConfig *c = &config->webhooks[i];
                for (size_t j = 0; j < c->urls.n && r >= 0; j++) {
                        Webhook *w = calloc(1, sizeof(Webhook));

                        if (!w) {
                                r = -ENOMEM;
                                break;
                        }
                        *w = (Webhook) {
                                .manager = m, .config = c, .url = c->urls.items[j], .peer = (unsigned) j
                        };
                        webhooks[n++] = w;
                        if (c->format == WEBHOOK_FORMAT_ALERTMANAGER && !(w->resends = json_object()))
                                r = -ENOMEM;
                        if (r >= 0)
                                r = read_webhook_secret(c, "SecretFile", c->secret_file, &w->secret,
                                                        ret_error);
                        if (r >= 0)
                                r = read_webhook_secret(c, "BearerTokenFile", c->bearer_token_file,
                                                        &w->bearer_token, ret_error);
                        if (r >= 0 && j == 0)
                                r = check_ca_file(c, ret_error);
                }
        }
        if (r < 0) {
                free_webhooks(webhooks, n);
                return r;
        }
        m->prepared = webhooks;
        m->n_prepared = n;
        m->prepared_spool_max_bytes = config->spool_max_bytes;
        m->prepared_config = config;
        return 0;
}

/* The alerts the saved states say are firing, so that the first probes after a start resend them, or
 * resolve them, or resolve them at the severity they had, rather than fire them anew. */
static void seed_alerts(WebhookManager *m) {
        usec_t now = now_realtime();

        for (size_t i = 0; m->host && i < m->host->n_targets(m->host->userdata); i++) {
                SinkTarget view;
                m->host->target(m->host->userdata, i, &view);
                const ProblemList *problems = &view.state->problems;
                json_t *entry = problems->n > 0 ? json_object() : NULL;
                for (size_t j = 0; entry && j < problems->n; j++)
                        (void) json_object_set_new(
                                entry, problem_code_to_string(problems->items[j].code),
                                json_pack("{s:s, s:I, s:s}", "severity",
                                          problem_severity_to_string(problems->items[j].severity), "starts",
                                          (json_int_t) (now / USEC_PER_SEC), "message",
                                          problems->items[j].message ?: ""));
                if (entry)
                        (void) json_object_set_new(m->alerts, view.config->name, entry);
        }
        m->alerts_seeded = true;
}

void webhook_manager_commit(WebhookManager *m, bool apply) {
        Webhook **webhooks;
        size_t n;

        assert(m);

        webhooks = TAKE_PTR(m->prepared);
        n = m->n_prepared;
        m->n_prepared = 0;
        const Config *config = m->prepared_config;
        m->prepared_config = NULL;
        if (!apply) {
                free_webhooks(webhooks, n);
                return;
        }
        if (!webhooks) /* configure was not called, or failed: nothing to put in force */
                return;

        /* Good: the old webhooks go (an event in flight is sent again from the spool), the new ones
         * take over their queues from disk, and a webhook that keeps its name keeps its counters. */
        bool *known = calloc(n ?: 1, sizeof(bool));
        for (size_t i = 0; i < m->n_webhooks; i++) {
                Webhook *old = m->webhooks[i];
                for (size_t j = 0; j < n; j++)
                        if (strcmp(webhooks[j]->config->name, old->config->name) == 0 &&
                            webhooks[j]->peer == old->peer) {
                                webhooks[j]->failures_total = old->failures_total;
                                webhooks[j]->dead_letters = old->dead_letters;
                                webhooks[j]->last_success_usec = old->last_success_usec;
                                webhooks[j]->last_error = TAKE_PTR(old->last_error);
                                if (known)
                                        known[j] = strcmp(webhooks[j]->url, old->url) == 0;
                        }
                webhook_free(old);
        }
        free(m->webhooks);
        m->webhooks = webhooks;
        m->n_webhooks = n;
        m->spool_max_bytes = m->prepared_spool_max_bytes;
        m->spool_bytes = 0;
        m->config = config;

        m->n_alertmanagers = 0;
        for (size_t i = 0; i < n; i++) {
                const WebhookConfig *c = webhooks[i]->config;
                if (c->format != WEBHOOK_FORMAT_ALERTMANAGER)
                        continue;
                m->n_alertmanagers++;
                /* Said once, when the URL is new: it is allowed, and the reason is in tlswatch.conf(5). */
                if (strncmp(webhooks[i]->url, "http://", 7) == 0 && !c->allow_insecure_http &&
                    !(known && known[i])) {
                        _cleanup_free_ char *url = NULL;
                        (void) webhook_url_redact(webhooks[i]->url, &url);
                        (void) log_full_errno(
                                LOG_NOTICE, 0,
                                "webhook %s: posting alerts to %s over plain http, as Alertmanager serves by "
                                "default; use https (or a TLS proxy) where the way there is not trusted",
                                c->name, url ?: "?");
                }
        }
        free(known);
        /* The table is kept only while an Alertmanager webhook needs it. */
        if (m->n_alertmanagers == 0) {
                json_object_clear(m->alerts);
                m->alerts_seeded = false;
        } else if (!m->alerts_seeded)
                seed_alerts(m);

        for (size_t i = 0; i < n; i++) {
                Webhook *w = webhooks[i];

                if (m->spool_directory) {
                        /* The first peer keeps the webhook's own directory; '#' is in no webhook name. */
                        if ((w->peer == 0
                                     ? asprintf(&w->directory, "%s/%s", m->spool_directory, w->config->name)
                                     : asprintf(&w->directory, "%s/%s#%u", m->spool_directory,
                                                w->config->name, w->peer + 1)) < 0)
                                w->directory = NULL;
                        (void) mkdir(m->spool_directory, 0700);
                        if (!w->directory || (mkdir(w->directory, 0700) < 0 && errno != EEXIST)) {
                                log_error("webhook %s: cannot create the spool %s: %m; events are kept in memory only",
                                          w->config->name, w->directory ?: m->spool_directory);
                                w->directory = mfree(w->directory);
                        } else {
                                remove_temporaries(w);
                                load_spool(w);
                        }
                }
                webhook_kick(w);
        }
}

static void new_event_id(char ret[33]) {
        unsigned char random[16] = {};

        (void) RAND_bytes(random, sizeof(random));
        for (size_t i = 0; i < sizeof(random); i++)
                snprintf(ret + 2 * i, 3, "%02x", random[i]);
}

void webhook_manager_dispatch(WebhookManager *m, const TargetConfig *config, const TargetState *state,
                              const TargetEvent *event) {
        json_t *document = NULL;
        char id[33];

        if (!m)
                return;
        for (size_t i = 0; i < m->n_webhooks; i++) {
                Webhook *w = m->webhooks[i];

                /* Alertmanager's alerts follow the probes (webhook_manager_probe_done), not the events. */
                if (w->config->format == WEBHOOK_FORMAT_ALERTMANAGER ||
                    !(w->config->events & webhook_event_kind(event)) ||
                    !webhook_wants_target(&w->config->targets, config->name))
                        continue;
                if (!document) {
                        new_event_id(id);
                        document = webhook_event_new(config, state, event, id, m->hostname, vantage_of(m),
                                                     now_realtime());
                        if (!document)
                                return;
                }
                enqueue(w, document);
        }
        json_decref(document);
}

int webhook_manager_test(WebhookManager *m, const char *name, char **ret_error) {
        char id[33];

        json_t *event = NULL;

        /* The same event to every peer of the webhook. */
        for (size_t i = 0; m && i < m->n_webhooks; i++) {
                Webhook *w = m->webhooks[i];
                if (strcmp(w->config->name, name) != 0)
                        continue;

                if (!event) {
                        new_event_id(id);
                        event = webhook_test_event_new(id, m->hostname, vantage_of(m), now_realtime());
                        if (!event)
                                return -ENOMEM;
                }
                enqueue(w, event);
        }
        if (event) {
                json_decref(event);
                return 0;
        }
        if (asprintf(ret_error, "no webhook \"%s\"", name) < 0)
                *ret_error = NULL;
        return -ENOENT;
}

/* --- Alertmanager: the alert table and the resends --------------------------------------------- */

static const char *address_of(const Report *report, ProblemCode code) {
        for (size_t i = 0; report && i < report->n_addresses; i++)
                if (problem_list_has(&report->addresses[i].problems, code))
                        return report->addresses[i].address;
        return NULL;
}

static bool alertmanager_wants(const Webhook *w, const TargetConfig *config, unsigned kind) {
        return w->config->format == WEBHOOK_FORMAT_ALERTMANAGER && (w->config->events & kind) &&
               webhook_wants_target(&w->config->targets, config->name);
}

/* Spools an alert that starts (TARGET_EVENT_PROBLEM_APPEARED) or ends (..._CLEARED) for every
 * Alertmanager peer that wants it: what must not be lost goes through the spool. */
static void spool_alert(WebhookManager *m, const TargetConfig *config, const TargetState *state,
                        TargetEventType type, const Problem *problem, const char *address) {
        unsigned kind = type == TARGET_EVENT_PROBLEM_CLEARED ? WEBHOOK_EVENT_RECOVERY
                                                             : WEBHOOK_EVENT_PROBLEM;
        json_t *document = NULL;
        char id[33];

        for (size_t i = 0; i < m->n_webhooks; i++) {
                Webhook *w = m->webhooks[i];
                if (!alertmanager_wants(w, config, kind))
                        continue;
                if (!document) {
                        new_event_id(id);
                        document = webhook_event_new(config, state,
                                                     &(TargetEvent) { .type = type,
                                                                     .old_status = state->status,
                                                                     .new_status = state->status,
                                                                     .problem = problem,
                                                                     .address = address },
                                                     id, m->hostname, vantage_of(m), now_realtime());
                        if (!document)
                                return;
                }
                enqueue(w, document);
        }
        json_decref(document);
}

/* An alert the table holds, as a Problem to resolve it with: its code, the severity it was sent with. */
static Problem table_problem(const char *code, json_t *was) {
        Status severity = problem_severity_from_string(json_string_value(json_object_get(was, "severity")));

        return (Problem) {
                .code = problem_code_from_string(code),
                .severity = severity >= 0 ? severity : STATUS_CRITICAL,
                .message = (char *) (json_string_value(json_object_get(was, "message")) ?: "resolved"),
                .depth = -1,
                .verify_code = -1,
        };
}

static int on_resend_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Webhook *w = userdata;

        w->resend_due = true;
        webhook_kick(w);
        return 0;
}

/* The target's alerts still firing replace what waited to be resent for it (the newest say it all). */
static void queue_resends(Webhook *w, const TargetConfig *config, json_t *documents) {
        AlertSettings settings = alert_settings(w, config->name);
        json_t *alerts = json_array();
        size_t i;
        json_t *document;
        int r;

        if (!alerts)
                return;
        json_array_foreach(documents, i, document) {
                json_t *alert = webhook_alertmanager_alert(document, &settings, &r);
                if (alert)
                        (void) json_array_append_new(alerts, alert);
        }
        if (json_array_size(alerts) == 0) {
                (void) json_object_del(w->resends, config->name);
                json_decref(alerts);
                return;
        }
        if (json_object_size(w->resends) >= RESEND_TARGETS_MAX &&
            !json_object_get(w->resends, config->name)) {
                if (!w->resends_full_warned)
                        log_warning(
                                "webhook %s: %d targets wait for their alerts to be resent to %s; further "
                                "resends are dropped until it takes them",
                                w->config->name, RESEND_TARGETS_MAX, w->url);
                w->resends_full_warned = true;
                json_decref(alerts);
                return;
        }
        w->resends_full_warned = false;
        (void) json_object_set_new(w->resends, config->name, alerts);
        /* The first resend waiting starts the gather time; those that follow it wait with it. */
        int enabled = SD_EVENT_OFF;
        uint64_t now = 0;
        if (w->resend_due ||
            (w->resend_timer && sd_event_source_get_enabled(w->resend_timer, &enabled) >= 0 &&
             enabled != SD_EVENT_OFF))
                return;
        (void) sd_event_now(w->manager->event, CLOCK_MONOTONIC, &now);
        if (!w->resend_timer)
                (void) sd_event_add_time(w->manager->event, &w->resend_timer, CLOCK_MONOTONIC,
                                         now + RESEND_GATHER_USEC, USEC_PER_MSEC * 100, on_resend_timer, w);
        else {
                (void) sd_event_source_set_time(w->resend_timer, now + RESEND_GATHER_USEC);
                (void) sd_event_source_set_enabled(w->resend_timer, SD_EVENT_ONESHOT);
        }
}

void webhook_manager_probe_done(WebhookManager *m, const SinkTarget *target) {
        const TargetConfig *config = target->config;
        const TargetState *state = target->state;
        char id[33];
        size_t i;
        json_t *change;

        if (!m || m->n_alertmanagers == 0)
                return;
        /* No verdict yet (a target new or changed by a reload, whose first failure waits for its
         * confirmation) or an internal failure: nothing to say, and the alerts firing hold until
         * their endsAt. Ending them here would make them flap. */
        if (state->status == STATUS_UNKNOWN && state->problems.n == 0)
                return;
        _cleanup_(json_decrefp) json_t *changes = json_array(), *resends = json_array();
        if (!changes || !resends)
                return;
        json_t *current = webhook_alerts_step(json_object_get(m->alerts, config->name), &state->problems,
                                              (int64_t) (now_realtime() / USEC_PER_SEC), changes);
        if (!current)
                return;

        json_array_foreach(changes, i, change) {
                const char *kind = json_string_value(json_object_get(change, "change"));
                ProblemCode code = problem_code_from_string(
                        json_string_value(json_object_get(change, "code")));
                const char *address = address_of(target->last_report, code);

                const Problem *p = NULL;
                for (size_t j = 0; j < state->problems.n && !p; j++)
                        if (state->problems.items[j].code == code)
                                p = &state->problems.items[j];
                if (strcmp(kind, "end") == 0) {
                        Problem ended = table_problem(json_string_value(json_object_get(change, "code")),
                                                      change);
                        spool_alert(m, config, state, TARGET_EVENT_PROBLEM_CLEARED, &ended, address);
                        /* A code gone altogether ends at the other severity too: the table may be older
                         * than the alerts (a crash before the state was saved), and ending an alert that
                         * does not exist costs Alertmanager nothing. */
                        if (!p && IN_SET(ended.severity, STATUS_WARNING, STATUS_CRITICAL)) {
                                ended.severity = ended.severity == STATUS_WARNING ? STATUS_CRITICAL
                                                                                  : STATUS_WARNING;
                                spool_alert(m, config, state, TARGET_EVENT_PROBLEM_CLEARED, &ended, address);
                        }
                        continue;
                }
                if (!p)
                        continue;
                if (strcmp(kind, "start") == 0) {
                        /* What starts goes through the spool: it must not be lost. */
                        spool_alert(m, config, state, TARGET_EVENT_PROBLEM_APPEARED, p, address);
                        continue;
                }
                /* Firing still: resent from its start, as Prometheus resends its active alerts. */
                new_event_id(id);
                json_int_t starts = json_integer_value(json_object_get(change, "starts"));
                json_t *document = webhook_event_new(config, state,
                                                     &(TargetEvent) { .type = TARGET_EVENT_REMINDER,
                                                                     .old_status = state->status,
                                                                     .new_status = state->status,
                                                                     .problem = p,
                                                                     .address = address },
                                                     id, m->hostname, vantage_of(m), (usec_t) starts * USEC_PER_SEC);
                if (document)
                        (void) json_array_append_new(resends, document);
        }

        if (json_object_size(current) > 0)
                (void) json_object_set_new(m->alerts, config->name, current);
        else {
                (void) json_object_del(m->alerts, config->name);
                json_decref(current);
        }

        for (size_t k = 0; k < m->n_webhooks; k++)
                if (alertmanager_wants(m->webhooks[k], config, WEBHOOK_EVENT_PROBLEM))
                        queue_resends(m->webhooks[k], config, resends);
}

void webhook_manager_target_removed(WebhookManager *m, const TargetConfig *config) {
        if (!m || m->n_alertmanagers == 0)
                return;
        for (size_t i = 0; i < m->n_webhooks; i++)
                if (m->webhooks[i]->resends)
                        (void) json_object_del(m->webhooks[i]->resends, config->name);
        /* A target whose settings changed is removed and added again under its name: its next probe
         * carries its alerts on. One that is gone for good has its alerts resolved. */
        if (m->config && config_find_target(m->config, config->name))
                return;
        json_t *old = json_object_get(m->alerts, config->name);
        const TargetState none = { .status = STATUS_OK };
        const char *code;
        json_t *was;
        json_object_foreach(old, code, was) {
                Problem ended = table_problem(code, was);
                spool_alert(m, config, &none, TARGET_EVENT_PROBLEM_CLEARED, &ended, NULL);
        }
        (void) json_object_del(m->alerts, config->name);
}

/* One peer's members of a webhook object; NULL for a URL that cannot be shown. */
static json_t *peer_status(const Webhook *w, usec_t now) {
        _cleanup_free_ char *url = NULL;

        if (webhook_url_redact(w->url, &url) < 0)
                return NULL;
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "url", url, "pending", (json_int_t) w->n_pending,
                              "failures_total", (json_int_t) w->failures_total, "dead_letters",
                              (json_int_t) w->dead_letters, "spool_unreadable", (json_int_t) w->spool_unreadable);
        if (!o)
                return NULL;
        if (w->head && w->head->counted_since_usec)
                (void) json_object_set_new(o, "oldest_pending_seconds",
                                           json_real((double) pending_tried_usec(w->head) / USEC_PER_SEC));
        /* Times as in every document: RFC 3339 and Unix seconds; null when never. */
        if (w->last_success_usec)
                (void) json_object_set_time(o, "last_success",
                                            (int64_t) (w->last_success_usec / USEC_PER_SEC));
        else
                (void) json_object_set_new(o, "last_success", json_null());
        (void) json_object_set_new(o, "last_error",
                                   w->last_error ? json_string(w->last_error) : json_null());
        return o;
}

/* A webhook with several URLs (the peers of an Alertmanager cluster) is one object, as it is one
 * section and one metric series: its counts are the peers' sums, its oldest pending event and last
 * success the peers' extremes, its url and last error the first peer's that has one; "peers" holds
 * each peer's own. */
static void add_peer_to(json_t *o, json_t *peer) {
        static const char *const sums[] = { "pending", "failures_total", "dead_letters", "spool_unreadable" };

        for (size_t i = 0; i < ELEMENTSOF(sums); i++)
                (void) json_object_set_new(o, sums[i],
                                           json_integer(json_integer_value(json_object_get(o, sums[i])) +
                                                        json_integer_value(json_object_get(peer, sums[i]))));
        json_t *oldest = json_object_get(peer, "oldest_pending_seconds");
        if (oldest &&
            json_real_value(oldest) > json_real_value(json_object_get(o, "oldest_pending_seconds")))
                (void) json_object_set(o, "oldest_pending_seconds", oldest);
        json_t *success = json_object_get(peer, "last_success_unix");
        if (success &&
            json_integer_value(success) > json_integer_value(json_object_get(o, "last_success_unix"))) {
                (void) json_object_set(o, "last_success", json_object_get(peer, "last_success"));
                (void) json_object_set(o, "last_success_unix", success);
        }
        if (json_is_null(json_object_get(o, "last_error")))
                (void) json_object_set(o, "last_error", json_object_get(peer, "last_error"));
}

json_t *webhook_manager_status(WebhookManager *m) {
        json_t *array = json_array();
        usec_t now = now_realtime();

        for (size_t i = 0; array && m && i < m->n_webhooks;) {
                const WebhookConfig *c = m->webhooks[i]->config;
                json_t *o = peer_status(m->webhooks[i], now);
                json_t *peers = c->urls.n > 1 ? json_array() : NULL;

                if (peers && o)
                        (void) json_array_append_new(peers, json_deep_copy(o));
                /* The peers of one section are next to each other. */
                for (i++; i < m->n_webhooks && m->webhooks[i]->config == c; i++) {
                        json_t *peer = peer_status(m->webhooks[i], now);
                        if (o && peer)
                                add_peer_to(o, peer);
                        if (peers && peer)
                                (void) json_array_append(peers, peer);
                        json_decref(peer);
                }
                if (!o) {
                        json_decref(peers);
                        continue;
                }
                (void) json_object_set_new(o, "name", json_string(c->name));
                (void) json_object_set_new(o, "format", json_string(webhook_format_to_string(c->format)));
                if (peers)
                        (void) json_object_set_new(o, "peers", peers);
                (void) json_array_append_new(array, o);
        }
        return array;
}

WebhookManager *webhook_manager_free(WebhookManager *m) {
        if (!m)
                return NULL;
        free_webhooks(m->webhooks, m->n_webhooks);
        free_webhooks(m->prepared, m->n_prepared);
        json_decref(m->alerts);
        curl_glue_free(m->glue);
        free(m->spool_directory);
        json_decref(m->spool_unreadable);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

/* --- the sink ---------------------------------------------------------------------------------- */

static int sink_new(const SinkContext *context, void **ret) {
        _cleanup_free_ char *spool = NULL;
        WebhookManager *m = NULL;
        int r;

        /* Only the service keeps a spool, beside its state; --once still checks the secret files. */
        if (context->state_directory && !context->once && asprintf(&spool, "%s/spool", context->state_directory) < 0)
                return -ENOMEM;
        r = webhook_manager_new(context->event, spool, context->host, &m);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

static void *sink_free(void *sink) {
        return webhook_manager_free(sink);
}

static int sink_configure(void *sink, const Config *config, char **ret_error) {
        return webhook_manager_configure(sink, config, ret_error);
}

static void sink_commit(void *sink, bool apply) {
        webhook_manager_commit(sink, apply);
}

static void sink_event(void *sink, const TargetConfig *config, const TargetState *state, const TargetEvent *event) {
        webhook_manager_dispatch(sink, config, state, event);
}

static void sink_probe_done(void *sink, const SinkTarget *target) {
        webhook_manager_probe_done(sink, target);
}

static void sink_target_removed(void *sink, const TargetConfig *config) {
        webhook_manager_target_removed(sink, config);
}

const SinkType sink_webhook = {
        .name = "webhook",
        .new = sink_new,
        .free = sink_free,
        .configure = sink_configure,
        .commit = sink_commit,
        .event = sink_event,
        .probe_done = sink_probe_done,
        .target_removed = sink_target_removed,
};
