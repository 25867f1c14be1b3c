/* SPDX-License-Identifier: MIT */
/* tlswatchd's event loop. Each target has a timer; when it fires the target probes, or waits in a FIFO
 * while MaxConcurrentProbes probes are in flight. A finished probe updates the target's state, logs
 * its events, schedules the next run and lets the next waiting target go. A reload builds the new
 * targets aside and swaps them in only when the whole configuration is good. */
#include <fcntl.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "cert-check.h"
#include "cert-file.h"
#include "cert-lint.h"
#include "control.h"
#include "file-util.h"
#include "metrics.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "probe-output.h"
#include "report-json.h"
#include "state-file.h"
#include "status-json.h"
#include "target.h"
#include "tls.h"
#include "webhook.h"

#define STATE_FILE_NAME "state.json"
#define STATE_SAVE_DELAY_USEC (5 * USEC_PER_SEC)
/* First probes spread over this much (or the interval, if shorter), so a fleet does not fire at once. */
#define STARTUP_SPREAD_USEC (30 * USEC_PER_SEC)

/* A file behind the listener, re-read only when its inode, size or mtime changes. */
typedef struct WatchedFile {
        struct stat st;
        CertFile *parsed;
        int error; /* why it could not be read, or 0 */
} WatchedFile;

#define WATCHED_FILES_MAX 3

typedef struct Target {
        Manager *manager;            /* back-pointer, not owned */
        const TargetConfig *config;  /* points into manager->config */
        TargetState state;
        SSL_CTX *tls_context;
        char *mqtt_password;         /* read from MQTTPasswordFile= at load */
        sd_event_source *timer;
        Probe *probe;
        bool waiting;                /* in the queue for a probe slot */
        Report *last_report;         /* the last probe's, compact, its certificates shared through
                                      * manager->certificates: status, metrics and --once render from it */
        WatchedFile *files;          /* [3]: CertFile=, KeyFile=, CACertFile=; only for a target that
                                      * names them, since three struct stat cost 0.5 KiB a target */
        usec_t next_probe_usec;      /* CLOCK_REALTIME of the next scheduled probe, 0 if none */
} Target;

struct Manager {
        sd_event *event;
        ManagerOptions options;
        char *config_file;
        char *state_file;
        Config *config;
        Target **targets;
        size_t n_targets;
        TlsContextCache *tls_cache;
        CertificateCache *certificates; /* every certificate the targets' last reports hold, once */

        Target **queue; /* ring of targets waiting for a probe slot */
        size_t queue_head;
        size_t queue_length;
        unsigned in_flight;
        size_t once_remaining;

        bool use_journal;
        sd_event_source *save_timer;
        char *last_status_text;
        Control *control;
        WebhookManager *webhooks;
};

static usec_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static usec_t now_monotonic(Manager *m) {
        uint64_t now = 0;
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        return now;
}

static Target *target_free(Target *t) {
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->timer);
        probe_free(t->probe);
        SSL_CTX_free(t->tls_context);
        erase_and_free(t->mqtt_password);
        target_state_clear(&t->state);
        report_free(t->last_report);
        for (size_t i = 0; t->files && i < WATCHED_FILES_MAX; i++)
                cert_file_free(t->files[i].parsed);
        free(t->files);
        free(t);
        return NULL;
}

static void free_targets(Target **targets, size_t n) {
        for (size_t i = 0; i < n; i++)
                target_free(targets[i]);
        free(targets);
}

static const char *tls_error_text(int r) {
        switch (r) {
        case -EKEYREJECTED:
                return "the client key does not match the client certificate";
        case -EBADMSG:
                return "no usable PEM certificate or key in the file";
        default:
                return strerror(-r);
        }
}

/* Builds targets for `config`, loading each distinct trust setting once. Nothing is scheduled yet. */
static int build_targets(Manager *m, const Config *config, Target ***ret, char **ret_error) {
        Target **targets = calloc(config->n_targets ?: 1, sizeof(Target *));
        if (!targets)
                return -ENOMEM;

        for (size_t i = 0; i < config->n_targets; i++) {
                const TargetConfig *c = &config->targets[i];
                Target *t = calloc(1, sizeof(Target));
                int r;

                if (!t) {
                        free_targets(targets, i);
                        return -ENOMEM;
                }
                *t = (Target) { .manager = m, .config = c, .state = { .status = STATUS_UNKNOWN } };
                targets[i] = t;

                TlsSettings tls = { .ca_file = c->ca_file, .cert_file = c->cert_file, .key_file = c->key_file };
                r = tls_context_cache_get(m->tls_cache, &tls, &t->tls_context);
                if (r < 0) {
                        if (asprintf(ret_error, "%s:%u: [Target %s]: %s%s%s: %s", c->file, c->line, c->name,
                                     c->ca_file ? "CAFile=" : "", c->ca_file ?: "",
                                     c->cert_file ? " ClientCertificate/ClientKey" : "", tls_error_text(r)) < 0)
                                *ret_error = NULL;
                        free_targets(targets, i + 1);
                        return -EINVAL;
                }
                if (c->mqtt_password_file) {
                        r = read_secret(c->mqtt_password_file, &t->mqtt_password);
                        if (r < 0) {
                                if (asprintf(ret_error, "%s:%u: [Target %s]: MQTTPasswordFile=%s: %s", c->file, c->line,
                                             c->name, c->mqtt_password_file,
                                             r == -ENOENT && !strchr(c->mqtt_password_file, '/')
                                                     ? "no such credential in $CREDENTIALS_DIRECTORY"
                                                     : strerror(-r)) < 0)
                                        *ret_error = NULL;
                                free_targets(targets, i + 1);
                                return -EINVAL;
                        }
                }
        }
        *ret = targets;
        return 0;
}

static void notify_status(Manager *m) {
        unsigned counts[_STATUS_MAX] = {};
        char text[256];

        if (m->options.once)
                return;
        for (size_t i = 0; i < m->n_targets; i++)
                counts[m->targets[i]->state.status]++;
        snprintf(text, sizeof(text), "%zu targets: %u ok, %u warning, %u critical, %u unknown", m->n_targets,
                 counts[STATUS_OK], counts[STATUS_WARNING], counts[STATUS_CRITICAL], counts[STATUS_UNKNOWN]);
        if (m->last_status_text && strcmp(m->last_status_text, text) == 0)
                return;
        free(m->last_status_text);
        m->last_status_text = strdup(text);
        (void) sd_notifyf(false, "STATUS=%s", text);
}

/* --- state file -------------------------------------------------------------------------------- */

static void format_address(const TargetConfig *c, char *buffer, size_t size, bool brackets) {
        snprintf(buffer, size, brackets && strchr(c->host, ':') ? "[%s]:%u" : "%s:%u", c->host, c->port);
}

/* Written one target at a time into one buffer (state-file.c): a jansson tree of the whole fleet would
 * cost some 10 MiB at 10,000 targets every few seconds during a sweep, and the heap keeps what it
 * grew to. */
static int save_state(Manager *m) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        if (!m->state_file)
                return 0;
        FILE *f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        r = state_file_write_head(f);
        for (size_t i = 0; r >= 0 && i < m->n_targets; i++) {
                char address[300];
                format_address(m->targets[i]->config, address, sizeof(address), false);
                r = state_file_write_target(f, i == 0, m->targets[i]->config->name, address, &m->targets[i]->state);
        }
        if (r >= 0)
                r = state_file_write_tail(f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;

        r = write_file_atomic(m->state_file, text, size, 0600);
        if (r < 0)
                log_warning("cannot save the state to %s: %s", m->state_file, strerror(-r));
        return r;
}

static void write_metrics_file(Manager *m);

/* With --verbose: what the targets' last reports hold, for the benchmark's per-target figure. The
 * certificates are counted twice: once each as stored (interned), and as if every report had its own. */
static void log_report_memory(Manager *m) {
        size_t reports = 0, unshared = 0, n = 0;

        if (log_get_max_level() < LOG_DEBUG)
                return;
        for (size_t i = 0; i < m->n_targets; i++) {
                size_t certificates = 0;
                if (!m->targets[i]->last_report)
                        continue;
                reports += report_heap_size(m->targets[i]->last_report, &certificates);
                unshared += certificates;
                n++;
        }
        log_debug("reports: %zu held, %zu bytes without certificates (%zu per report); certificates: %zu distinct, "
                  "%zu bytes if each report had its own (%zu per report)",
                  n, reports, n ? reports / n : 0, certificate_cache_size(m->certificates), unshared,
                  n ? unshared / n : 0);
}

static int on_save_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->save_timer = sd_event_source_disable_unref(m->save_timer);
        (void) save_state(m);
        write_metrics_file(m);
        log_report_memory(m);
        /* Both built and freed large transient buffers; glibc keeps freed pages inside the heap
         * resident until asked, so a fleet's RSS would stay at its highest point for good. */
        (void) malloc_trim(0);
        return 0;
}

static void schedule_save(Manager *m) {
        if ((!m->state_file && !m->config->metrics_file) || m->save_timer)
                return;
        (void) sd_event_add_time_relative(m->event, &m->save_timer, CLOCK_MONOTONIC, STATE_SAVE_DELAY_USEC, 0,
                                          on_save_timer, m);
}

static void load_state(Manager *m) {
        _cleanup_free_ char *text = NULL;
        json_t *document = NULL;
        char reason[JSON_ERROR_TEXT_LENGTH + 32];
        int r;

        if (!m->state_file)
                return;
        r = read_full_file(m->state_file, STATE_FILE_MAX, &text);
        if (r == -ENOENT)
                return;
        if (r == -EBADMSG || r == -EFBIG)
                snprintf(reason, sizeof(reason), "%s", r == -EBADMSG ? "it holds a NUL byte" : "too large");
        else if (r < 0)
                snprintf(reason, sizeof(reason), "cannot read it: %s", strerror(-r));
        else
                r = state_file_parse(text, strlen(text), &document, reason, sizeof(reason));
        if (r < 0) {
                char aside[4096];
                snprintf(aside, sizeof(aside), "%s.corrupt", m->state_file);
                log_warning("%s is not a valid state file (%s); moved it to %s and starting afresh", m->state_file,
                            reason, aside);
                (void) rename(m->state_file, aside);
                return;
        }

        for (size_t i = 0; i < m->n_targets; i++) {
                Target *t = m->targets[i];
                char address[300];
                TargetState state;

                format_address(t->config, address, sizeof(address), false);
                r = state_file_find(document, t->config->name, address, &state);
                if (r < 0)
                        log_warning("%s: ignoring the saved state of target %s: malformed", m->state_file,
                                    t->config->name);
                if (r <= 0)
                        continue;
                target_state_clear(&t->state);
                t->state = state;
        }
        json_decref(document);
}

/* --- scheduling -------------------------------------------------------------------------------- */

static void start_probe(Target *t);
static int on_target_timer(sd_event_source *source, uint64_t usec, void *userdata);

static void on_event(const TargetConfig *config, const TargetState *state, const TargetEvent *event, void *userdata) {
        Manager *m = userdata;
        journal_log_event(config, state, event, m->use_journal);
        webhook_manager_dispatch(m->webhooks, config, state, event);
}

static int schedule(Target *t, usec_t delay) {
        Manager *m = t->manager;
        usec_t when = now_monotonic(m) + delay;

        t->next_probe_usec = now_realtime() + delay;
        if (t->timer)
                return sd_event_source_set_time(t->timer, when) < 0 ? -EIO
                                                                    : sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
        return sd_event_add_time(m->event, &t->timer, CLOCK_MONOTONIC, when, USEC_PER_SEC / 10, on_target_timer, t);
}

static void run_queue(Manager *m) {
        while (m->queue_length > 0 && m->in_flight < m->config->max_concurrent_probes) {
                Target *t = m->queue[m->queue_head];
                m->queue_head = (m->queue_head + 1) % m->n_targets;
                m->queue_length--;
                t->waiting = false;
                start_probe(t);
        }
}

static void watched_file_refresh(WatchedFile *f, const char *path) {
        struct stat st;

        if (stat(path, &st) < 0) {
                f->error = -errno;
                f->parsed = cert_file_free(f->parsed);
                return;
        }
        if (f->parsed && st.st_ino == f->st.st_ino && st.st_size == f->st.st_size &&
            st.st_mtim.tv_sec == f->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec)
                return;
        f->st = st;
        f->parsed = cert_file_free(f->parsed);
        f->error = cert_file_load(path, &f->parsed);
}

static void leaf_fingerprint(X509 *x, char ret[65]) {
        unsigned char digest[32];
        unsigned length = 0;

        ret[0] = '\0';
        if (X509_digest(x, EVP_sha256(), digest, &length) == 1 && length == 32)
                for (unsigned i = 0; i < 32; i++)
                        snprintf(ret + 2 * i, 3, "%02x", digest[i]);
}

/* Lints the files the listener uses (CertFile=, KeyFile=, CACertFile=) and compares the certificate
 * on disk with the one served: a renewal the broker never loaded is stale_certificate. The files'
 * findings join the probe's, so their expiry is watched even while the listener is down. */
static void check_target_files(Target *t, Report *report) {
        const TargetConfig *c = t->config;
        const char *paths[WATCHED_FILES_MAX] = { c->cert_file_on_disk, c->key_file_on_disk ?: c->cert_file_on_disk,
                                                 c->cacert_file_on_disk };
        AddressReport files = {};

        if (!c->cert_file_on_disk)
                return;
        if (!t->files) {
                t->files = calloc(WATCHED_FILES_MAX, sizeof(WatchedFile));
                if (!t->files) /* out of memory: the files are linted at the next probe */
                        return;
        }
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (paths[i])
                        watched_file_refresh(&t->files[i], paths[i]);

        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (paths[i] && t->files[i].error < 0) {
                        (void) problem_list_add(&report->problems, PROBLEM_CHAIN_UNVERIFIED, STATUS_CRITICAL, -1, -1,
                                                "%s: cannot read the listener's file: %s", paths[i],
                                                strerror(-t->files[i].error));
                        goto finish;
                }

        LintInput input = {
                .certfile = t->files[0].parsed,
                .keyfile = t->files[1].parsed,
                .cacertfile = paths[2] ? t->files[2].parsed : NULL,
                .key_mode = (int) (t->files[1].st.st_mode & 07777),
                .trust = SSL_CTX_get_cert_store(t->tls_context),
                .now = time(NULL),
                .warn_days = c->warn_days,
                .crit_days = c->crit_days,
        };
        if (cert_lint(&input, &files) < 0)
                goto finish;
        for (size_t i = 0; i < files.problems.n; i++) {
                const Problem *p = &files.problems.items[i];
                (void) problem_list_add(&report->problems, p->code, p->severity, p->depth, p->verify_code,
                                        "%s: %s", c->cert_file_on_disk, p->message);
        }

        /* Stale: the listener serves a certificate other than the file's, and the file's is newer. */
        STACK_OF(X509) *on_disk = cert_file_certificates(t->files[0].parsed);
        X509 *disk_leaf = on_disk ? sk_X509_value(on_disk, 0) : NULL;
        char disk_sha256[65] = "";
        if (disk_leaf)
                leaf_fingerprint(disk_leaf, disk_sha256);
        for (size_t i = 0; disk_leaf && i < report->n_addresses; i++) {
                const AddressReport *a = &report->addresses[i];
                char served_sha256[65];
                if (a->n_chain == 0 || !a->chain[0].sent)
                        continue;
                certificate_sha256_hex(a->chain[0].certificate, served_sha256);
                if (strcmp(served_sha256, disk_sha256) == 0)
                        continue;
                _cleanup_(certificate_unrefp) Certificate *disk = NULL;
                char issued[32], expires[32];
                if (cert_check_describe(disk_leaf, &disk) >= 0)
                        (void) problem_list_add(&report->problems, PROBLEM_STALE_CERTIFICATE, STATUS_WARNING, 0, -1,
                                                "the certificate on disk (%s) was issued on %s, but %s still serves the "
                                                "one that expires %s: reload the broker",
                                                c->cert_file_on_disk,
                                                format_timestamp_rfc3339(issued, sizeof(issued), disk->not_before),
                                                a->address,
                                                format_timestamp_rfc3339(expires, sizeof(expires),
                                                                         a->chain[0].certificate->not_after));
                break;
        }
        sk_X509_pop_free(on_disk, X509_free);

finish:
        address_report_clear(&files);
        (void) report_finalize(report);
}

static void on_probe_done(Probe *probe, Report *report, void *userdata) {
        Target *t = userdata;
        Manager *m = t->manager;

        t->probe = probe_free(t->probe);
        m->in_flight--;
        check_target_files(t, report);
        /* What the fleet serves is mostly the same few certificates: each is kept once. */
        report_intern_certificates(report, m->certificates);
        report_free(t->last_report);
        t->last_report = report;

        if (m->options.once) {
                if (--m->once_remaining == 0)
                        (void) sd_event_exit(m->event, 0);
                run_queue(m);
                return;
        }

        usec_t delay = target_apply_report(t->config, &t->state, report, now_realtime(), on_event, m);
        (void) schedule(t, delay);
        control_probe_finished(m->control, t->config->name, report);
        notify_status(m);
        schedule_save(m);
        run_queue(m);
}

static void start_probe(Target *t) {
        Manager *m = t->manager;
        const TargetConfig *c = t->config;
        int r;

        if (t->probe)
                return;
        if (m->in_flight >= m->config->max_concurrent_probes) {
                if (!t->waiting && m->queue_length < m->n_targets) {
                        m->queue[(m->queue_head + m->queue_length) % m->n_targets] = t;
                        m->queue_length++;
                        t->waiting = true;
                }
                return;
        }

        ProbeSettings settings = {
                .host = c->host,
                .port = c->port,
                .server_name = c->server_name,
                .protocol = c->protocol,
                .http_path = c->http_path,
                .mqtt_version = c->mqtt_version,
                .mqtt_client_id = c->mqtt_client_id,
                .mqtt_username = c->mqtt_username,
                .mqtt_password = t->mqtt_password,
                .mqtt_expect_accept = c->mqtt_expect_accept,
                .http_expect_status = c->http_expect_status,
                .tls_context = t->tls_context,
                .timeout_usec = c->timeout_usec,
                .warn_days = c->warn_days,
                .crit_days = c->crit_days,
        };
        r = probe_start(m->event, &settings, on_probe_done, t, &t->probe);
        if (r < 0) {
                log_warning("%s: cannot start a probe: %s; retrying in %llus", c->name, strerror(-r),
                            (unsigned long long) (c->retry_interval_usec / USEC_PER_SEC));
                if (m->options.once && --m->once_remaining == 0)
                        (void) sd_event_exit(m->event, 0);
                else
                        (void) schedule(t, c->retry_interval_usec);
                return;
        }
        m->in_flight++;
}

static int on_target_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Target *t = userdata;

        target_remind(t->config, &t->state, now_realtime(), on_event, t->manager);
        start_probe(t);
        return 0;
}

static usec_t random_below(usec_t limit) {
        uint64_t value = 0;

        if (limit == 0 || RAND_bytes((unsigned char *) &value, sizeof(value)) != 1)
                return 0;
        return value % limit;
}

/* First run of each target: soon after its last probe's interval ends, or spread over the start. */
static usec_t first_delay(const Target *t) {
        usec_t spread = random_below(MIN(t->config->interval_usec, STARTUP_SPREAD_USEC));

        if (t->state.last_probe_usec == 0)
                return spread;
        usec_t due = t->state.last_probe_usec + t->config->interval_usec;
        usec_t now = now_realtime();
        return due > now ? MIN(due - now, t->config->interval_usec) : spread;
}

static int start_targets(Manager *m, bool reuse_schedule) {
        int r;

        free(m->queue);
        m->queue = calloc(m->n_targets ?: 1, sizeof(Target *));
        if (!m->queue)
                return -ENOMEM;
        m->queue_head = m->queue_length = 0;

        for (size_t i = 0; i < m->n_targets; i++) {
                Target *t = m->targets[i];
                bool was_waiting = t->waiting;

                t->waiting = false;
                if (m->options.once || was_waiting) {
                        start_probe(t);
                        continue;
                }
                if (reuse_schedule && (t->timer || t->probe))
                        continue;
                r = schedule(t, first_delay(t));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- configuration and reload ------------------------------------------------------------------ */

/* Loads the configuration with a fresh trust-store cache, so a reload re-reads CA files and client
 * keys even where their paths did not change (a renewed CA bundle must count). */
static int load(Manager *m, Config **ret_config, Target ***ret_targets, TlsContextCache **ret_cache,
                char **ret_error) {
        _cleanup_(tls_context_cache_freep) TlsContextCache *cache = NULL;
        _cleanup_(config_freep) Config *config = NULL;
        TlsContextCache *previous = m->tls_cache;
        Target **targets = NULL;
        int r;

        r = config_load(m->config_file, &config, ret_error);
        if (r < 0)
                return r;
        r = tls_context_cache_new(&cache);
        if (r < 0)
                return r;
        m->tls_cache = cache;
        r = build_targets(m, config, &targets, ret_error);
        m->tls_cache = previous;
        if (r < 0)
                return r;
        *ret_config = TAKE_PTR(config);
        *ret_targets = targets;
        *ret_cache = TAKE_PTR(cache);
        return 0;
}

/* Returns 0, or a negative errno with the reason in *ret_error (when not NULL). */
/* The running targets sorted by name, each with its slot in m->targets: a reload matches 10,000
 * targets in milliseconds instead of comparing every new one with every old one. */
typedef struct TargetSlot {
        Target *target;
        size_t index;
} TargetSlot;

static int compare_target_slots(const void *a, const void *b) {
        const TargetSlot *x = a, *y = b;
        return strcmp(x->target->config->name, y->target->config->name);
}

static int index_targets_by_name(Manager *m, TargetSlot **ret) {
        TargetSlot *slots = calloc(m->n_targets ?: 1, sizeof(TargetSlot));
        if (!slots)
                return -ENOMEM;
        for (size_t j = 0; j < m->n_targets; j++)
                slots[j] = (TargetSlot) { .target = m->targets[j], .index = j };
        qsort(slots, m->n_targets, sizeof(TargetSlot), compare_target_slots);
        *ret = slots;
        return 0;
}

static Target *find_unchanged_target(Manager *m, const TargetSlot *slots, const TargetConfig *c, size_t *ret_index) {
        Target key = { .config = c };
        const TargetSlot *hit = bsearch(&(TargetSlot) { .target = &key }, slots, m->n_targets, sizeof(TargetSlot),
                                        compare_target_slots);

        if (!hit || !m->targets[hit->index] || !target_config_equal(hit->target->config, c))
                return NULL;
        *ret_index = hit->index;
        return hit->target;
}

static int reload(Manager *m, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        _cleanup_free_ TargetSlot *slots = NULL;
        TlsContextCache *cache = NULL;
        Config *config = NULL;
        Target **targets = NULL;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading %s\nMONOTONIC_USEC=%llu", m->config_file,
                          (unsigned long long) now_monotonic(m));

        r = index_targets_by_name(m, &slots);
        if (r >= 0)
                r = load(m, &config, &targets, &cache, &error);
        if (r < 0) {
                log_error("reload failed, keeping the running configuration: %s", error ?: strerror(-r));
                free(m->last_status_text);
                m->last_status_text = NULL;
                (void) sd_notify(false, "READY=1");
                notify_status(m);
                if (ret_error)
                        *ret_error = error ? TAKE_PTR(error) : strdup(strerror(-r));
                return r;
        }

        r = webhook_manager_configure(m->webhooks, config, &error);
        if (r < 0) {
                log_error("reload failed, keeping the running configuration: %s", error ?: strerror(-r));
                free_targets(targets, config->n_targets);
                config_free(config);
                tls_context_cache_free(cache);
                (void) sd_notify(false, "READY=1");
                if (ret_error)
                        *ret_error = error ? TAKE_PTR(error) : strdup(strerror(-r));
                return r;
        }

        /* A target whose settings did not change keeps its state, timer and in-flight probe. */
        for (size_t i = 0; i < config->n_targets; i++) {
                size_t j;
                Target *old = find_unchanged_target(m, slots, &config->targets[i], &j);
                if (!old)
                        continue;
                Target *fresh = targets[i];
                /* The old config stays alive until below, so the index's names remain valid meanwhile. */
                SSL_CTX_free(old->tls_context);
                old->tls_context = TAKE_PTR(fresh->tls_context);
                erase_and_free(old->mqtt_password);
                old->mqtt_password = TAKE_PTR(fresh->mqtt_password);
                targets[i] = old;
                m->targets[j] = NULL;
                target_free(fresh);
        }
        for (size_t i = 0; i < config->n_targets; i++)
                targets[i]->config = &config->targets[i];

        /* Targets that went away: their probes are cancelled with them. */
        for (size_t j = 0; j < m->n_targets; j++)
                if (m->targets[j]) {
                        control_target_removed(m->control, m->targets[j]->config->name);
                        if (m->targets[j]->probe)
                                m->in_flight--;
                        target_free(m->targets[j]);
                }
        free(m->targets);
        config_free(m->config);
        tls_context_cache_free(m->tls_cache); /* the targets hold their own references */
        m->tls_cache = cache;
        m->config = config;
        m->targets = targets;
        m->n_targets = config->n_targets;

        r = start_targets(m, true);
        log_info("reloaded %s: %zu targets", m->config_file, m->n_targets);
        (void) sd_notify(false, "READY=1");
        free(m->last_status_text);
        m->last_status_text = NULL;
        notify_status(m);
        schedule_save(m);
        return r;
}

/* --- the control socket's requests ----------------------------------------------------------- */

static json_t *target_status_json(const Target *t) {
        char address[300];

        format_address(t->config, address, sizeof(address), true);
        return status_json_target(&(StatusTarget) {
                .name = t->config->name,
                .address = address,
                .protocol = protocol_to_string(t->config->protocol),
                .state = &t->state,
                .report = t->last_report,
                .next_probe_usec = t->probe ? now_realtime() : t->next_probe_usec,
                .probing = t->probe != NULL,
        });
}

static int handle_status(void *userdata, const char *target, size_t *cursor, json_t **ret) {
        Manager *m = userdata;

        for (; *cursor < m->n_targets; (*cursor)++) {
                const Target *t = m->targets[*cursor];
                if (target && strcmp(t->config->name, target) != 0)
                        continue;
                (*cursor)++;
                *ret = target_status_json(t);
                return *ret ? 1 : -ENOMEM;
        }
        return 0;
}

static bool metrics_target(void *userdata, size_t i, MetricsTarget *ret) {
        Manager *m = userdata;

        if (i >= m->n_targets)
                return false;
        const Target *t = m->targets[i];
        *ret = (MetricsTarget) {
                .name = t->config->name,
                .protocol = protocol_to_string(t->config->protocol),
                .state = &t->state,
                .report = t->last_report,
        };
        return true;
}

static int handle_metrics(void *userdata, char **ret, char **ret_error) {
        Manager *m = userdata;
        json_t *webhooks = webhook_manager_status(m->webhooks);
        int r = metrics_format(metrics_target, m, webhooks, ret);

        json_decref(webhooks);
        return r;
}

static int handle_webhooks(void *userdata, json_t **ret, char **ret_error) {
        Manager *m = userdata;

        *ret = webhook_manager_status(m->webhooks);
        return *ret ? 0 : -ENOMEM;
}

static int handle_webhook_test(void *userdata, const char *name, char **ret_error) {
        Manager *m = userdata;
        return webhook_manager_test(m->webhooks, name, ret_error);
}

static int handle_reload(void *userdata, char **ret_error) {
        return reload(userdata, ret_error);
}

static int handle_check(void *userdata, const char *target, json_t **ret_names, char **ret_error) {
        Manager *m = userdata;
        json_t *names = json_array();

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_targets; i++) {
                Target *t = m->targets[i];

                if (target && strcmp(t->config->name, target) != 0)
                        continue;
                (void) json_array_append_new(names, json_string(t->config->name));
                /* A probe in flight or waiting for a slot answers this check too. */
                if (t->probe || t->waiting)
                        continue;
                (void) sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
                start_probe(t);
        }
        if (target && json_array_size(names) == 0) {
                json_decref(names);
                (void) asprintf(ret_error, "no target \"%s\"", target);
                return -ENOENT;
        }
        *ret_names = names;
        return 0;
}

static void write_metrics_file(Manager *m) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        int r;

        if (!m->config->metrics_file)
                return;
        r = handle_metrics(m, &text, &error);
        if (r >= 0)
                r = write_file_atomic(m->config->metrics_file, text, strlen(text), 0644);
        if (r < 0)
                log_warning("cannot write the metrics to %s: %s", m->config->metrics_file, error ?: strerror(-r));
}

static int start_control(Manager *m) {
        static const ControlHandlers handlers = {
                .status = handle_status,
                .metrics = handle_metrics,
                .reload = handle_reload,
                .check = handle_check,
                .webhooks = handle_webhooks,
                .webhook_test = handle_webhook_test,
        };
        _cleanup_free_ char *path = NULL;
        int listen_fd = -EBADF;
        int r;

        if (m->config->control_socket)
                path = strdup(m->config->control_socket);
        else {
                const char *runtime = getenv("RUNTIME_DIRECTORY");
                r = asprintf(&path, "%.*s/control.sock", runtime ? (int) strcspn(runtime, ":") : (int) strlen("/run/tlswatch"),
                             runtime ?: "/run/tlswatch");
                if (r < 0)
                        path = NULL;
        }
        if (!path)
                return -ENOMEM;

        /* Socket activation: systemd passes the listening socket of tlswatchd.socket. */
        if (sd_listen_fds(true) >= 1)
                listen_fd = SD_LISTEN_FDS_START;

        r = control_new(m->event, path, listen_fd, &handlers, m, &m->control);
        if (r < 0)
                log_warning("cannot create the control socket %s: %s; tlswatchctl status will not reach this daemon",
                            path, strerror(-r));
        return 0;
}

static int on_sighup(sd_event_source *source, const struct signalfd_siginfo *info, void *userdata) {
        (void) reload(userdata, NULL);
        return 0;
}

static int on_terminate(sd_event_source *source, const struct signalfd_siginfo *info, void *userdata) {
        Manager *m = userdata;

        if (!m->options.once) /* --once is a command, not the service: systemd hears nothing from it */
                (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        (void) sd_event_exit(m->event, 0);
        return 0;
}

static char *state_directory(const ManagerOptions *options) {
        const char *directory = options->state_directory ?: getenv("STATE_DIRECTORY");
        char *result;

        if (!directory)
                directory = LOCALSTATEDIR "/lib/tlswatch";
        /* systemd passes several directories separated by ':' when the unit lists several. */
        result = strndup(directory, strcspn(directory, ":"));
        return result;
}

int manager_new(const ManagerOptions *options, Manager **ret, char **ret_error) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        *ret_error = NULL;
        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->options = *options;
        m->config_file = strdup(options->config_file);
        if (!m->config_file)
                return -ENOMEM;
        m->use_journal = journal_available() && !options->once;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = certificate_cache_new(&m->certificates);
        if (r < 0)
                return r;
        r = load(m, &m->config, &m->targets, &m->tls_cache, ret_error);
        if (r < 0)
                return r;
        m->n_targets = m->config->n_targets;

        if (!options->once) {
                _cleanup_free_ char *directory = state_directory(options);
                if (!directory || asprintf(&m->state_file, "%s/%s", directory, STATE_FILE_NAME) < 0)
                        return -ENOMEM;
                if (access(directory, W_OK) < 0) {
                        log_warning("state directory %s is not writable (%m); state will not survive a restart",
                                    directory);
                        m->state_file = mfree(m->state_file);
                }
                load_state(m);
        }

        /* Webhooks are checked in every mode (their secret files must be readable); only the service
         * keeps a spool beside its state. */
        _cleanup_free_ char *spool = NULL;
        if (m->state_file) {
                spool = strdup(m->state_file);
                if (!spool)
                        return -ENOMEM;
                strcpy(strrchr(spool, '/'), "/spool");
        }
        r = webhook_manager_new(m->event, spool, &m->webhooks);
        if (r < 0)
                return r;
        r = webhook_manager_configure(m->webhooks, m->config, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->save_timer = sd_event_source_disable_unref(m->save_timer);
        control_free(m->control);
        webhook_manager_free(m->webhooks);
        free_targets(m->targets, m->n_targets);
        certificate_cache_free(m->certificates);
        free(m->queue);
        config_free(m->config);
        tls_context_cache_free(m->tls_cache);
        sd_event_unref(m->event);
        free(m->config_file);
        free(m->state_file);
        free(m->last_status_text);
        free(m);
        return NULL;
}

static int print_once(Manager *m) {
        Status worst = STATUS_OK;
        json_t *array = m->options.json ? json_array() : NULL;

        for (size_t i = 0; i < m->n_targets; i++) {
                Report *report = m->targets[i]->last_report;
                if (!report) {
                        worst = status_worst(worst, STATUS_UNKNOWN);
                        continue;
                }
                worst = status_worst(worst, report->status);
                if (array) {
                        json_t *o = NULL;
                        if (report_to_json(report, &o) >= 0) {
                                (void) json_object_set_new(o, "name", json_string(m->targets[i]->config->name));
                                (void) json_array_append_new(array, o);
                        }
                } else {
                        printf("[%s] ", m->targets[i]->config->name);
                        probe_output_human(report, stdout);
                        printf("\n");
                }
        }
        if (array) {
                (void) json_dumpf(array, stdout, JSON_INDENT(2) | REPORT_JSON_DUMP_FLAGS);
                fputc('\n', stdout);
                json_decref(array);
        }
        /* A report that did not reach its reader (a full disk, a closed pipe) is no report. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("cannot write the report to standard output: %s", strerror(errno));
                worst = STATUS_UNKNOWN;
        }
        return status_to_exit_code(worst);
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_terminate, m);
        if (r >= 0 && !m->options.once)
                r = sd_event_add_signal(m->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "cannot set up signal handling: %m"), 1;

        m->once_remaining = m->n_targets;
        if (m->options.once && m->n_targets == 0)
                return print_once(m);

        r = start_targets(m, false);
        if (r < 0)
                return log_error_errno(r, "cannot schedule the targets: %m"), 1;

        if (!m->options.once) {
                (void) start_control(m);
                (void) sd_event_set_watchdog(m->event, true);
                (void) sd_notify(false, "READY=1");
                notify_status(m);
                log_info("watching %zu targets from %s", m->n_targets, m->config_file);
        }

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %m"), 1;

        if (m->options.once) {
                log_report_memory(m);
                return print_once(m);
        }

        m->save_timer = sd_event_source_disable_unref(m->save_timer);
        (void) save_state(m);
        write_metrics_file(m);
        /* Both built and freed large transient buffers; glibc keeps freed pages inside the heap
         * resident until asked, so a fleet's RSS would stay at its highest point for good. */
        (void) malloc_trim(0);
        return 0;
}
