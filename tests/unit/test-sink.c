/* SPDX-License-Identifier: MIT */
/* The sink seam, proved from outside the daemon: a dummy sink added by one file (sink-dummy.c) and one
 * row (sink-table-dummy.c, this binary's copy of the table) receives the configuration, target events,
 * probe results, removals and flushes of a real manager on a real sd_event loop, probing a real
 * `openssl s_server` on loopback — beside the daemon's own sinks, which keep working (the metrics file
 * is written, the control socket exists). The test's script runs from the sink's callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "file-util.h"
#include "manager.h"
#include "sink-dummy.h"
#include "test-certs.h"

#define DAY (24L * 60 * 60)
/* Only a broken run gets here: each step is an event, this bounds the whole run, it times nothing. */
#define RUN_LIMIT_USEC (120ULL * 1000 * 1000)

typedef enum Phase {
        PHASE_FIRST_PROBE,   /* waiting for the first report of "expiring" */
        PHASE_FLUSH,         /* ... and the flush after it */
        PHASE_REFUSAL,       /* a reload the dummy refuses */
        PHASE_FLUSH_REFUSED, /* a flush after it, under the running configuration */
        PHASE_RELOAD,        /* a reload that drops "second" */
        PHASE_PROBE_AFTER,   /* a report after that reload */
        PHASE_DONE,
} Phase;

static struct {
        char directory[64];
        char config[128];
        char metrics[128];
        char refused_metrics[128];
        char control[128];
        unsigned port;
        pid_t server;
        int server_stdin;
        Phase phase;
        sd_event *event; /* the manager's loop */
        bool control_socket_seen;
        bool metrics_file_seen;
} fx;

static void write_text(const char *path, const char *text) {
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

/* The refused configuration also moves MetricsFile=: no sink may take it, the metrics file sink
 * included, although it accepted it. */
static void write_config(bool with_second, bool with_refused) {
        char text[2048];
        int n;

        n = snprintf(text, sizeof(text),
                     /* Fixed days for every target: the fresh 11-day certificate they are served is
                      * fine by the lifetime policy, and the test wants its expires_soon warning. */
                     "[Defaults]\nMetricsFile=%s\nControlSocket=%s\nInterval=2s\nCAFile=%s/ca.pem\n"
                     "WarnDays=30\n\n"
                     "[Target expiring]\nAddress=127.0.0.1:%u\n",
                     with_refused ? fx.refused_metrics : fx.metrics, fx.control, fx.directory, fx.port);
        if (with_second)
                n += snprintf(text + n, sizeof(text) - n, "\n[Target second]\nAddress=127.0.0.1:%u\n",
                              fx.port);
        if (with_refused)
                n += snprintf(text + n, sizeof(text) - n,
                              "\n[Target " DUMMY_SINK_REFUSED_TARGET "]\nAddress=127.0.0.1:%u\n", fx.port);
        assert_true(n > 0 && (size_t) n < sizeof(text));
        write_text(fx.config, text);
}

static void write_pem(const char *name, X509 *certificate, EVP_PKEY *key) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", fx.directory, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        if (certificate)
                assert_int_equal(PEM_write_X509(f, certificate), 1);
        if (key)
                assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
        assert_int_equal(fclose(f), 0);
}

/* A CA the target trusts and a leaf for 127.0.0.1 that expires in 10 days: a warning (expires_soon). */
static void make_certificates(void) {
        static const char *const ips[] = { "127.0.0.1", NULL };
        _cleanup_(X509_freep) X509 *ca = NULL, *leaf = NULL;
        time_t now = time(NULL);

        assert_int_equal(test_cert_new(&(TestCertSpec){ .subject_cn = "Sink Test CA",
                                                        .key = test_key(TEST_KEY_EC, 256, 0),
                                                        .now = now,
                                                        .not_before = -DAY,
                                                        .not_after = 3650 * DAY,
                                                        .ca = true },
                                       &ca),
                         0);
        assert_int_equal(test_cert_new(&(TestCertSpec){ .subject_cn = "broker",
                                                        .key = test_key(TEST_KEY_EC, 256, 1),
                                                        .issuer = ca,
                                                        .issuer_key = test_key(TEST_KEY_EC, 256, 0),
                                                        .now = now,
                                                        .not_before = -DAY,
                                                        .not_after = 10 * DAY,
                                                        .ips = ips },
                                       &leaf),
                         0);
        write_pem("ca.pem", ca, NULL);
        write_pem("leaf.pem", leaf, NULL);
        write_pem("key.pem", NULL, test_key(TEST_KEY_EC, 256, 1));
}

/* s_server on an ephemeral port; its "ACCEPT host:port" line says which (as tests/integration/lib.sh
 * reads it). Its stdin is a pipe held open, so it never sees end of input. */
static void start_server(void) {
        char out[128], cert[128], key[128], line[256];
        int in[2];

        snprintf(out, sizeof(out), "%s/s_server.out", fx.directory);
        snprintf(cert, sizeof(cert), "%s/leaf.pem", fx.directory);
        snprintf(key, sizeof(key), "%s/key.pem", fx.directory);
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        fx.server = fork();
        assert_true(fx.server >= 0);
        if (fx.server == 0) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd < 0 || dup2(in[0], STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
                    dup2(fd, STDERR_FILENO) < 0)
                        _exit(127);
                execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key",
                       key, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        fx.server_stdin = in[1];

        for (unsigned i = 0; i < 200 && fx.port == 0; i++) {
                FILE *f = fopen(out, "r");
                while (f && fgets(line, sizeof(line), f))
                        if (strncmp(line, "ACCEPT 127.0.0.1:", strlen("ACCEPT 127.0.0.1:")) == 0) {
                                fx.port = (unsigned) strtoul(line + strlen("ACCEPT 127.0.0.1:"), NULL, 10);
                                break;
                        }
                if (f)
                        fclose(f);
                if (fx.port == 0) {
                        assert_int_equal(waitpid(fx.server, NULL, WNOHANG), 0); /* still running */
                        usleep(50 * 1000);
                }
        }
        assert_true(fx.port > 0);
}

static void stop_server(void) {
        if (fx.server <= 0)
                return;
        (void) kill(fx.server, SIGTERM);
        (void) waitpid(fx.server, NULL, 0);
        fx.server = 0;
        close(fx.server_stdin);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

/* The script: each step follows from what the dummy sink was just given. */
static void on_step(const char *operation, const char *target) {
        struct stat st;

        switch (fx.phase) {
        case PHASE_FIRST_PROBE:
                if (strcmp(operation, "probe_done") == 0 && strcmp(target, "expiring") == 0)
                        fx.phase = PHASE_FLUSH;
                break;
        case PHASE_FLUSH:
                if (strcmp(operation, "flush") != 0)
                        break;
                /* The daemon's own sinks ran too: the metrics file (an earlier row, so already
                 * written) and the control socket. */
                fx.metrics_file_seen = stat(fx.metrics, &st) == 0 && S_ISREG(st.st_mode);
                fx.control_socket_seen = stat(fx.control, &st) == 0 && S_ISSOCK(st.st_mode);
                write_config(true, true);
                fx.phase = PHASE_REFUSAL;
                assert_int_equal(raise(SIGHUP), 0);
                break;
        case PHASE_REFUSAL:
                if (strcmp(operation, "dropped") == 0)
                        fx.phase = PHASE_FLUSH_REFUSED;
                break;
        case PHASE_FLUSH_REFUSED:
                if (strcmp(operation, "flush") != 0)
                        break;
                write_config(false, false);
                fx.phase = PHASE_RELOAD;
                assert_int_equal(raise(SIGHUP), 0);
                break;
        case PHASE_RELOAD:
                if (strcmp(operation, "applied") == 0)
                        fx.phase = PHASE_PROBE_AFTER;
                break;
        case PHASE_PROBE_AFTER:
                if (strcmp(operation, "probe_done") == 0 && strcmp(target, "expiring") == 0) {
                        fx.phase = PHASE_DONE;
                        assert_true(sd_event_exit(fx.event, 0) >= 0);
                }
                break;
        case PHASE_DONE:
                break;
        }
}

static int on_run_limit(sd_event_source *source, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(source), 0);
}

static void test_dummy_sink_in_a_real_manager(void **state) {
        _cleanup_(manager_freep) Manager *manager = NULL;
        _cleanup_free_ char *error = NULL;
        sd_event_source *limit = NULL;
        char *metrics = NULL;

        write_config(true, false);
        dummy_sink_log = (DummySinkLog){ .step = on_step };
        assert_int_equal(
                manager_new(&(ManagerOptions){ .config_file = fx.config, .state_directory = fx.directory },
                            &manager, &error),
                0);
        assert_int_equal(dummy_sink_log.applied, 1); /* configured at start */

        /* The manager runs sd_event_default(); the run limit goes on the same loop. */
        assert_true(sd_event_default(&fx.event) >= 0);
        assert_true(sd_event_add_time_relative(fx.event, &limit, CLOCK_MONOTONIC, RUN_LIMIT_USEC, 0,
                                               on_run_limit, NULL) >= 0);
        assert_int_equal(manager_run(manager), 0);
        sd_event_source_disable_unref(limit);
        manager = manager_free(manager);
        fx.event = sd_event_unref(fx.event);

        assert_int_equal(fx.phase, PHASE_DONE);

        /* Configuration: at start, a reload it refused (dropped everywhere), a reload it accepted. */
        assert_int_equal(dummy_sink_log.configures, 3);
        assert_int_equal(dummy_sink_log.refusals, 1);
        assert_int_equal(dummy_sink_log.dropped, 1);
        assert_int_equal(dummy_sink_log.applied, 2);

        /* Events of real transitions: the expiring certificate's problem appeared, the status changed. */
        assert_true(dummy_sink_log.expires_soon_appeared);
        assert_true(dummy_sink_log.events[TARGET_EVENT_PROBLEM_APPEARED] >= 1);
        assert_true(dummy_sink_log.events[TARGET_EVENT_STATUS_CHANGED] >= 1);
        assert_int_equal(dummy_sink_log.last_status, STATUS_WARNING);

        /* Probe results, each with its report; the dropped target; flushes on the save timer and at
         * the stop, each listing the targets through the host's view. */
        assert_true(dummy_sink_log.probes_done >= 3);
        assert_false(dummy_sink_log.probe_without_report);
        assert_int_equal(dummy_sink_log.removed, 1);
        assert_string_equal(dummy_sink_log.last_removed, "second");
        assert_true(dummy_sink_log.flushes >= 2);
        assert_int_equal(dummy_sink_log.targets_at_flush, 1);
        assert_true(dummy_sink_log.view_consistent);

        /* The daemon's sinks beside it. */
        assert_true(fx.metrics_file_seen);
        assert_true(fx.control_socket_seen);
        assert_int_equal(read_full_file(fx.metrics, 1024 * 1024, &metrics), 0);
        assert_non_null(strstr(metrics, "target=\"expiring\""));
        free(metrics);
        assert_int_equal(access(fx.refused_metrics, F_OK), -1);
}

static int setup(void **state) {
        snprintf(fx.directory, sizeof(fx.directory), "/tmp/test-sink.XXXXXX");
        assert_non_null(mkdtemp(fx.directory));
        snprintf(fx.config, sizeof(fx.config), "%s/tlswatch.conf", fx.directory);
        snprintf(fx.metrics, sizeof(fx.metrics), "%s/tlswatch.prom", fx.directory);
        snprintf(fx.refused_metrics, sizeof(fx.refused_metrics), "%s/refused.prom", fx.directory);
        snprintf(fx.control, sizeof(fx.control), "%s/control.sock", fx.directory);
        make_certificates();
        start_server();
        return 0;
}

static int teardown(void **state) {
        stop_server();
        (void) nftw(fx.directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        test_keys_free();
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_dummy_sink_in_a_real_manager, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
