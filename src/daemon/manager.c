/* SPDX-License-Identifier: MIT */
/* tlswatchd's event loop. Each target has its place in one schedule (schedule.c); when it comes due the
 * target probes, or waits in a FIFO
 * while MaxConcurrentProbes probes are in flight. A finished probe updates the target's state, hands
 * its events and result to the sinks (sink-table.c), schedules the next run and lets the next waiting
 * target go. A reload builds the new targets aside and swaps them in only when the whole configuration
 * is good, for every sink too. */
#include <assert.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "crl-cache.h"
#include "file-util.h"
#include "metrics.h"
#include "probe.h"
#include "schedule.h"
#include "sink.h"
#include "srv-source.h"
#include "log.h"
#include "manager.h"
#include "probe-output.h"
#include "report-json.h"
#include "state-file.h"
#include "status-json.h"
#include "target.h"
#include "target-files.h"
#include "target-source.h"
#include "tls.h"
#include "webhook.h"

#define STATE_FILE_NAME "state.json"
#define STATE_SAVE_DELAY_USEC (5 * USEC_PER_SEC)
/* First probes spread over this much (or the interval, if shorter), so a fleet does not fire at once. */
#define STARTUP_SPREAD_USEC (30 * USEC_PER_SEC)
/* Targets due within this much of each other probe in one wake-up. */
#define TARGET_DUE_ACCURACY_USEC (USEC_PER_SEC / 10)

typedef struct Target {
        Manager *manager;            /* back-pointer, not owned */
        const TargetConfig *config;  /* points into manager->config */
        TargetState state;
        SSL_CTX *tls_context;
        char *mqtt_password;         /* read from MQTTPasswordFile= at load */
        ScheduleEntry schedule_entry; /* its next probe, on Manager.schedule */
        Probe *probe;
        bool waiting;                /* in the queue for a probe slot */
        Report *last_report;         /* the last probe's, compact, its certificates shared through
                                      * manager->certificates: status, metrics and --once render from it */
        TargetFiles *files;          /* CertFile=, KeyFile=, CACertFile=; only for a target that names them */
        usec_t next_probe_usec;      /* CLOCK_REALTIME of the next scheduled probe, 0 if none */
} Target;

struct Manager {
        sd_event *event;
        ManagerOptions options;
        char *config_file;
        char *state_file;
        bool state_save_failing; /* the last save failed: said once, until one succeeds */
        Config *config;
        Target **targets;
        size_t n_targets;
        TlsContextCache *tls_cache;
        Schedule *schedule; /* when each target probes next: one timer for the whole fleet */
        CertificateCache *certificates; /* every certificate the targets' last reports hold, once */
        CrlCache *crls;                 /* Revocation=: the CRLs every target's probes share */

        Target **queue; /* ring of targets waiting for a probe slot */
        size_t queue_head;
        size_t queue_length;
        unsigned in_flight;
        size_t once_remaining;

        sd_event_source *save_timer;
        char *last_status_text;

        char *state_directory;   /* where the state file and the sinks' durable data go; NULL: nowhere */
        SinkHost sink_host;      /* what the sinks may read and ask; points back at this Manager */
        SinkContext sink_context;
        SinkSet *sinks;          /* the journal, webhooks, metrics file, control socket: sink-table.c */
        TargetSources *sources;  /* TargetsFile=, SRV=, ... and Shard=: target-source.h */
        SrvSource *srv;          /* SRV=: one of the sources (owned by them), for its change notices */
};

static usec_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

/* For reminders (target_remind()): no step of the wall clock moves it. */
static usec_t now_boottime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_BOOTTIME, &ts);
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
        schedule_remove(t->manager->schedule, &t->schedule_entry);
        probe_free(t->probe);
        SSL_CTX_free(t->tls_context);
        erase_and_free(t->mqtt_password);
        target_state_clear(&t->state);
        report_free(t->last_report);
        target_files_free(t->files);
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
        case -EOPNOTSUPP:
                return "OpenSSL refuses the key-exchange groups of Groups=";
        default:
                return file_error_text(r);
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

                TlsSettings tls = { .ca_file = c->probe.ca_file,
                                    .cert_file = c->probe.cert_file,
                                    .key_file = c->probe.key_file,
                                    .groups = c->probe.groups };
                r = tls_context_cache_get(m->tls_cache, &tls, &t->tls_context);
                if (r < 0) {
                        if (asprintf(ret_error, "%s:%u: [Target %s]: %s%s%s: %s", c->file, c->line, c->name,
                                     c->probe.ca_file ? "CAFile=" : "", c->probe.ca_file ?: "",
                                     c->probe.cert_file ? " ClientCertificate/ClientKey" : "", tls_error_text(r)) < 0)
                                *ret_error = NULL;
                        free_targets(targets, i + 1);
                        return -EINVAL;
                }
                if (c->probe.mqtt_password_file) {
                        r = read_secret(c->probe.mqtt_password_file, &t->mqtt_password);
                        if (r < 0) {
                                if (asprintf(ret_error, "%s:%u: [Target %s]: MQTTPasswordFile=%s: %s", c->file, c->line,
                                             c->name, c->probe.mqtt_password_file,
                                             r == -ENOENT && !strchr(c->probe.mqtt_password_file, '/')
                                                     ? "no such credential in $CREDENTIALS_DIRECTORY"
                                                     : file_error_text(r)) < 0)
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
        snprintf(buffer, size, brackets && strchr(c->probe.host, ':') ? "[%s]:%u" : "%s:%u", c->probe.host,
                 c->probe.port);
}

static int write_state(FILE *f, void *userdata) {
        Manager *m = userdata;
        int r;

        r = state_file_write_head(f);
        for (size_t i = 0; r >= 0 && i < m->n_targets; i++) {
                char address[300];
                format_address(m->targets[i]->config, address, sizeof(address), false);
                r = state_file_write_target(f, i == 0, m->targets[i]->config->name, address, &m->targets[i]->state);
        }
        return r < 0 ? r : state_file_write_tail(f);
}

/* Written one target at a time straight into the file (state-file.c): neither a jansson tree of the
 * whole fleet nor its text (5 MiB at 10,000 targets) is ever held, since the heap keeps what it grew
 * to. */
static int save_state(Manager *m) {
        int r;

        if (!m->state_file)
                return 0;
        r = write_file_atomic_stream(m->state_file, 0600, write_state, m);
        /* Once per failure, not at every save: a full disk would otherwise fill the journal too. The
         * old file stays as it was (written aside, renamed over), and each save tries again. */
        if (r < 0 && !m->state_save_failing)
                log_warning_errno(r, "cannot save the state to %s: %m; the previous state file is kept, and "
                                     "saving is retried after each probe", m->state_file);
        else if (r >= 0 && m->state_save_failing)
                log_info("the state is saved to %s again", m->state_file);
        m->state_save_failing = r < 0;
        return r;
}

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
        sink_set_flush(m->sinks);
        log_report_memory(m);
        /* Both built and freed large transient buffers; glibc keeps freed pages inside the heap
         * resident until asked, so a fleet's RSS would stay at its highest point for good. */
        (void) malloc_trim(0);
        return 0;
}

/* The state file and the sinks' bulk outputs (the metrics file) are written a few seconds after
 * probes settle, once for a whole burst of them. */
static void schedule_save(Manager *m) {
        if (m->save_timer)
                return;
        (void) sd_event_add_time_relative(m->event, &m->save_timer, CLOCK_MONOTONIC, STATE_SAVE_DELAY_USEC, 0,
                                          on_save_timer, m);
}

typedef struct StateLoad {
        Manager *manager;
        Target **by_name; /* the targets, sorted by name, to find each saved entry's target */
        size_t loaded, malformed;
        usec_t written_usec; /* the file's mtime: no time in it can be later */
} StateLoad;

static int compare_target_names(const void *a, const void *b) {
        const Target *const *x = a, *const *y = b;
        return strcmp((*x)->config->name, (*y)->config->name);
}

static int load_state_entry(const char *name, json_t *saved, int version, void *userdata) {
        StateLoad *load = userdata;
        TargetConfig key_config = { .name = (char *) name };
        Target key = { .config = &key_config }, *key_pointer = &key;
        Target **hit = bsearch(&key_pointer, load->by_name, load->manager->n_targets, sizeof(Target *),
                               compare_target_names);
        char address[300];
        TargetState state;
        int r;

        if (!hit) /* a target the configuration no longer has */
                return 0;
        format_address((*hit)->config, address, sizeof(address), false);
        r = state_file_decode(saved, version, address, &state);
        if (r < 0) {
                log_warning("%s: ignoring the saved state of target %s: malformed", load->manager->state_file, name);
                load->malformed++;
        }
        if (r <= 0)
                return 0;
        /* An announcement after the file was written is a damaged or faked time: taken as the latest the
         * file allows, so the reminder comes one RepeatInterval= after that, not only once the clock
         * catches up with it. (One ahead of now counts as long past: target_remind().) */
        if (load->written_usec && state.last_announced_usec > usec_add(load->written_usec, 2 * USEC_PER_SEC)) {
                log_warning("%s: target %s: the last announcement lies after the file was written; reminders "
                            "count from the file's time",
                            load->manager->state_file, name);
                state.last_announced_usec = load->written_usec;
        }
        target_state_clear(&(*hit)->state);
        (*hit)->state = state;
        load->loaded++;
        return 0;
}

/* Each saved entry is parsed and applied on its own (state_file_read()), so a fleet's restart holds the
 * file's text and one entry's tree, not a tree of every target; a file damaged or cut short (a full
 * disk, a crash of the machine) keeps the entries before the damage and is set aside for a look. */
static void load_state(Manager *m) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ Target **by_name = NULL;
        char reason[JSON_ERROR_TEXT_LENGTH + 64];
        StateLoad load = { .manager = m };
        size_t size = 0;
        int r;

        if (!m->state_file)
                return;
        r = read_full_file(m->state_file, STATE_FILE_MAX, &text);
        if (r == -ENOENT)
                return;
        if (r == -EBADMSG || r == -EFBIG)
                snprintf(reason, sizeof(reason), "%s", r == -EBADMSG ? "it holds a NUL byte" : "too large");
        else if (r < 0)
                snprintf(reason, sizeof(reason), "cannot read it: %s", file_error_text(r));
        else {
                size = strlen(text);
                by_name = calloc(MAX(m->n_targets, 1), sizeof(Target *));
                if (!by_name) {
                        log_error("cannot load the state from %s: out of memory", m->state_file);
                        return;
                }
                memcpy(by_name, m->targets, m->n_targets * sizeof(Target *));
                struct stat st;
                if (stat(m->state_file, &st) >= 0)
                        load.written_usec = (usec_t) st.st_mtim.tv_sec * USEC_PER_SEC +
                                            (usec_t) st.st_mtim.tv_nsec / 1000;
                qsort(by_name, m->n_targets, sizeof(Target *), compare_target_names);
                load.by_name = by_name;
                r = state_file_read(text, size, load_state_entry, &load, reason, sizeof(reason));
        }
        if (r != 0) {
                char aside[4096];
                snprintf(aside, sizeof(aside), "%s.corrupt", m->state_file);
                if (r > 0)
                        log_warning("%s is damaged (%s); kept the %zu targets' state saved before the damage, "
                                    "moved the file to %s",
                                    m->state_file, reason, load.loaded, aside);
                else
                        log_warning("%s is not a valid state file (%s); moved it to %s and starting afresh",
                                    m->state_file, reason, aside);
                (void) rename(m->state_file, aside);
        }
        text = mfree(text);
        /* The text and the entries' trees were the largest blocks of the start: give them back. */
        (void) malloc_trim(0);
}

/* --- what sinks see ---------------------------------------------------------------------------- */

static void target_view(const Target *t, SinkTarget *ret) {
        *ret = (SinkTarget) {
                .config = t->config,
                .state = &t->state,
                .last_report = t->last_report,
                .next_probe_usec = t->next_probe_usec,
                .probing = t->probe,
        };
}

static size_t sink_host_n_targets(void *userdata) {
        const Manager *m = userdata;
        return m->n_targets;
}

static void sink_host_target(void *userdata, size_t i, SinkTarget *ret) {
        const Manager *m = userdata;

        assert(i < m->n_targets);
        target_view(m->targets[i], ret);
}

/* --- scheduling -------------------------------------------------------------------------------- */

static void start_probe(Target *t);

static void on_event(const TargetConfig *config, const TargetState *state, const TargetEvent *event, void *userdata) {
        Manager *m = userdata;
        sink_set_event(m->sinks, config, state, event);
}

static int schedule(Target *t, usec_t delay) {
        t->next_probe_usec = usec_add(now_realtime(), delay);
        return schedule_add(t->manager->schedule, &t->schedule_entry, delay);
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

/* The listener's files (CertFile=, ...) are read beside each probe; their findings join its report. */
static void check_target_files(Target *t, Report *report) {
        const TargetConfig *c = t->config;
        const TargetFilesPaths paths = {
                .cert_file = c->cert_file_on_disk,
                .key_file = c->key_file_on_disk,
                .cacert_file = c->cacert_file_on_disk,
        };

        if (!paths.cert_file)
                return;
        if (!t->files && target_files_new(&t->files) < 0) /* out of memory: linted at the next probe */
                return;
        target_files_refresh(t->files, &paths);
        (void) target_files_check(t->files, &paths,
                                  &(const TargetFilesCheck) {
                                          .trust = SSL_CTX_get_cert_store(t->tls_context),
                                          .now = time(NULL),
                                          .expiry = probe_settings_expiry(&c->probe),
                                  },
                                  report);
}

static void on_probe_done(Probe *probe, Report *report, void *userdata) {
        Target *t = userdata;
        Manager *m = t->manager;

        t->probe = probe_free(t->probe);
        m->in_flight--;
        check_target_files(t, report);
        /* What the fleet serves is mostly the same few certificates: each is kept once. */
        report_intern_certificates(report, m->certificates);
        /* Kept in one block: a report of a healthy target costs some 430 bytes so. Out of memory,
         * it is simply kept as it is. */
        (void) report_pack(&report);
        report_free(t->last_report);
        t->last_report = report;

        if (m->options.once) {
                if (--m->once_remaining == 0)
                        (void) sd_event_exit(m->event, 0);
                run_queue(m);
                return;
        }

        usec_t delay = target_apply_report(t->config, &t->state, report, now_realtime(), now_boottime(), on_event, m);
        (void) schedule(t, delay);
        SinkTarget view;
        target_view(t, &view);
        sink_set_probe_done(m->sinks, &view);
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

        r = probe_start(m->event, &c->probe, t->tls_context, t->mqtt_password, on_probe_done, t, &t->probe);
        if (r >= 0)
                probe_set_crl_cache(t->probe, m->crls);
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

static void on_target_due(ScheduleEntry *entry, void *userdata) {
        Target *t = container_of(entry, Target, schedule_entry);

        target_remind(t->config, &t->state, now_realtime(), now_boottime(), on_event, t->manager);
        start_probe(t);
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
        /* The saved time comes from a file: saturate rather than wrap into the past. */
        usec_t due = usec_add(t->state.last_probe_usec, t->config->interval_usec);
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
                if (reuse_schedule && (schedule_entry_is_scheduled(&t->schedule_entry) || t->probe))
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
        /* The targets of TargetsFile= and the other sources (SRV=) join the sections' before any is built. */
        r = target_sources_apply(m->sources, config, ret_error);
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

        r = sink_set_configure(m->sinks, config, &error);
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
                        sink_set_target_removed(m->sinks, m->targets[j]->config);
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
        const ConfigShard *shard = &t->manager->config->shard;
        char address[300], shard_text[32];

        format_address(t->config, address, sizeof(address), true);
        snprintf(shard_text, sizeof(shard_text), "%u/%u", shard->index, shard->count);
        return status_json_target(&(StatusTarget) {
                .name = t->config->name,
                .address = address,
                .protocol = protocol_to_string(t->config->probe.protocol),
                .state = &t->state,
                .report = t->last_report,
                .next_probe_usec = t->probe ? now_realtime() : t->next_probe_usec,
                .probing = t->probe != NULL,
                .shard = shard->count > 0 ? shard_text : NULL,
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
                .protocol = protocol_to_string(t->config->probe.protocol),
                .host = t->config->probe.host,
                .port = t->config->probe.port,
                .state = &t->state,
                .report = t->last_report,
                .vantage = m->config->vantage,
        };
        return true;
}

static int handle_metrics(void *userdata, char **ret, char **ret_error) {
        Manager *m = userdata;
        json_t *webhooks = webhook_manager_status(sink_set_find(m->sinks, &sink_webhook));
        const MetricsInfo info = {
                .version = PACKAGE_VERSION,
                .openssl_version = OpenSSL_version(OPENSSL_VERSION_STRING),
                .now_usec = now_realtime(),
                .crl_fetches = crl_cache_fetches(m->crls),
                .crl_fetch_failures = crl_cache_fetch_failures(m->crls),
                .crl_cache_hits = crl_cache_hits(m->crls),
                .vantage = m->config->vantage,
        };
        int r = metrics_format(metrics_target, m, webhooks, &info, ret);

        json_decref(webhooks);
        return r;
}

static int handle_webhooks(void *userdata, json_t **ret, char **ret_error) {
        Manager *m = userdata;

        *ret = webhook_manager_status(sink_set_find(m->sinks, &sink_webhook));
        return *ret ? 0 : -ENOMEM;
}

static int handle_webhook_test(void *userdata, const char *name, char **ret_error) {
        Manager *m = userdata;
        return webhook_manager_test(sink_set_find(m->sinks, &sink_webhook), name, ret_error);
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
                schedule_remove(m->schedule, &t->schedule_entry);
                start_probe(t);
        }
        if (target && json_array_size(names) == 0) {
                json_decref(names);
                if (asprintf(ret_error, "no target \"%s\"", target) < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        *ret_names = names;
        return 0;
}

/* The requests the control socket (and any sink that serves requests) answers. */
static const ControlHandlers request_handlers = {
        .status = handle_status,
        .metrics = handle_metrics,
        .reload = handle_reload,
        .check = handle_check,
        .webhooks = handle_webhooks,
        .webhook_test = handle_webhook_test,
};

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

/* A target source's input changed (a targets file was written): applied like a reload, so that the
 * targets that stay keep their state. */
static void on_sources_changed(void *userdata) {
        Manager *m = userdata;

        (void) reload(m, NULL);
}

/* An SRV= name answered with other hosts or ports: one more source change (debounced with the others). */
static void on_srv_changed(SrvSource *source, void *userdata) {
        Manager *m = userdata;

        if (!m->options.once)
                target_sources_changed(m->sources);
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

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = schedule_new(m->event, TARGET_DUE_ACCURACY_USEC, on_target_due, m, &m->schedule);
        if (r < 0)
                return r;
        r = certificate_cache_new(&m->certificates);
        if (r < 0)
                return r;
        r = crl_cache_new(m->event, &m->crls);
        if (r < 0)
                return r;
        /* A command (--once) reads the targets files and watches nothing. */
        r = target_sources_new(options->once ? NULL : m->event, on_sources_changed, m, &m->sources);
        if (r < 0)
                return r;
        /* --check-config looks nothing up: the SRV= templates are checked, and expand to nothing. --once
         * does look them up (and waits for the first answers), though it watches nothing. */
        r = srv_source_new(options->check_only ? NULL : m->event, on_srv_changed, m, &m->srv);
        if (r < 0)
                return r;
        r = target_sources_register(m->sources, &srv_target_source, m->srv);
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
                        log_warning_errno(-errno,
                                          "state directory %s is not writable (%m); state will not survive a restart",
                                          directory);
                        m->state_file = mfree(m->state_file);
                } else
                        m->state_directory = TAKE_PTR(directory);
                load_state(m);
        }

        /* Sinks are configured in every mode (webhook secret files must be readable); a command
         * (--once, --check-config) gets no events, no socket and writes no file. */
        m->sink_host = (SinkHost) {
                .userdata = m,
                .n_targets = sink_host_n_targets,
                .target = sink_host_target,
                .requests = &request_handlers,
        };
        m->sink_context = (SinkContext) {
                .event = m->event,
                .state_directory = m->state_directory,
                .once = options->once,
                .host = &m->sink_host,
                .crl_cache = m->crls,
        };
        r = sink_set_new(&m->sink_context, &m->sinks);
        if (r < 0)
                return r;
        r = sink_set_configure(m->sinks, m->config, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->save_timer = sd_event_source_disable_unref(m->save_timer);
        sink_set_free(m->sinks);
        target_sources_free(m->sources);
        free_targets(m->targets, m->n_targets);
        schedule_free(m->schedule); /* after the targets: each takes its entry off as it goes */
        crl_cache_free(m->crls);    /* after the targets and sinks: their probes ask it */
        certificate_cache_free(m->certificates);
        free(m->queue);
        config_free(m->config);
        tls_context_cache_free(m->tls_cache);
        sd_event_unref(m->event);
        free(m->config_file);
        free(m->state_file);
        free(m->state_directory);
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
        sink_set_flush(m->sinks);
        /* Both built and freed large transient buffers; glibc keeps freed pages inside the heap
         * resident until asked, so a fleet's RSS would stay at its highest point for good. */
        (void) malloc_trim(0);
        return 0;
}
