/* SPDX-License-Identifier: MIT */
/* The protocol seam, proven from outside src/: a protocol defined in the test tree (protocol-dummy.c)
 * and a copy of the table with its row (protocol-table-dummy.c) make a real probe speak it, on a real
 * sd_event loop, to a real loopback TLS peer (`openssl s_server -rev`, which reverses each line), and
 * make the option parser, the config parser and the messages know it. Nothing else changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "probe-args.h"
#include "probe.h"
#include "test-certs.h"
#include "tls.h"

extern char **environ;

typedef struct Peer {
        char directory[64];
        char cert[128];
        char key[128];
        pid_t pid;
        uint16_t port;
} Peer;

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key) {
        FILE *f = fopen(path, "we");
        int ok;

        if (!f)
                return -errno;
        ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
        return fclose(f) == 0 && ok == 1 ? 0 : -EIO;
}

/* Reads s_server's output until it says where it listens: "ACCEPT 127.0.0.1:PORT". Bounded by lines
 * read and by a poll timeout, so a broken openssl fails the test instead of hanging it. */
static uint16_t read_port(int fd) {
        char buffer[4096];
        size_t n = 0;

        for (int i = 0; i < 100 && n < sizeof(buffer) - 1; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 10 * 1000) <= 0)
                        return 0;
                ssize_t k = read(fd, buffer + n, sizeof(buffer) - 1 - n);
                if (k <= 0)
                        return 0;
                n += (size_t) k;
                buffer[n] = '\0';
                const char *accept = strstr(buffer, "ACCEPT 127.0.0.1:");
                if (accept && strchr(accept, '\n'))
                        return (uint16_t) strtoul(accept + strlen("ACCEPT 127.0.0.1:"), NULL, 10);
        }
        return 0;
}

static int setup_peer(void **state) {
        Peer *peer = calloc(1, sizeof(Peer));
        static const char *const dns[] = { "localhost", NULL }, *const ips[] = { "127.0.0.1", NULL };
        _cleanup_(X509_freep) X509 *cert = NULL;
        posix_spawn_file_actions_t actions;
        int pipe_fds[2];

        assert_non_null(peer);
        snprintf(peer->directory, sizeof(peer->directory), "/tmp/test-protocol-seam.XXXXXX");
        assert_non_null(mkdtemp(peer->directory));
        snprintf(peer->cert, sizeof(peer->cert), "%s/cert.pem", peer->directory);
        snprintf(peer->key, sizeof(peer->key), "%s/key.pem", peer->directory);

        EVP_PKEY *key = test_key(TEST_KEY_EC, 256, 0);
        assert_non_null(key);
        TestCertSpec spec = {
                .subject_cn = "localhost",
                .key = key,
                .now = time(NULL),
                .not_before = -3600,
                .not_after = 90 * 86400,
                .dns = dns,
                .ips = ips,
        };
        assert_int_equal(test_cert_new(&spec, &cert), 0);
        assert_int_equal(write_pem(peer->cert, cert, NULL), 0);
        assert_int_equal(write_pem(peer->key, NULL, key), 0);

        char *argv[] = { (char *) "openssl",     (char *) "s_server", (char *) "-rev",
                         (char *) "-naccept",    (char *) "1",        (char *) "-accept",
                         (char *) "127.0.0.1:0", (char *) "-cert",    peer->cert,
                         (char *) "-key",        peer->key,           NULL };
        assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        assert_int_equal(posix_spawnp(&peer->pid, "openssl", &actions, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        close(pipe_fds[1]);
        peer->port = read_port(pipe_fds[0]);
        close(pipe_fds[0]); /* s_server's later output goes nowhere; -rev answers on the socket */
        assert_int_not_equal(peer->port, 0);

        *state = peer;
        return 0;
}

static int teardown_peer(void **state) {
        Peer *peer = *state;

        if (peer->pid > 0) {
                (void) kill(peer->pid, SIGTERM);
                (void) waitpid(peer->pid, NULL, 0);
        }
        (void) unlink(peer->cert);
        (void) unlink(peer->key);
        (void) rmdir(peer->directory);
        free(peer);
        test_keys_free();
        return 0;
}

typedef struct Run {
        sd_event *event;
        Report *report;
} Run;

static void on_done(Probe *probe, Report *report, void *userdata) {
        Run *run = userdata;

        run->report = report;
        (void) sd_event_exit(run->event, 0);
}

static void test_probe_speaks_dummy(void **state) {
        Peer *peer = *state;
        _cleanup_(tls_context_cache_freep) TlsContextCache *cache = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(probe_freep) Probe *probe = NULL;
        SSL_CTX *ctx = NULL;
        Run run = {};

        const Protocol *dummy = protocol_from_string("dummy");
        assert_non_null(dummy);
        ProbeSettings settings = {
                .host = (char *) "127.0.0.1",
                .port = peer->port,
                .protocol = dummy,
                .server_name = (char *) "localhost",
                .ca_file = peer->cert,
                .timeout_usec = 10 * USEC_PER_SEC,
                .warn_days = 30,
                .crit_days = 7,
        };

        assert_int_equal(tls_context_cache_new(&cache), 0);
        assert_int_equal(tls_context_cache_get(cache, &(TlsSettings){ .ca_file = peer->cert }, &ctx), 0);
        assert_int_equal(sd_event_new(&event), 0);
        run.event = event;
        assert_int_equal(probe_start(event, &settings, ctx, NULL, on_done, &run, &probe), 0);
        SSL_CTX_free(ctx); /* the probe holds its own reference */
        assert_int_equal(sd_event_loop(event), 0);

        Report *report = run.report;
        assert_non_null(report);
        assert_string_equal(report->protocol, "dummy");
        assert_int_equal(report->n_addresses, 1);
        const AddressReport *a = &report->addresses[0];
        assert_true(a->application.present);
        assert_non_null(a->protocol_detail);
        assert_string_equal(a->protocol_detail, "dummy: reversed");
        for (size_t i = 0; i < a->problems.n; i++)
                if (a->problems.items[i].code == PROBLEM_PROTOCOL_FAILED)
                        fail_msg("protocol_failed: %s", a->problems.items[i].message);
        assert_int_equal(report->status, STATUS_OK);
        report_free(report);
}

static void test_parsers_know_dummy(void **state) {
        char *argv[] = { (char *) "probe", (char *) "--protocol", (char *) "dummy", (char *) "h:1", NULL };
        char names[PROTOCOL_NAMES_MAX], *error = NULL;
        ProbeArgs args;
        Config *config = NULL;

        assert_int_equal(probe_args_parse(4, argv, &args, &error), 0);
        assert_ptr_equal(args.probe.protocol, protocol_from_string("dummy"));
        probe_args_clear(&args);

        char *bad[] = { (char *) "probe", (char *) "--protocol", (char *) "stomp", (char *) "h:1", NULL };
        assert_int_equal(probe_args_parse(4, bad, &args, &error), -EINVAL);
        assert_string_equal(error, "--protocol: \"stomp\" is not one of tls, mqtt, wss, https, dummy");
        free(error);

        assert_int_equal(config_new(&config), 0);
        assert_int_equal(config_parse_text(config, "t.conf", "[Target d]\nAddress=h:7\n", &error), 0);
        assert_int_equal(config_finish(config, &error), 0);
        assert_ptr_equal(config->targets[0].probe.protocol, protocol_from_string("dummy")); /* by its port */
        config_free(config);

        (void) protocol_names(" ", names, sizeof(names));
        assert_string_equal(names, "tls mqtt wss https dummy");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_probe_speaks_dummy, setup_peer, teardown_peer),
                cmocka_unit_test(test_parsers_know_dummy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
