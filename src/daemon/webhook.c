/* SPDX-License-Identifier: MIT */
/* Webhook queues and their delivery. Each webhook is a small state machine — IDLE, SENDING one event,
 * WAITING for its retry timer — over a FIFO of events whose spool files are written (write, fsync,
 * rename) before the first attempt. A restart reads the spool back in order, so what was pending is
 * sent again: delivery is at least once, and a duplicate carries the same event id. */
#include <assert.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
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

typedef struct Pending {
        uint64_t sequence;
        json_t *event;   /* the tlswatch.alert/1 document; NULL while it waits in its spool file */
        char *path;      /* its spool file, NULL if it could not be written */
        size_t bytes;
        unsigned attempts;
        usec_t first_attempt_usec; /* CLOCK_REALTIME, 0 before the first */
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
        WebhookState state;
        char *secret;
        char *bearer_token;
        char *directory;
        Pending *head, *tail;
        size_t n_pending;
        uint64_t next_sequence;

        CURL *easy;
        struct curl_slist *headers;
        char *body;
        char response_line[RESPONSE_LINE_MAX];
        char curl_error[CURL_ERROR_SIZE]; /* curl's detailed reason, e.g. which certificate check failed */
        size_t response_length;
        usec_t retry_after_usec;
        sd_event_source *retry_timer;

        uint64_t failures_total;
        uint64_t dead_letters;
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
        char hostname[256];
        Webhook **webhooks;
        size_t n_webhooks;
        /* Made by configure, put in force or dropped by commit. */
        Webhook **prepared;
        size_t n_prepared;
        uint64_t prepared_spool_max_bytes;
};

static usec_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
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

static Webhook *webhook_free(Webhook *w) {
        if (!w)
                return NULL;
        cancel_request(w);
        sd_event_source_disable_unref(w->retry_timer);
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
 * first attempt across restarts too; the event file itself stays exactly the body it was. */
static char *first_attempt_path(const char *event_path) {
        char *path = NULL;

        if (!event_path || asprintf(&path, "%s.first-attempt", event_path) < 0)
                return NULL;
        return path;
}

static void save_first_attempt(const Webhook *w, const Pending *p) {
        _cleanup_free_ char *path = first_attempt_path(p->path);
        char text[32];

        if (!path)
                return;
        int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long) p->first_attempt_usec);
        int r = write_file_atomic(path, text, (size_t) n, 0600);
        if (r < 0)
                log_warning("webhook %s: cannot record the first attempt in %s: %s; after a restart RetryMax= "
                            "counts from then", w->config->name, path, strerror(-r));
}

static void load_first_attempt(Pending *p) {
        _cleanup_free_ char *path = first_attempt_path(p->path), *text = NULL;
        char *end = NULL;

        if (!path || read_full_file(path, 64, &text) < 0)
                return;
        errno = 0;
        unsigned long long usec = strtoull(text, &end, 10);
        if (errno == 0 && end != text && (*end == '\n' || *end == '\0') && usec > 0) {
                p->first_attempt_usec = usec;
                p->attempts = 1;
        }
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
                int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (fd < 0 || dprintf(fd, "%s\n", line) < 0 || fsync(fd) < 0)
                        log_warning("webhook %s: cannot write the dead letter to %s: %m", w->config->name, path);
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

        if (now_realtime() + delay > p->first_attempt_usec + w->config->retry_max_usec) {
                dead_letter(w, w->last_error ?: "retries exhausted");
                w->state = WEBHOOK_IDLE;
                return true;
        }

        w->state = WEBHOOK_WAITING;
        uint64_t now = 0;
        (void) sd_event_now(w->manager->event, CLOCK_MONOTONIC, &now);
        if (!w->retry_timer) {
                if (sd_event_add_time(w->manager->event, &w->retry_timer, CLOCK_MONOTONIC, now + delay, USEC_PER_MSEC * 50,
                                      on_retry_timer, w) < 0) {
                        w->state = WEBHOOK_IDLE;
                        return false;
                }
        } else {
                (void) sd_event_source_set_time(w->retry_timer, now + delay);
                (void) sd_event_source_set_enabled(w->retry_timer, SD_EVENT_ONESHOT);
        }
        return false;
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

        if (result == CURLE_OK && status >= 200 && status < 300) {
                w->last_success_usec = now_realtime();
                w->last_error = mfree(w->last_error);
                pop_head(w);
                webhook_kick(w);
                return;
        }

        w->failures_total++;
        if (result != CURLE_OK)
                set_last_error(w, "%s", w->curl_error[0] ? w->curl_error : curl_easy_strerror(result));
        else
                set_last_error(w, "HTTP %ld: %.*s", status, (int) w->response_length, w->response_line);

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

static int start_request(Webhook *w) {
        const WebhookConfig *c = w->config;
        Pending *p = w->head;
        char timestamp[32], signature[72], header[512];
        int r;

        json_t *event = pending_event(p);
        if (!event) {
                log_error("webhook %s: the spooled event %s is gone or unreadable; it is dropped", c->name,
                          p->path ?: "?");
                pop_head(w);
                return 0;
        }
        r = webhook_render(c->format, event, &w->body);
        if (r == -ENODATA) {
                pop_head(w); /* nothing for this format to say about the event */
                return 0;
        }
        if (r < 0)
                return r;

        w->easy = curl_easy_init();
        if (!w->easy)
                return -ENOMEM;

        snprintf(timestamp, sizeof(timestamp), "%llu", (unsigned long long) (now_realtime() / USEC_PER_SEC));
        struct curl_slist *list = NULL;
#define ADD_HEADER(...)                                                            \
        do {                                                                       \
                snprintf(header, sizeof(header), __VA_ARGS__);                     \
                struct curl_slist *grown = curl_slist_append(list, header);        \
                if (!grown) {                                                      \
                        curl_slist_free_all(list);                                 \
                        return -ENOMEM;                                            \
                }                                                                  \
                list = grown;                                                      \
        } while (0)
        ADD_HEADER("Content-Type: application/json");
        ADD_HEADER("X-Tlswatch-Event: %s", json_string_value(json_object_get(event, "event")) ?: "");
        ADD_HEADER("X-Tlswatch-Event-Id: %s", json_string_value(json_object_get(event, "id")) ?: "");
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
        w->retry_after_usec = 0;
        w->curl_error[0] = '\0';

        if (curl_easy_setopt(w->easy, CURLOPT_URL, c->url) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_USERAGENT, "tlswatch/" PACKAGE_VERSION) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, (long) (c->timeout_usec / USEC_PER_MSEC)) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, c->allow_insecure_http ? "https,http" : "https") != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_response_body) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, on_response_header) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w) != CURLE_OK ||
            curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->curl_error) != CURLE_OK ||
            (c->ca_file && curl_easy_setopt(w->easy, CURLOPT_CAINFO, c->ca_file) != CURLE_OK))
                return -EIO;

        r = curl_glue_add(w->manager->glue, w->easy, on_request_done, w);
        if (r < 0)
                return r;
        if (p->attempts++ == 0) {
                p->first_attempt_usec = now_realtime();
                save_first_attempt(w, p);
        }
        w->state = WEBHOOK_SENDING;
        return 0;
}

/* Sends the head of the queue if nothing is in flight or waiting. */
static void webhook_kick(Webhook *w) {
        while (w->state == WEBHOOK_IDLE && w->head) {
                int r = start_request(w);
                if (r >= 0)
                        continue; /* sending, or the head was dropped: look again */
                cancel_request(w);
                set_last_error(w, "cannot prepare the request: %s", strerror(-r));
                if (!w->head->first_attempt_usec) {
                        w->head->first_attempt_usec = now_realtime();
                        save_first_attempt(w, w->head);
                }
                w->head->attempts++;
                if (!schedule_retry(w))
                        return;
        }
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
        if (w->directory && asprintf(&p->path, "%s/%020llu.json", w->directory, (unsigned long long) p->sequence) >= 0) {
                int r = write_file_atomic(p->path, text, bytes, 0600);
                if (r < 0) {
                        log_error("webhook %s: cannot spool the event to %s: %s; it is kept in memory only",
                                  w->config->name, p->path, strerror(-r));
                        p->path = mfree(p->path);
                } else {
                        json_decref(p->event);
                        p->event = NULL;
                }
        }
        m->spool_bytes += bytes;
        if (w->tail)
                w->tail->next = p;
        else
                w->head = p;
        w->tail = p;
        w->n_pending++;
        webhook_kick(w);
}

static int is_spool_file(const struct dirent *entry) {
        size_t n = strlen(entry->d_name);
        return n == 25 && strcmp(entry->d_name + 20, ".json") == 0 && strspn(entry->d_name, "0123456789") == 20;
}

/* Picks up what a previous run left in the spool, oldest first. */
static void load_spool(Webhook *w) {
        struct dirent **entries = NULL;
        int n = scandir(w->directory, &entries, is_spool_file, alphasort);

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                uint64_t sequence = strtoull(entries[i]->d_name, NULL, 10);

                if (asprintf(&path, "%s/%s", w->directory, entries[i]->d_name) >= 0 &&
                    read_full_file(path, 1024 * 1024, &text) >= 0) {
                        json_t *event = json_loads(text, 0, NULL);
                        Pending *p = event ? calloc(1, sizeof(Pending)) : NULL;
                        if (p) {
                                /* Parsed only to set bad files aside; read again when sent. */
                                json_decref(event);
                                *p = (Pending) { .sequence = sequence, .path = TAKE_PTR(path), .bytes = strlen(text) };
                                load_first_attempt(p);
                                w->manager->spool_bytes += p->bytes;
                                if (w->tail)
                                        w->tail->next = p;
                                else
                                        w->head = p;
                                w->tail = p;
                                w->n_pending++;
                        } else {
                                json_decref(event);
                                log_warning("webhook %s: %s is not an event; moved aside", w->config->name, path);
                                _cleanup_free_ char *aside = NULL, *marker = first_attempt_path(path);
                                if (asprintf(&aside, "%s.corrupt", path) >= 0)
                                        (void) rename(path, aside);
                                /* A later event may get this sequence number: it must not inherit the
                                 * first attempt. */
                                if (marker)
                                        (void) unlink(marker);
                        }
                }
                w->next_sequence = MAX(w->next_sequence, sequence + 1);
                free(entries[i]);
        }
        free(entries);
}

int webhook_manager_new(sd_event *event, const char *spool_directory, WebhookManager **ret) {
        _cleanup_(webhook_manager_freep) WebhookManager *m = NULL;
        int r;

        m = calloc(1, sizeof(WebhookManager));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
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
                                                                : strerror(-r)) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
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

        webhooks = calloc(config->n_webhooks ?: 1, sizeof(Webhook *));
        if (!webhooks)
                return -ENOMEM;
        for (size_t i = 0; i < config->n_webhooks && r >= 0; i++) {
                const WebhookConfig *c = &config->webhooks[i];
                Webhook *w = calloc(1, sizeof(Webhook));

                if (!w) {
                        r = -ENOMEM;
                        break;
                }
                *w = (Webhook) { .manager = m, .config = c };
                webhooks[n++] = w;
                r = read_webhook_secret(c, "SecretFile", c->secret_file, &w->secret, ret_error);
                if (r >= 0)
                        r = read_webhook_secret(c, "BearerTokenFile", c->bearer_token_file, &w->bearer_token, ret_error);
        }
        if (r < 0) {
                free_webhooks(webhooks, n);
                return r;
        }
        m->prepared = webhooks;
        m->n_prepared = n;
        m->prepared_spool_max_bytes = config->spool_max_bytes;
        return 0;
}

void webhook_manager_commit(WebhookManager *m, bool apply) {
        Webhook **webhooks;
        size_t n;

        assert(m);

        webhooks = TAKE_PTR(m->prepared);
        n = m->n_prepared;
        m->n_prepared = 0;
        if (!apply) {
                free_webhooks(webhooks, n);
                return;
        }
        if (!webhooks) /* configure was not called, or failed: nothing to put in force */
                return;

        /* Good: the old webhooks go (an event in flight is sent again from the spool), the new ones
         * take over their queues from disk, and a webhook that keeps its name keeps its counters. */
        for (size_t i = 0; i < m->n_webhooks; i++) {
                Webhook *old = m->webhooks[i];
                for (size_t j = 0; j < n; j++)
                        if (strcmp(webhooks[j]->config->name, old->config->name) == 0) {
                                webhooks[j]->failures_total = old->failures_total;
                                webhooks[j]->dead_letters = old->dead_letters;
                                webhooks[j]->last_success_usec = old->last_success_usec;
                                webhooks[j]->last_error = TAKE_PTR(old->last_error);
                        }
                webhook_free(old);
        }
        free(m->webhooks);
        m->webhooks = webhooks;
        m->n_webhooks = n;
        m->spool_max_bytes = m->prepared_spool_max_bytes;
        m->spool_bytes = 0;

        for (size_t i = 0; i < n; i++) {
                Webhook *w = webhooks[i];

                if (m->spool_directory) {
                        if (asprintf(&w->directory, "%s/%s", m->spool_directory, w->config->name) < 0)
                                w->directory = NULL;
                        (void) mkdir(m->spool_directory, 0700);
                        if (!w->directory || (mkdir(w->directory, 0700) < 0 && errno != EEXIST)) {
                                log_error("webhook %s: cannot create the spool %s: %m; events are kept in memory only",
                                          w->config->name, w->directory ?: m->spool_directory);
                                w->directory = mfree(w->directory);
                        } else
                                load_spool(w);
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

                if (!(w->config->events & webhook_event_kind(event)) ||
                    !webhook_wants_target(&w->config->targets, config->name))
                        continue;
                if (!document) {
                        new_event_id(id);
                        document = webhook_event_new(config, state, event, id, m->hostname, now_realtime());
                        if (!document)
                                return;
                }
                enqueue(w, document);
        }
        json_decref(document);
}

int webhook_manager_test(WebhookManager *m, const char *name, char **ret_error) {
        char id[33];

        for (size_t i = 0; m && i < m->n_webhooks; i++) {
                Webhook *w = m->webhooks[i];
                if (strcmp(w->config->name, name) != 0)
                        continue;

                new_event_id(id);
                json_t *event = webhook_test_event_new(id, m->hostname, now_realtime());
                if (!event)
                        return -ENOMEM;
                enqueue(w, event);
                json_decref(event);
                return 0;
        }
        if (asprintf(ret_error, "no webhook \"%s\"", name) < 0)
                *ret_error = NULL;
        return -ENOENT;
}

json_t *webhook_manager_status(WebhookManager *m) {
        json_t *array = json_array();
        usec_t now = now_realtime();

        for (size_t i = 0; array && m && i < m->n_webhooks; i++) {
                Webhook *w = m->webhooks[i];
                _cleanup_free_ char *url = NULL;
                if (webhook_url_redact(w->config->url, &url) < 0)
                        continue;
                json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", w->config->name, "url", url,
                                      "format", webhook_format_to_string(w->config->format), "pending",
                                      (json_int_t) w->n_pending, "failures_total", (json_int_t) w->failures_total,
                                      "dead_letters", (json_int_t) w->dead_letters);
                if (!o)
                        continue;
                if (w->head && w->head->first_attempt_usec)
                        (void) json_object_set_new(o, "oldest_pending_seconds",
                                                   json_real((double) (now - MIN(now, w->head->first_attempt_usec)) / USEC_PER_SEC));
                /* Times as in every document: RFC 3339 and Unix seconds; null when never. */
                if (w->last_success_usec)
                        (void) json_object_set_time(o, "last_success", (int64_t) (w->last_success_usec / USEC_PER_SEC));
                else
                        (void) json_object_set_new(o, "last_success", json_null());
                (void) json_object_set_new(o, "last_error", w->last_error ? json_string(w->last_error) : json_null());
                (void) json_array_append_new(array, o);
        }
        return array;
}

WebhookManager *webhook_manager_free(WebhookManager *m) {
        if (!m)
                return NULL;
        free_webhooks(m->webhooks, m->n_webhooks);
        free_webhooks(m->prepared, m->n_prepared);
        curl_glue_free(m->glue);
        free(m->spool_directory);
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
        r = webhook_manager_new(context->event, spool, &m);
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

const SinkType sink_webhook = {
        .name = "webhook",
        .new = sink_new,
        .free = sink_free,
        .configure = sink_configure,
        .commit = sink_commit,
        .event = sink_event,
};
