/* SPDX-License-Identifier: MIT */
/* The configuration: every key into its field, the built-in defaults, [Defaults] inheritance across
 * sections and files, conf.d drop-ins on disk, and every error message word for word with its
 * FILE:LINE, since those messages are what an operator sees when the daemon refuses to start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "config.h"
#include "tls.h"

/* Parses `text` as the single file "t.conf" and finishes; fails the test on any error. */
static Config *parse_ok_at(const char *text, const char *file, int line) {
        Config *config = NULL;
        char *error = NULL;
        int r;

        _assert_int_equal(config_new(&config), 0, file, line);
        r = config_parse_text(config, "t.conf", text, &error);
        if (r >= 0)
                r = config_finish(config, &error);
        if (r < 0)
                print_error("unexpected error: %s\n", error ?: "(no message)");
        free(error);
        _assert_int_equal(r, 0, file, line);
        return config;
}
#define parse_ok(text) parse_ok_at(text, __FILE__, __LINE__)

/* Parses `text` as "t.conf" and expects the parse or the finish to fail with exactly `expected`. */
static void check_error_at(const char *text, const char *expected, const char *file, int line) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        _assert_int_equal(config_new(&config), 0, file, line);
        r = config_parse_text(config, "t.conf", text, &error);
        if (r >= 0)
                r = config_finish(config, &error);
        _assert_int_equal(r, -EINVAL, file, line);
        _assert_true(!!error, "error message set", file, line);
        _assert_string_equal(error, expected, file, line);
}
#define check_error(text, expected) check_error_at(text, expected, __FILE__, __LINE__)

static const TargetConfig *find_at(const Config *config, const char *name, const char *file, int line) {
        const TargetConfig *t = config_find_target(config, name);
        _assert_true(!!t, name, file, line);
        return t;
}
#define find(config, name) find_at(config, name, __FILE__, __LINE__)

/* ---- keys into fields ---------------------------------------------------------------------- */

static void test_every_key(void **state) {
        Config *config = parse_ok("[Defaults]\n"
                                  "MaxConcurrentProbes=7\n"
                                  "\n"
                                  "[Target broker]\n"
                                  "Address=broker.example.com:8883\n"
                                  "Protocol=wss\n"
                                  "ServerName=mqtt.example.com\n"
                                  "Path=/mqtt\n"
                                  "CAFile=/etc/tlswatch/ca.pem\n"
                                  "ClientCertificate=/etc/tlswatch/client.pem\n"
                                  "ClientKey=/etc/tlswatch/client.key\n"
                                  "Interval=10min\n"
                                  "RetryInterval=30s\n"
                                  "Timeout=5s\n"
                                  "RepeatInterval=12h\n"
                                  "WarnDays=20\n"
                                  "CritDays=3\n"
                                  "ConfirmFailures=4\n");
        const TargetConfig *t = find(config, "broker");

        assert_int_equal(config->n_targets, 1);
        assert_int_equal(config->max_concurrent_probes, 7);
        assert_string_equal(t->name, "broker");
        assert_string_equal(t->probe.host, "broker.example.com");
        assert_int_equal(t->probe.port, 8883);
        assert_ptr_equal(t->probe.protocol, &protocol_wss); /* set explicitly: the port's guess does not apply */
        assert_string_equal(t->probe.server_name, "mqtt.example.com");
        assert_string_equal(t->probe.path, "/mqtt");
        assert_string_equal(t->probe.ca_file, "/etc/tlswatch/ca.pem");
        assert_string_equal(t->probe.cert_file, "/etc/tlswatch/client.pem");
        assert_string_equal(t->probe.key_file, "/etc/tlswatch/client.key");
        assert_int_equal(t->interval_usec, 10 * USEC_PER_MINUTE);
        assert_int_equal(t->retry_interval_usec, 30 * USEC_PER_SEC);
        assert_int_equal(t->probe.timeout_usec, 5 * USEC_PER_SEC);
        assert_int_equal(t->repeat_interval_usec, 12 * USEC_PER_HOUR);
        assert_int_equal(t->probe.warn_days, 20);
        assert_int_equal(t->probe.crit_days, 3);
        assert_int_equal(t->confirm_failures, 4);
        assert_string_equal(t->file, "t.conf");
        assert_int_equal(t->line, 4);
        config_free(config);
}

static void test_protocol_names(void **state) {
        Config *config = parse_ok("[Target a]\nAddress=a:1\nProtocol=tls\n"
                                  "[Target b]\nAddress=b:1\nProtocol=mqtt\n"
                                  "[Target c]\nAddress=c:1\nProtocol=wss\n"
                                  "[Target d]\nAddress=d:1\nProtocol=https\n");

        assert_ptr_equal(find(config, "a")->probe.protocol, &protocol_tls);
        assert_ptr_equal(find(config, "b")->probe.protocol, &protocol_mqtt);
        assert_ptr_equal(find(config, "c")->probe.protocol, &protocol_wss);
        assert_ptr_equal(find(config, "d")->probe.protocol, &protocol_https);
        config_free(config);
}

static void test_address_forms(void **state) {
        Config *config = parse_ok("[Target name]\nAddress=broker.example.com:8883\n"
                                  "[Target v4]\nAddress=192.0.2.1:443\n"
                                  "[Target v6]\nAddress=[2001:db8::1]:8084\n"
                                  "[Target loopback6]\nAddress = [::1]:1\n");
        const TargetConfig *t;

        t = find(config, "name");
        assert_string_equal(t->probe.host, "broker.example.com");
        assert_int_equal(t->probe.port, 8883);
        t = find(config, "v4");
        assert_string_equal(t->probe.host, "192.0.2.1");
        assert_int_equal(t->probe.port, 443);
        t = find(config, "v6");
        assert_string_equal(t->probe.host, "2001:db8::1"); /* without the brackets */
        assert_int_equal(t->probe.port, 8084);
        t = find(config, "loopback6");
        assert_string_equal(t->probe.host, "::1");
        assert_int_equal(t->probe.port, 1);
        assert_null(config_find_target(config, "nothere"));
        config_free(config);
}

static void test_target_names(void **state) {
        /* Every allowed character. */
        Config *config = parse_ok("[Target a-b_c.d:e@F9]\nAddress=h:1\n[Target 0]\nAddress=h:2\n");
        assert_non_null(config_find_target(config, "a-b_c.d:e@F9"));
        assert_non_null(config_find_target(config, "0"));
        config_free(config);
}

static void test_target_name_128_chars(void **state) {
        /* Regression (fixed): libinih copies the section name into a 50-byte buffer (MAX_SECTION), so "Target " plus
         * a name longer than 42 characters is silently cut to its first 42 characters. */
        char text[512], name[129];

        memset(name, 'n', 128);
        name[128] = '\0';
        snprintf(text, sizeof(text), "[Target %s]\nAddress=h:1\n", name);
        Config *config = parse_ok(text);
        assert_int_equal(config->n_targets, 1);
        assert_string_equal(config->targets[0].name, name);
        config_free(config);
}

static void test_long_target_names_distinct(void **state) {
        /* Regression (fixed): same cause: two names that differ only after the 42nd character become one target,
         * the second section silently overriding the first one's Address=. */
        Config *config = parse_ok("[Target broker-cluster-eu-west-1.example.com:8883-node-a]\n"
                                  "Address=a:8883\n"
                                  "[Target broker-cluster-eu-west-1.example.com:8883-node-b]\n"
                                  "Address=b:8883\n");
        assert_int_equal(config->n_targets, 2);
        assert_string_equal(find(config, "broker-cluster-eu-west-1.example.com:8883-node-a")->probe.host, "a");
        assert_string_equal(find(config, "broker-cluster-eu-west-1.example.com:8883-node-b")->probe.host, "b");
        config_free(config);
}

static void test_later_value_wins(void **state) {
        /* A key repeated (also in a second section of the same name) replaces the earlier value. */
        Config *config = parse_ok("[Target a]\nAddress=old:1\nServerName=first\n"
                                  "[Target b]\nAddress=b:1\n"
                                  "[Target a]\nAddress=new:2\nServerName=second\n");
        const TargetConfig *t = find(config, "a");

        assert_int_equal(config->n_targets, 2);
        assert_string_equal(t->probe.host, "new");
        assert_int_equal(t->probe.port, 2);
        assert_string_equal(t->probe.server_name, "second");
        assert_int_equal(t->line, 1); /* where it was first seen */
        config_free(config);
}

/* Many sections: each name found again, in the order first seen, a repeated one merged (the index of
 * names is rebuilt several times on the way). */
static void test_many_targets(void **state) {
        enum { N = 5000 };
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        for (int i = 0; i < N; i++)
                fprintf(f, "[Target t%d]\nAddress=127.0.0.1:%d\n", i, 1000 + i);
        fprintf(f, "[Target t17]\nServerName=again\n");
        assert_int_equal(fclose(f), 0);

        Config *config = parse_ok(text);
        assert_int_equal(config->n_targets, N);
        for (int i = 0; i < N; i++) {
                char name[16];
                snprintf(name, sizeof(name), "t%d", i);
                const TargetConfig *t = find(config, name);
                assert_ptr_equal(t, &config->targets[i]);
                assert_int_equal(t->probe.port, 1000 + i);
        }
        assert_string_equal(find(config, "t17")->probe.server_name, "again");
        assert_null(config_find_target(config, "t5000"));
        config_free(config);
}

/* ---- built-in defaults ------------------------------------------------------------------------ */

static void test_builtin_defaults(void **state) {
        Config *config = parse_ok("[Target a]\nAddress=h:8443\n");
        const TargetConfig *t = find(config, "a");

        assert_int_equal(config->max_concurrent_probes, 64);
        assert_ptr_equal(t->probe.protocol, &protocol_tls);
        assert_null(t->probe.server_name);
        assert_null(t->probe.path);
        assert_null(t->probe.ca_file);
        assert_null(t->probe.cert_file);
        assert_null(t->probe.key_file);
        assert_int_equal(t->interval_usec, 5 * USEC_PER_MINUTE);
        assert_int_equal(t->retry_interval_usec, 1 * USEC_PER_MINUTE);
        assert_int_equal(t->probe.timeout_usec, 10 * USEC_PER_SEC);
        assert_int_equal(t->repeat_interval_usec, 24 * USEC_PER_HOUR);
        assert_int_equal(t->probe.warn_days, 30);
        assert_int_equal(t->probe.crit_days, 7);
        assert_int_equal(t->confirm_failures, 2);
        config_free(config);
}

static void test_groups_and_name_only_in_cn(void **state) {
        Config *config = parse_ok("[Defaults]\nGroups=X25519, P-256\nNameOnlyInCN=note\n"
                                  "[Target a]\nAddress=h:1\n"
                                  "[Target b]\nAddress=h:2\nGroups=P-384\nNameOnlyInCN=critical\n");
        const TargetConfig *a = find(config, "a"), *b = find(config, "b");

        /* Kept in OpenSSL's form, whatever the separators. */
        assert_string_equal(a->probe.groups, "X25519:P-256");
        assert_int_equal(a->probe.name_only_in_cn, SEVERITY_CHOICE_NOTE);
        assert_string_equal(b->probe.groups, "P-384");
        assert_int_equal(b->probe.name_only_in_cn, SEVERITY_CHOICE_CRITICAL);
        config_free(config);

        /* Unset: OpenSSL's default groups, and name_only_in_cn at its default severity (a warning). */
        config = parse_ok("[Target a]\nAddress=h:1\n");
        assert_null(find(config, "a")->probe.groups);
        assert_int_equal(find(config, "a")->probe.name_only_in_cn, SEVERITY_CHOICE_DEFAULT);
        config_free(config);
}

static void test_error_groups_and_name_only_in_cn(void **state) {
        _cleanup_free_ char *expected = NULL;
        char available[256];

        tls_groups_available(available, sizeof(available));
        assert_true(asprintf(&expected,
                             "t.conf:3: Groups: \"P-257\" is not a key-exchange group this OpenSSL (%s) can "
                             "offer; it offers %s",
                             OpenSSL_version(OPENSSL_VERSION_STRING), available) > 0);
        check_error("[Target a]\nAddress=h:1\nGroups=X25519:P-257\n", expected);
        check_error("[Defaults]\nGroups=\n", "t.conf:2: Groups: the list of groups is empty");
        check_error("[Defaults]\nGroups=P-256 P-256\n", "t.conf:2: Groups: \"P-256\" is listed twice");
        check_error("[Defaults]\nNameOnlyInCN=ignore\n",
                    "t.conf:2: NameOnlyInCN: \"ignore\" is not one of note, warning, critical");
        check_error("[Defaults]\nNameOnlyInCN=default\n",
                    "t.conf:2: NameOnlyInCN: \"default\" is not one of note, warning, critical");
        /* Hybrid post-quantum groups take OpenSSL 3.5; an older one says so. */
        if (OPENSSL_VERSION_NUMBER < 0x30500000L) {
                _cleanup_(config_freep) Config *config = NULL;
                _cleanup_free_ char *error = NULL;
                assert_int_equal(config_new(&config), 0);
                assert_int_equal(
                        config_parse_text(config, "t.conf", "[Defaults]\nGroups=X25519MLKEM768\n", &error),
                        -EINVAL);
                assert_non_null(
                        strstr(error, "t.conf:2: Groups: \"X25519MLKEM768\" is not a key-exchange group"));
                assert_non_null(strstr(error, "need OpenSSL 3.5"));
        }
}

static void test_no_targets(void **state) {
        Config *config = parse_ok("");
        assert_int_equal(config->n_targets, 0);
        assert_int_equal(config->max_concurrent_probes, 64);
        config_free(config);

        config = parse_ok("# nothing but a comment\n\n[Defaults]\nInterval=1h\n");
        assert_int_equal(config->n_targets, 0);
        config_free(config);
}

static void test_protocol_by_port(void **state) {
        Config *config = parse_ok("[Target mqtt]\nAddress=h:8883\n"
                                  "[Target wss]\nAddress=h:8084\n"
                                  "[Target https]\nAddress=h:18084\n"
                                  "[Target tls]\nAddress=h:8443\n"
                                  "[Target other]\nAddress=h:1\n");

        assert_ptr_equal(find(config, "mqtt")->probe.protocol, &protocol_mqtt);
        assert_ptr_equal(find(config, "wss")->probe.protocol, &protocol_wss);
        assert_ptr_equal(find(config, "https")->probe.protocol, &protocol_https);
        assert_ptr_equal(find(config, "tls")->probe.protocol, &protocol_tls);
        assert_ptr_equal(find(config, "other")->probe.protocol, &protocol_tls);
        config_free(config);
}

static void test_days_zero_allowed(void **state) {
        /* 0 days is a valid "only once expired" setting, unlike a zero count. */
        Config *config = parse_ok("[Target a]\nAddress=h:1\nWarnDays=0\nCritDays=0\n");
        assert_int_equal(find(config, "a")->probe.warn_days, 0);
        assert_int_equal(find(config, "a")->probe.crit_days, 0);
        config_free(config);

        config = parse_ok("[Target a]\nAddress=h:1\nWarnDays=3650\nCritDays=3650\n");
        assert_int_equal(find(config, "a")->probe.warn_days, 3650);
        config_free(config);
}

static void test_retry_interval_capped_by_interval(void **state) {
        /* The built-in 1min retry would be longer than a 30s interval; it follows the interval. */
        Config *config = parse_ok("[Target a]\nAddress=h:1\nInterval=30s\nTimeout=5s\n");
        assert_int_equal(find(config, "a")->retry_interval_usec, 30 * USEC_PER_SEC);
        config_free(config);
}

/* ---- [Defaults] inheritance ------------------------------------------------------------------- */

static const char defaults_section[] = "[Defaults]\n"
                                       "Interval=1h\n"
                                       "WarnDays=60\n"
                                       "Protocol=mqtt\n"
                                       "CAFile=/etc/ca.pem\n"
                                       "ConfirmFailures=5\n";

static void check_inherited(const Config *config) {
        const TargetConfig *plain = find(config, "plain");
        const TargetConfig *own = find(config, "own");

        /* Unset in the target: from [Defaults]. */
        assert_int_equal(plain->interval_usec, USEC_PER_HOUR);
        assert_int_equal(plain->probe.warn_days, 60);
        assert_ptr_equal(plain->probe.protocol, &protocol_mqtt);
        assert_string_equal(plain->probe.ca_file, "/etc/ca.pem");
        assert_int_equal(plain->confirm_failures, 5);
        /* Set neither here nor there: built in. */
        assert_int_equal(plain->probe.crit_days, 7);
        assert_int_equal(plain->probe.timeout_usec, 10 * USEC_PER_SEC);

        /* Set in the target: the target's own value, even when it equals a built-in default. */
        assert_int_equal(own->interval_usec, 5 * USEC_PER_MINUTE);
        assert_int_equal(own->probe.warn_days, 30);
        assert_ptr_equal(own->probe.protocol, &protocol_tls);
        assert_string_equal(own->probe.ca_file, "/etc/own.pem");
        assert_int_equal(own->confirm_failures, 2);
        assert_int_equal(own->probe.crit_days, 7);
}

static const char targets_section[] = "[Target plain]\n"
                                      "Address=plain.example.com:8084\n"
                                      "[Target own]\n"
                                      "Address=own.example.com:8883\n"
                                      "Interval=5min\n"
                                      "WarnDays=30\n"
                                      "Protocol=tls\n"
                                      "CAFile=/etc/own.pem\n"
                                      "ConfirmFailures=2\n";

static void test_defaults_before_targets(void **state) {
        char text[1024];

        snprintf(text, sizeof(text), "%s%s", defaults_section, targets_section);
        Config *config = parse_ok(text);
        check_inherited(config);
        config_free(config);
}

static void test_defaults_after_targets(void **state) {
        char text[1024];

        snprintf(text, sizeof(text), "%s%s", targets_section, defaults_section);
        Config *config = parse_ok(text);
        check_inherited(config);
        config_free(config);
}

static void test_defaults_in_other_file(void **state) {
        _cleanup_(config_freep) Config *config = NULL;
        char *error = NULL;

        /* Targets in the first file, [Defaults] in a later one. */
        assert_int_equal(config_new(&config), 0);
        assert_int_equal(config_parse_text(config, "main.conf", targets_section, &error), 0);
        assert_int_equal(config_parse_text(config, "conf.d/50-defaults.conf", defaults_section, &error), 0);
        assert_int_equal(config_finish(config, &error), 0);
        assert_null(error);
        check_inherited(config);
        config_free(TAKE_PTR(config));

        /* And the other way round. */
        assert_int_equal(config_new(&config), 0);
        assert_int_equal(config_parse_text(config, "main.conf", defaults_section, &error), 0);
        assert_int_equal(config_parse_text(config, "conf.d/50-targets.conf", targets_section, &error), 0);
        assert_int_equal(config_finish(config, &error), 0);
        assert_null(error);
        check_inherited(config);
}

static void test_defaults_string_keys_copied(void **state) {
        /* Every string key inherited is an own copy: freeing the config must not double-free. */
        Config *config = parse_ok("[Defaults]\nServerName=sni.example.com\nPath=/health\n"
                                  "ClientCertificate=/c.pem\nClientKey=/c.key\nRepeatInterval=2h\n"
                                  "RetryInterval=10s\nTimeout=3s\nCritDays=2\n"
                                  "[Target a]\nAddress=h:1\n[Target b]\nAddress=h:2\nServerName=own\n");
        const TargetConfig *a = find(config, "a"), *b = find(config, "b");

        assert_string_equal(a->probe.server_name, "sni.example.com");
        assert_string_equal(b->probe.server_name, "own");
        assert_string_equal(a->probe.path, "/health");
        assert_string_equal(b->probe.path, "/health");
        assert_ptr_not_equal(a->probe.path, b->probe.path);
        assert_string_equal(a->probe.cert_file, "/c.pem");
        assert_string_equal(a->probe.key_file, "/c.key");
        assert_int_equal(a->repeat_interval_usec, 2 * USEC_PER_HOUR);
        assert_int_equal(a->retry_interval_usec, 10 * USEC_PER_SEC);
        assert_int_equal(a->probe.timeout_usec, 3 * USEC_PER_SEC);
        assert_int_equal(a->probe.crit_days, 2);
        config_free(config);
}

/* ---- the INI dialect -------------------------------------------------------------------------- */

static void test_comments(void **state) {
        Config *config = parse_ok("# a comment\n"
                                  "; another comment\n"
                                  "[Target a]\n"
                                  "#Address=commented:1\n"
                                  ";Interval=1h\n"
                                  "   # indented comment\n"
                                  "\n"
                                  "Address=h:1\n");
        const TargetConfig *t = find(config, "a");

        assert_string_equal(t->probe.host, "h");
        assert_int_equal(t->interval_usec, 5 * USEC_PER_MINUTE);
        config_free(config);
}

static void test_value_with_semicolon_kept_whole(void **state) {
        /* Inline comments are off: a ';' or '#' inside a value belongs to the value. */
        Config *config = parse_ok("[Target a]\n"
                                  "Address=h:1\n"
                                  "Path=/status;v=1\n"
                                  "ServerName=example.com ; not a comment\n"
                                  "CAFile=/etc/ca#1.pem\n");
        const TargetConfig *t = find(config, "a");

        assert_string_equal(t->probe.path, "/status;v=1");
        assert_string_equal(t->probe.server_name, "example.com ; not a comment");
        assert_string_equal(t->probe.ca_file, "/etc/ca#1.pem");
        config_free(config);
}

static void test_whitespace_and_crlf(void **state) {
        Config *config = parse_ok("[Target a]\r\n"
                                  "  Address  =  h:1  \r\n"
                                  "Interval=1h 30min\r\n");
        const TargetConfig *t = find(config, "a");

        assert_string_equal(t->probe.host, "h");
        assert_int_equal(t->probe.port, 1);
        assert_int_equal(t->interval_usec, USEC_PER_HOUR + 30 * USEC_PER_MINUTE);
        config_free(config);
}

/* ---- every error, word for word ------------------------------------------------------------- */

static void test_error_duration(void **state) {
        check_error("[Target a]\nAddress=h:1\nInterval=5 minutes\n",
                    "t.conf:3: Interval: \"5 minutes\" is not a duration (try 5min)");
        check_error("[Target a]\nAddress=h:1\nTimeout=30 seconds\n",
                    "t.conf:3: Timeout: \"30 seconds\" is not a duration (try 30s)");
        check_error("[Defaults]\nRepeatInterval=2 hours\n",
                    "t.conf:2: RepeatInterval: \"2 hours\" is not a duration (try 2h)");
        check_error("[Defaults]\nRetryInterval=1 day\n",
                    "t.conf:2: RetryInterval: \"1 day\" is not a duration (try 1d)");
        check_error("[Defaults]\nInterval=abc\n",
                    "t.conf:2: Interval: \"abc\" is not a duration (try 5min)");
        check_error("[Defaults]\nInterval=\n", "t.conf:2: Interval: \"\" is not a duration (try 5min)");
        /* Zero would mean probing in a busy loop; the hint is a duration that is taken. */
        check_error("[Defaults]\nInterval=0\n", "t.conf:2: Interval: \"0\" must be longer than 0 (try 5min)");
        check_error("[Defaults]\nInterval=0s\n", "t.conf:2: Interval: \"0s\" must be longer than 0 (try 5s)");
        check_error("[Defaults]\nRetryInterval=00h\n",
                    "t.conf:2: RetryInterval: \"00h\" must be longer than 0 (try 5h)");
}

/* Every duration has a ceiling, so that now + it cannot wrap into the past (probing without a pause). */
static void test_error_duration_maximum(void **state) {
        check_error("[Defaults]\nInterval=18446744073709551615us\n",
                    "t.conf:2: Interval: \"18446744073709551615us\" is longer than the maximum, 365d");
        check_error("[Defaults]\nInterval=99999999999999999999s\n",
                    "t.conf:2: Interval: \"99999999999999999999s\" is longer than the maximum, 365d");
        check_error("[Target a]\nAddress=h:1\nInterval=365d 1us\n",
                    "t.conf:3: Interval: \"365d 1us\" is longer than the maximum, 365d");
        check_error("[Defaults]\nRetryInterval=53w\n",
                    "t.conf:2: RetryInterval: \"53w\" is longer than the maximum, 365d");
        check_error("[Defaults]\nRepeatInterval=366d\n",
                    "t.conf:2: RepeatInterval: \"366d\" is longer than the maximum, 365d");
        check_error("[Target a]\nAddress=h:1\nTimeout=61min\n",
                    "t.conf:3: Timeout: \"61min\" is longer than the maximum, 1h");
        check_error("[Target a]\nAddress=h:1\nRenewalFloor=3651d\n",
                    "t.conf:3: RenewalFloor: \"3651d\" is longer than the maximum, 3650d");
        check_error("[Webhook x]\nURL=https://h/\nRetryMax=366d\n",
                    "t.conf:3: RetryMax: \"366d\" is longer than the maximum, 365d");
        check_error("[Webhook x]\nURL=https://h/\nTimeout=2h\n",
                    "t.conf:3: Timeout: \"2h\" is longer than the maximum, 1h");
        check_error("[HTTP]\nListen=127.0.0.1:9883\nTimeout=3601s\n",
                    "t.conf:3: Timeout: \"3601s\" is longer than the maximum, 1h");

        /* The maxima themselves are taken. */
        _cleanup_(config_freep) Config *c = parse_ok("[Target a]\nAddress=h:1\nInterval=365d\nRetryInterval=52w\n"
                                                     "RepeatInterval=8760h\nTimeout=1h\nRenewalFloor=3650d\n");
        const TargetConfig *t = find(c, "a");
        assert_int_equal(t->interval_usec, CONFIG_INTERVAL_MAX_USEC);
        assert_int_equal(t->probe.timeout_usec, CONFIG_TIMEOUT_MAX_USEC);
        assert_int_equal(t->probe.renewal_floor_usec, CONFIG_FLOOR_MAX_USEC);
}

/* Neither WarnDays= nor CritDays=: the lifetime policy alone; either one, here or in [Defaults]: fixed
 * days as before, the other at its old default. The lifetime keys parse percents and durations. */
static void test_expiry_keys(void **state) {
        Config *config = parse_ok("[Defaults]\nCritDays=3\n\n[Target d]\nAddress=h:1\n\n"
                                  "[Target l]\nAddress=h:2\n\n"
                                  "[Target w]\nAddress=h:3\nWarnLifetime=40%\nCritLifetime=10\n"
                                  "RenewalFloor=36h\n");
        const TargetConfig *d = find(config, "d"), *w = find(config, "w");

        assert_true(d->probe.days_set);
        assert_int_equal(d->probe.warn_days, 30);
        assert_int_equal(d->probe.crit_days, 3);
        assert_true(w->probe.days_set); /* [Defaults]' CritDays= */
        assert_int_equal(w->probe.warn_lifetime, 40);
        assert_int_equal(w->probe.crit_lifetime, 10);
        assert_int_equal(w->probe.renewal_floor_usec, 36 * USEC_PER_HOUR);
        config_free(config);

        config = parse_ok("[Target l]\nAddress=h:2\nRenewalFloor=auto\n");
        const TargetConfig *l = find(config, "l");
        assert_false(l->probe.days_set);
        assert_int_equal(l->probe.warn_lifetime, 0);
        assert_int_equal(l->probe.renewal_floor_usec, 0);
        config_free(config);

        check_error("[Target a]\nAddress=h:1\nWarnLifetime=0%\n",
                    "t.conf:3: WarnLifetime: \"0%\" is not a percent of the lifetime left (1% to 99%)");
        check_error("[Target a]\nAddress=h:1\nCritLifetime=33.3%\n",
                    "t.conf:3: CritLifetime: \"33.3%\" is not a percent of the lifetime left (1% to 99%)");
        check_error("[Target a]\nAddress=h:1\nRenewalFloor=1 day\n",
                    "t.conf:3: RenewalFloor: \"1 day\" is not a duration or \"auto\" (try 1d)");
        check_error("[Target a]\nAddress=h:1\nWarnLifetime=20%\nCritLifetime=30%\n",
                    "t.conf:1: [Target a]: CritLifetime=30 must not exceed WarnLifetime=20");
}

static void test_error_unknown_key(void **state) {
        check_error("[Target a]\nAddress=h:1\nFoo=bar\n", "t.conf:3: unknown key \"Foo\" in [Target a]");
        check_error("[Defaults]\nFoo=bar\n", "t.conf:2: unknown key \"Foo\" in [Defaults]");
        /* Keys are case-sensitive, as in systemd units. */
        check_error("[Target a]\ninterval=5min\n", "t.conf:2: unknown key \"interval\" in [Target a]");
}

static void test_error_unknown_section(void **state) {
        check_error("[Foo]\n# comment\nInterval=5min\n",
                    "t.conf:1: unknown section [Foo] (expected [Defaults], [Target NAME], [Webhook NAME] or [HTTP])");
        check_error("[Target a]\nAddress=h:1\n\n[Target]\nAddress=h:1\n",
                    "t.conf:4: unknown section [Target] (expected [Defaults], [Target NAME], [Webhook NAME] or [HTTP])");
        check_error("[defaults]\nInterval=5min\n",
                    "t.conf:1: unknown section [defaults] (expected [Defaults], [Target NAME], [Webhook NAME] or [HTTP])");
}

static void test_error_key_before_section(void **state) {
        check_error("# comment\nInterval=5min\n[Target a]\nAddress=h:1\n",
                    "t.conf:2: \"Interval=\" stands before any section; "
                    "put it under [Defaults] or [Target NAME]");
}

static void test_error_key_scope(void **state) {
        check_error("[Defaults]\nAddress=h:1\n",
                    "t.conf:2: Address= belongs in a [Target NAME] section, not [Defaults]");
        check_error("[Target a]\nAddress=h:1\nMaxConcurrentProbes=5\n",
                    "t.conf:3: MaxConcurrentProbes= belongs in [Defaults], not in a target");
}

static void test_error_target_name(void **state) {
        check_error("[Target a b]\nAddress=h:1\n",
                    "t.conf:1: [Target a b]: a target name is 1 to 128 letters, digits or -_.:@");
        check_error("[Target a/b]\n\nAddress=h:1\n",
                    "t.conf:1: [Target a/b]: a target name is 1 to 128 letters, digits or -_.:@");
        check_error("[Target ]\nAddress=h:1\n",
                    "t.conf:1: [Target ]: a target name is 1 to 128 letters, digits or -_.:@");
}

static void test_error_target_name_too_long(void **state) {
        /* Regression (fixed): see test_target_name_128_chars: a 129-character name is cut to 42 and accepted. */
        char text[512], expected[512];

        snprintf(text, sizeof(text), "[Target %0129d]\nAddress=h:1\n", 0);
        snprintf(expected, sizeof(expected),
                 "t.conf:1: [Target %0129d]: a target name is 1 to 128 letters, digits or -_.:@", 0);
        check_error(text, expected);
}

static void test_error_address(void **state) {
        check_error("[Target a]\nAddress=::1:8883\n",
                    "t.conf:2: Address: \"::1:8883\": an IPv6 address must be written in brackets, e.g. "
                    "[::1]:8883");
        check_error("[Target a]\nAddress=2001:db8::1\n",
                    "t.conf:2: Address: \"2001:db8::1\": an IPv6 address must be written in brackets, e.g. "
                    "[::1]:8883");
        check_error("[Target a]\nAddress=h:70000\n",
                    "t.conf:2: Address: \"h:70000\": the port must be a number from 1 to 65535");
        check_error("[Target a]\nAddress=h:0\n",
                    "t.conf:2: Address: \"h:0\": the port must be a number from 1 to 65535");
        check_error("[Target a]\nAddress=h\n", "t.conf:2: Address: \"h\": a port is required (HOST:PORT)");
        check_error("[Target a]\nAddress=[::1]\n",
                    "t.conf:2: Address: \"[::1]\": a port is required (HOST:PORT)");
        check_error("[Target a]\nAddress=\n", "t.conf:2: Address: \"\": the host is empty");
}

static void test_error_paths(void **state) {
        check_error("[Target a]\nAddress=h:1\nCAFile=ca.pem\n",
                    "t.conf:3: CAFile: \"ca.pem\" is not an absolute path");
        check_error("[Defaults]\nClientCertificate=./c.pem\n",
                    "t.conf:2: ClientCertificate: \"./c.pem\" is not an absolute path");
        check_error("[Defaults]\nClientKey=~/c.key\n",
                    "t.conf:2: ClientKey: \"~/c.key\" is not an absolute path");
        check_error("[Target a]\nAddress=h:1\nPath=status\n",
                    "t.conf:3: Path: \"status\" is not a request path (it starts with '/', without blanks)");
        check_error("[Target a]\nAddress=h:1\nPath=/a b\n",
                    "t.conf:3: Path: \"/a b\" is not a request path (it starts with '/', without blanks)");
        check_error("[Target a]\nAddress=h:1\nServerName=\n", "t.conf:3: ServerName: the value is empty");
}

static void test_error_protocol(void **state) {
        check_error("[Target a]\nAddress=h:1\nProtocol=smtp\n",
                    "t.conf:3: Protocol: \"smtp\" is not one of tls, mqtt, wss, https");
        check_error("[Defaults]\nProtocol=MQTT\n",
                    "t.conf:2: Protocol: \"MQTT\" is not one of tls, mqtt, wss, https");
        check_error("[Target a]\nAddress=h:1\nRevocation=ocsp\n",
                    "t.conf:3: Revocation: \"ocsp\" is not a revocation mode (off, crl or crl-warn)");
}

static void test_error_numbers(void **state) {
        check_error("[Target a]\nAddress=h:1\nWarnDays=abc\n",
                    "t.conf:3: WarnDays: \"abc\" is not a number of days (0 to 3650)");
        check_error("[Defaults]\nCritDays=-1\n",
                    "t.conf:2: CritDays: \"-1\" is not a number of days (0 to 3650)");
        check_error("[Defaults]\nWarnDays=3651\n",
                    "t.conf:2: WarnDays: \"3651\" is not a number of days (0 to 3650)");
        check_error("[Defaults]\nWarnDays=99999999999999999999\n",
                    "t.conf:2: WarnDays: \"99999999999999999999\" is not a number of days (0 to 3650)");
        check_error("[Target a]\nAddress=h:1\nConfirmFailures=0\n",
                    "t.conf:3: ConfirmFailures: \"0\" is not a positive whole number");
        check_error("[Defaults]\nConfirmFailures=two\n",
                    "t.conf:2: ConfirmFailures: \"two\" is not a positive whole number");
        check_error("[Defaults]\nMaxConcurrentProbes=0\n",
                    "t.conf:2: MaxConcurrentProbes: \"0\" is not a positive whole number");
        check_error("[Defaults]\nMaxConcurrentProbes=1.5\n",
                    "t.conf:2: MaxConcurrentProbes: \"1.5\" is not a positive whole number");
}

static void test_error_missing_address(void **state) {
        /* The message points at the section header, since the line that is missing has no number. */
        check_error("[Target a]\nAddress=h:1\n\n[Target b]\nInterval=1h\n",
                    "t.conf:4: [Target b]: Address= is missing (HOST:PORT)");
}

static void test_error_missing_address_other_file(void **state) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;

        /* The target first appears in the drop-in: that is the place named. */
        assert_int_equal(config_new(&config), 0);
        assert_int_equal(config_parse_text(config, "main.conf", "[Defaults]\nInterval=1h\n", &error), 0);
        assert_int_equal(config_parse_text(config, "conf.d/10-b.conf", "# b\n[Target b]\nTimeout=3s\n",
                                           &error), 0);
        assert_int_equal(config_finish(config, &error), -EINVAL);
        assert_string_equal(error, "conf.d/10-b.conf:2: [Target b]: Address= is missing (HOST:PORT)");
}

static void test_error_crit_exceeds_warn(void **state) {
        check_error("[Target a]\nAddress=h:1\nWarnDays=10\nCritDays=20\n",
                    "t.conf:1: [Target a]: CritDays=20 must not exceed WarnDays=10");
        /* Also when the two come from different places: [Defaults] and the built-in 7. */
        check_error("[Defaults]\nWarnDays=5\n[Target a]\nAddress=h:1\n",
                    "t.conf:3: [Target a]: CritDays=7 must not exceed WarnDays=5");
}

static void test_error_client_pair(void **state) {
        check_error("[Target a]\nAddress=h:1\nClientCertificate=/c.pem\n",
                    "t.conf:1: [Target a]: ClientCertificate= and ClientKey= go together");
        check_error("[Target a]\nAddress=h:1\nClientKey=/c.key\n",
                    "t.conf:1: [Target a]: ClientCertificate= and ClientKey= go together");
}

static void test_error_timeout_exceeds_interval(void **state) {
        check_error("[Target a]\nAddress=h:1\nInterval=30s\nTimeout=1min\n",
                    "t.conf:1: [Target a]: Timeout= must not exceed Interval=");
}

static void test_default_timeout_follows_short_interval(void **state) {
        /* The built-in 10s timeout shrinks to a shorter interval, as RetryInterval= does: an error about
         * a key the user never wrote would help nobody. */
        Config *config = parse_ok("[Target a]\nAddress=h:1\nInterval=5s\n");
        assert_int_equal(find(config, "a")->probe.timeout_usec, 5 * USEC_PER_SEC);
        config_free(config);
}

static void test_error_webhook(void **state) {
        check_error("[Webhook x]\n# a comment\nFormat=json\n", "t.conf:1: [Webhook x]: URL= is missing");
        check_error("[Webhook x]\nURL=http://127.0.0.1:1/\n",
                    "t.conf:1: [Webhook x]: URL= is plain http: alerts would travel unprotected; use https, or set "
                    "AllowInsecureHTTP=yes to accept that");
        check_error("[Webhook x]\nURL=ftp://h/\n", "t.conf:2: URL: not an http:// or https:// URL of at most 2048 bytes without spaces");
        check_error("[Webhook x]\nURL=https://h/\nFormat=xml\n",
                    "t.conf:3: Format: \"xml\" is not one of json, slack, alertmanager");
        check_error("[Webhook x]\nURL=https://h/\nEvents=problem,bogus\n",
                    "t.conf:3: Events: \"bogus\" is not one of problem, recovery, change, reminder");
        check_error("[Webhook x]\nURL=https://h/\nHeader=NoColon\n", "t.conf:3: Header: the value is not \"Name: value\"");
        check_error("[Webhook x]\nURL=https://h/\nAddress=h:1\n", "t.conf:3: unknown key \"Address\" in [Webhook x]");
}

/* ---- [HTTP] ---------------------------------------------------------------------------------- */

static void test_http_off_by_default(void **state) {
        Config *config = parse_ok("[Target a]\nAddress=h:1\n");
        assert_null(config->http.listen);
        assert_null(config->http.external_url);
        assert_false(config->http.probe_on_demand);
        config_free(config);
}

static void test_http_keys(void **state) {
        Config *config = parse_ok("[HTTP]\nListen=127.0.0.1:9883\n");
        assert_string_equal(config->http.listen, "127.0.0.1:9883");
        assert_string_equal(config->http.listen_host, "127.0.0.1");
        assert_int_equal(config->http.listen_port, 9883);
        /* The default that webhook links (generatorURL) point at. */
        assert_string_equal(config->http.external_url, "http://127.0.0.1:9883");
        assert_int_equal(config->http.max_connections, 64);
        assert_int_equal(config->http.max_connections_per_ip, 16);
        assert_int_equal(config->http.timeout_usec, 10 * USEC_PER_SEC);
        assert_null(config->http.basic_auth_file);
        assert_false(config->http.probe_on_demand);
        assert_int_equal(config->http.max_probes_on_demand, 4);
        config_free(config);

        config = parse_ok("[HTTP]\nListen=[::1]:80\nExternalURL=https://tls.example.com/watch//\n"
                          "MaxConnections=10\nMaxConnectionsPerIP=2\nTimeout=3s\nBasicAuthFile=/etc/tlswatch/users\n"
                          "ProbeOnDemand=yes\nMaxProbesOnDemand=2\n[Target a]\nAddress=h:1\nTimeout=5s\n");
        assert_string_equal(config->http.listen, "[::1]:80");
        assert_string_equal(config->http.listen_host, "::1");
        assert_int_equal(config->http.listen_port, 80);
        assert_string_equal(config->http.external_url, "https://tls.example.com/watch");
        assert_int_equal(config->http.max_connections, 10);
        assert_int_equal(config->http.max_connections_per_ip, 2);
        assert_int_equal(config->http.timeout_usec, 3 * USEC_PER_SEC);
        assert_string_equal(config->http.basic_auth_file, "/etc/tlswatch/users");
        assert_true(config->http.probe_on_demand);
        assert_int_equal(config->http.max_probes_on_demand, 2);
        /* Timeout= in [HTTP] is the endpoint's, not the targets'. */
        assert_int_equal(find(config, "a")->probe.timeout_usec, 5 * USEC_PER_SEC);
        config_free(config);

        /* A small MaxConnections= caps the per-IP default. */
        config = parse_ok("[HTTP]\nListen=0.0.0.0:9883\nMaxConnections=4\n");
        assert_int_equal(config->http.max_connections_per_ip, 4);
        config_free(config);
}

static void test_error_http(void **state) {
        check_error("[HTTP]\nListen=localhost:9883\n",
                    "t.conf:2: Listen: \"localhost:9883\": the host must be an IP address, e.g. 127.0.0.1:9883 or "
                    "[::1]:9883");
        check_error("[HTTP]\nListen=127.0.0.1\n", "t.conf:2: Listen: \"127.0.0.1\": a port is required (HOST:PORT)");
        check_error("[HTTP]\nListen=::1:9883\n",
                    "t.conf:2: Listen: \"::1:9883\": an IPv6 address must be written in brackets, e.g. [::1]:8883");
        check_error("[HTTP]\nListen=127.0.0.1:9883\nMaxConnections=0\n",
                    "t.conf:3: MaxConnections: \"0\" is not a positive whole number");
        check_error("# x\n[HTTP]\nListen=127.0.0.1:9883\nMaxConnections=2\nMaxConnectionsPerIP=3\n",
                    "t.conf:2: [HTTP]: MaxConnectionsPerIP= must not exceed MaxConnections=");
        check_error("[HTTP]\nExternalURL=http://h/\n",
                    "t.conf:1: [HTTP]: ExternalURL= needs Listen= (the endpoint is off without it)");
        check_error("[HTTP]\nListen=127.0.0.1:9883\nExternalURL=h:1\n",
                    "t.conf:3: ExternalURL: not an http:// or https:// URL of at most 2048 bytes without spaces");
        check_error("[HTTP]\nListen=127.0.0.1:9883\nBasicAuthFile=etc/users\n",
                    "t.conf:3: BasicAuthFile: \"etc/users\" is neither an absolute path nor a credential name");
        check_error("[HTTP]\nListen=127.0.0.1:9883\nProbeOnDemand=maybe\n",
                    "t.conf:3: ProbeOnDemand: \"maybe\" is not a boolean (yes or no)");
        check_error("[HTTP]\nListen=127.0.0.1:9883\nAddress=h:1\n", "t.conf:3: unknown key \"Address\" in [HTTP]");
        check_error("[Defaults]\nListen=127.0.0.1:9883\n", "t.conf:2: Listen= belongs in [HTTP]");
        check_error("[Target a]\nAddress=h:1\nMaxConnections=3\n", "t.conf:3: MaxConnections= belongs in [HTTP]");
        check_error("[http]\n", "t.conf:1: unknown section [http] (expected [Defaults], [Target NAME], "
                    "[Webhook NAME] or [HTTP])");
}

/* Format=alertmanager: URL= may list the peers of a cluster; plain http is Alertmanager's default and
 * allowed unless a credential would travel with it; Label= and RunbookURL= are checked where written. */
static void test_webhook_alertmanager(void **state) {
        Config *config = parse_ok("[Webhook am]\nFormat=alertmanager\n"
                                  "URL=http://127.0.0.1:9093/api/v2/alerts  http://[::1]:9094/api/v2/alerts\n"
                                  "Label=vantage=eu-west\nLabel=team=ops\nLabel=vantage=us-east\n"
                                  "RunbookURL=https://wiki.example.com/tlswatch\n");
        assert_int_equal(config->n_webhooks, 1);
        const WebhookConfig *w = &config->webhooks[0];
        assert_int_equal(w->urls.n, 2);
        assert_string_equal(w->urls.items[0], "http://127.0.0.1:9093/api/v2/alerts");
        assert_string_equal(w->urls.items[1], "http://[::1]:9094/api/v2/alerts");
        assert_true(webhook_config_allows_http(w));
        /* A label set again takes the new value, in its place. */
        assert_int_equal(w->labels.n, 2);
        assert_string_equal(w->labels.items[0], "vantage=us-east");
        assert_string_equal(w->labels.items[1], "team=ops");
        assert_string_equal(w->runbook_url, "https://wiki.example.com/tlswatch");
        config_free(config);

        /* A later URL= replaces the list, as a drop-in's does. */
        config = parse_ok("[Webhook am]\nFormat=alertmanager\nURL=https://a/ https://b/\nURL=https://c/\n");
        assert_int_equal(config->webhooks[0].urls.n, 1);
        assert_string_equal(config->webhooks[0].urls.items[0], "https://c/");
        config_free(config);

        check_error("[Webhook am]\nFormat=alertmanager\nURL=http://h:9093/\nBearerTokenFile=/t\n",
                    "t.conf:1: [Webhook am]: URL= is plain http and the webhook sends a credential (BearerTokenFile=, "
                    "SecretFile= or Header=): it would travel unprotected; use https, or set AllowInsecureHTTP=yes to "
                    "accept that");
        check_error("[Webhook am]\nFormat=alertmanager\nURL=http://h:9093/\nHeader=X-Token: t\n",
                    "t.conf:1: [Webhook am]: URL= is plain http and the webhook sends a credential (BearerTokenFile=, "
                    "SecretFile= or Header=): it would travel unprotected; use https, or set AllowInsecureHTTP=yes to "
                    "accept that");
        /* Said so, it may. */
        config = parse_ok("[Webhook am]\nFormat=alertmanager\nURL=http://h:9093/\nBearerTokenFile=/t\n"
                          "AllowInsecureHTTP=yes\n");
        assert_true(webhook_config_allows_http(&config->webhooks[0]));
        config_free(config);
        /* Other formats need AllowInsecureHTTP=yes for any http:// URL. */
        config = parse_ok("[Webhook j]\nURL=https://h/\n");
        assert_false(webhook_config_allows_http(&config->webhooks[0]));
        config_free(config);
        check_error("[Webhook j]\nURL=https://a/ https://b/\n",
                    "t.conf:1: [Webhook j]: URL= names 2 URLs: only Format=alertmanager posts to several receivers "
                    "(the peers of an Alertmanager cluster)");
        check_error("[Webhook j]\nURL=https://a/ ftp://b/\n",
                    "t.conf:2: URL: not an http:// or https:// URL of at most 2048 bytes without spaces");
        check_error("[Webhook j]\nURL=https://a/\nLabel=team=ops\n",
                    "t.conf:1: [Webhook j]: Label= is for Format=alertmanager only");
        check_error("[Webhook j]\nURL=https://a/\nRunbookURL=https://wiki/\n",
                    "t.conf:1: [Webhook j]: RunbookURL= is for Format=alertmanager only");
        static const char *const bad_labels[] = { "team", "=ops", "1team=ops", "te-am=ops", "__name=x", "t\xc3\xa9=x" };
        for (size_t i = 0; i < ELEMENTSOF(bad_labels); i++) {
                _cleanup_free_ char *text = NULL, *expected = NULL;
                assert_true(asprintf(&text, "[Webhook am]\nFormat=alertmanager\nURL=https://a/\nLabel=%s\n",
                                     bad_labels[i]) > 0);
                assert_true(asprintf(&expected,
                                     "t.conf:4: Label: \"%s\" is not NAME=VALUE with a Prometheus label name "
                                     "([a-zA-Z_][a-zA-Z0-9_]*, not beginning with __)",
                                     bad_labels[i]) > 0);
                check_error(text, expected);
        }
        check_error("[Webhook am]\nFormat=alertmanager\nURL=https://a/\nLabel=severity=page\n",
                    "t.conf:4: Label: \"severity\" is set by tlswatchd itself on every alert");
        check_error("[Webhook am]\nFormat=alertmanager\nURL=https://a/\nLabel=team=\n",
                    "t.conf:4: Label: the value of \"team\" is empty, not UTF-8 or longer than 1024 bytes");
        check_error("[Webhook am]\nFormat=alertmanager\nURL=https://a/\nLabel=team=\xff\n",
                    "t.conf:4: Label: the value of \"team\" is empty, not UTF-8 or longer than 1024 bytes");
        check_error("[Webhook am]\nFormat=alertmanager\nURL=https://a/\nRunbookURL=wiki\n",
                    "t.conf:4: RunbookURL: \"wiki\" is not an http://, https:// or file:// URL of at most 2048 "
                    "bytes without spaces");
}

static void test_error_line_without_equals(void **state) {
        check_error("[Target a]\nAddress=h:1\nInterval\n",
                    "t.conf:3: expected KEY=VALUE, a [Section] or a # comment");
        check_error("[Target a\nAddress=h:1\n", "t.conf:1: expected KEY=VALUE, a [Section] or a # comment");
}

static void test_error_first_wins(void **state) {
        /* Later errors are often consequences of the first: only the first is reported. */
        check_error("[Target a]\nAddress=h\nInterval=5 minutes\nFoo=bar\n",
                    "t.conf:2: Address: \"h\": a port is required (HOST:PORT)");
}

/* A line of `length` characters (without the newline) as the 3rd line of a target section. */
static char *long_line_config(size_t length) {
        static const char head[] = "[Target a]\nAddress=h:1\nServerName=";
        size_t value_length = length - strlen("ServerName=");
        char *text = malloc(strlen(head) + value_length + 64);

        assert_non_null(text);
        strcpy(text, head);
        memset(text + strlen(head), 'x', value_length);
        strcpy(text + strlen(head) + value_length, "\nTimeout=3s\n");
        return text;
}

static void test_error_long_line(void **state) {
        _cleanup_free_ char *text = long_line_config(10000);
        check_error(text, "t.conf:3: the line is longer than 4093 characters");
}

static void test_line_of_300_chars_accepted(void **state) {
        /* Regression (fixed): libinih's heap buffer starts at ini_initial_alloc (200 bytes) and may not grow
         * (ini_allow_realloc is false), so config.c's reader is handed 200, not ini_max_line, and
         * every line of 199 characters or more is refused as "longer than 4093 characters". */
        _cleanup_free_ char *text = long_line_config(300);
        Config *config = parse_ok(text);
        assert_int_equal(strlen(find(config, "a")->probe.server_name), 300 - strlen("ServerName="));
        assert_int_equal(find(config, "a")->probe.timeout_usec, 3 * USEC_PER_SEC);
        config_free(config);
}

static void test_line_limit_boundary(void **state) {
        /* Regression (fixed; same cause as above, plus an off-by-one): 4093 characters must be
         * accepted and 4094 refused, as the message says. */
        _cleanup_free_ char *longest = long_line_config(4093);
        _cleanup_free_ char *too_long = long_line_config(4094);

        Config *config = parse_ok(longest);
        assert_int_equal(strlen(find(config, "a")->probe.server_name), 4093 - strlen("ServerName="));
        config_free(config);

        check_error(too_long, "t.conf:3: the line is longer than 4093 characters");
}

static void test_empty_target_section_reported(void **state) {
        /* Regression (fixed): libinih calls the handler only for KEY=VALUE lines, so a [Target NAME] without keys
         * never becomes a target: the listener is silently not monitored instead of being reported
         * as missing its Address=. */
        check_error("[Target a]\nAddress=h:1\n[Target b]\n# Address= still to be filled in\n",
                    "t.conf:3: [Target b]: Address= is missing (HOST:PORT)");
}

static void test_empty_bad_sections_reported(void **state) {
        /* Regression (fixed): same cause: a misspelt or unsupported section is accepted when it has no keys. */
        check_error("[Foo]\n", "t.conf:1: unknown section [Foo] (expected [Defaults], [Target NAME], [Webhook NAME] or [HTTP])");
        check_error("[Webhook x]\n",
                    "t.conf:1: [Webhook x]: URL= is missing");
        check_error("[Target a b]\n",
                    "t.conf:1: [Target a b]: a target name is 1 to 128 letters, digits or -_.:@");
}

/* ---- config_load with conf.d drop-ins on disk ------------------------------------------------- */

static int setup_directory(void **state) {
        char *directory = strdup("/tmp/test-config-XXXXXX");

        if (!directory || !mkdtemp(directory)) {
                free(directory);
                return -1;
        }
        *state = directory;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown_directory(void **state) {
        char *directory = *state;
        int r;

        r = nftw(directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(directory);
        return r;
}

/* Writes `length` bytes to DIRECTORY/NAME, creating conf.d first when the name is under it. */
static char *write_file_n(const char *directory, const char *name, const char *data, size_t length) {
        char *path = NULL;
        char conf_d[PATH_MAX];
        FILE *f;

        snprintf(conf_d, sizeof(conf_d), "%s/conf.d", directory);
        if (strncmp(name, "conf.d/", 7) == 0)
                assert_true(mkdir(conf_d, 0755) == 0 || errno == EEXIST);
        assert_true(asprintf(&path, "%s/%s", directory, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, length, f), length);
        assert_int_equal(fclose(f), 0);
        return path;
}

static char *write_file(const char *directory, const char *name, const char *text) {
        return write_file_n(directory, name, text, strlen(text));
}

static void test_load_dropins(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf",
                                                    "[Target broker]\n"
                                                    "Address=broker.example.com:8883\n"
                                                    "Interval=10min\n"
                                                    "WarnDays=40\n");
        free(write_file(directory, "conf.d/10-a.conf",
                        "[Target web]\nAddress=web.example.com:443\n"
                        "[Target broker]\nInterval=20min\n"));
        free(write_file(directory, "conf.d/20-b.conf", "[Target broker]\nInterval=30min\n"));
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(config_load(main_file, &config, &error), 0);
        assert_null(error);
        assert_int_equal(config->n_targets, 2);

        const TargetConfig *broker = find(config, "broker");
        /* 20-b is read after 10-a, both after the main file: the last word wins. */
        assert_int_equal(broker->interval_usec, 30 * USEC_PER_MINUTE);
        assert_int_equal(broker->probe.warn_days, 40);
        assert_string_equal(broker->probe.host, "broker.example.com");
        assert_string_equal(broker->file, main_file);
        assert_int_equal(broker->line, 1);

        const TargetConfig *web = find(config, "web");
        assert_string_equal(web->probe.host, "web.example.com");
        assert_int_equal(web->probe.port, 443);
        assert_true(strstr(web->file, "/conf.d/10-a.conf") != NULL);
}

static void test_load_dropin_defaults(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf",
                                                    "[Target a]\nAddress=a:8883\nTimeout=20s\n"
                                                    "[Defaults]\nInterval=1h\n");
        free(write_file(directory, "conf.d/50-defaults.conf",
                        "[Defaults]\nTimeout=30s\nRepeatInterval=6h\nMaxConcurrentProbes=3\n"));
        free(write_file(directory, "conf.d/60-b.conf", "[Target b]\nAddress=b:8883\n"));
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(config_load(main_file, &config, &error), 0);
        const TargetConfig *a = find(config, "a"), *b = find(config, "b");
        assert_int_equal(config->max_concurrent_probes, 3);
        /* A target of the main file takes defaults from a drop-in only where it set nothing. */
        assert_int_equal(a->probe.timeout_usec, 20 * USEC_PER_SEC);
        assert_int_equal(a->repeat_interval_usec, 6 * USEC_PER_HOUR);
        assert_int_equal(a->interval_usec, USEC_PER_HOUR);
        /* A drop-in's target takes the main file's defaults. */
        assert_int_equal(b->probe.timeout_usec, 30 * USEC_PER_SEC);
        assert_int_equal(b->interval_usec, USEC_PER_HOUR);
}

static void test_load_ignores_other_files(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        /* None of these is read; each would be an error if it were. */
        free(write_file(directory, "conf.d/README", "this is not INI\n"));
        free(write_file(directory, "conf.d/.hidden.conf", "[Bogus]\nX=1\n"));
        free(write_file(directory, "conf.d/10-a.conf.disabled", "[Bogus]\nX=1\n"));
        free(write_file(directory, "conf.d/10-a.conf~", "[Bogus]\nX=1\n"));
        free(write_file(directory, "conf.d/.conf", "[Bogus]\nX=1\n"));
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(config_load(main_file, &config, &error), 0);
        assert_null(error);
        assert_int_equal(config->n_targets, 1);
}

static void test_load_dropin_error(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        free(write_file(directory, "conf.d/10-a.conf", "[Target a]\nInterval=1h\n"));
        _cleanup_free_ char *bad = write_file(directory, "conf.d/20-b.conf",
                                              "# fine\n[Target a]\nInterval=5 minutes\n");
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL, *expected = NULL;

        assert_int_equal(config_load(main_file, &config, &error), -EINVAL);
        assert_null(config);
        assert_true(asprintf(&expected, "%s:3: Interval: \"5 minutes\" is not a duration (try 5min)",
                             bad) > 0);
        assert_string_equal(error, expected);
}

static void test_load_without_conf_d(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(config_load(main_file, &config, &error), 0);
        assert_null(error);
        assert_int_equal(config->n_targets, 1);
}

static void test_load_missing_main(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = NULL, *expected = NULL, *error = NULL;
        Config *config = NULL;

        assert_true(asprintf(&main_file, "%s/nonexistent.conf", directory) > 0);
        assert_int_equal(config_load(main_file, &config, &error), -ENOENT);
        assert_null(config);
        assert_true(asprintf(&expected, "%s: cannot read: %s", main_file, strerror(ENOENT)) > 0);
        assert_string_equal(error, expected);
}

static void test_load_nul_byte(void **state) {
        const char *directory = *state;
        static const char data[] = "[Target a]\nAddress=a:1\0\n";
        _cleanup_free_ char *main_file = write_file_n(directory, "tlswatch.conf", data, sizeof(data) - 1);
        _cleanup_free_ char *expected = NULL, *error = NULL;
        Config *config = NULL;

        assert_true(config_load(main_file, &config, &error) < 0);
        assert_null(config);
        assert_true(asprintf(&expected, "%s: cannot read: it holds a NUL byte, not text", main_file) > 0);
        assert_string_equal(error, expected);
}

static void test_load_nul_byte_in_dropin(void **state) {
        const char *directory = *state;
        static const char data[] = "[Target b]\0\nAddress=b:1\n";
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        _cleanup_free_ char *dropin = write_file_n(directory, "conf.d/10-b.conf", data, sizeof(data) - 1);
        _cleanup_free_ char *expected = NULL, *error = NULL;
        Config *config = NULL;

        assert_true(config_load(main_file, &config, &error) < 0);
        assert_null(config);
        assert_true(asprintf(&expected, "%s: cannot read: it holds a NUL byte, not text", dropin) > 0);
        assert_string_equal(error, expected);
}

/* ---- SRV= and Vantage= ------------------------------------------------------------------------ */

static void test_srv_template(void **state) {
        Config *a = parse_ok("[Defaults]\nVantage=site-a\n[Target m]\nSRV=_Secure-MQTT._tcp.Example.COM.\n"
                             "Protocol=tls\n");
        const TargetConfig *t = find(a, "m");

        /* Lower case, no trailing dot; no address until expanded, and no protocol unless set. */
        assert_string_equal(t->srv_name, "_secure-mqtt._tcp.example.com");
        assert_null(t->probe.host);
        assert_string_equal(a->vantage, "site-a");

        Config *b = parse_ok("[Target m]\nSRV=_mqtt._tcp.example.com\nProtocol=tls\n");
        assert_false(target_config_equal(&a->targets[0], &b->targets[0]));
        config_free(b);
        b = parse_ok("[Target m]\nSRV=_secure-mqtt._tcp.example.com\nProtocol=tls\n");
        assert_true(target_config_equal(&a->targets[0], &b->targets[0]));
        assert_null(b->vantage);
        config_free(b);
        config_free(a);

        check_error("[Target m]\nSRV=_mqtt._tcp.example.com\nAddress=h:8883\n",
                    "t.conf:1: [Target m]: Address= and SRV= exclude each other: SRV= names the hosts and ports");
        check_error("[Target m]\nSRV=mqtt.example.com\n",
                    "t.conf:2: SRV: \"mqtt.example.com\" is not an SRV name such as _secure-mqtt._tcp.example.com");
        check_error("[Target m]\nSRV=_mqtt._tcp\n",
                    "t.conf:2: SRV: \"_mqtt._tcp\" is not an SRV name such as _secure-mqtt._tcp.example.com");
        check_error("[Defaults]\nSRV=_mqtt._tcp.example.com\n",
                    "t.conf:2: SRV= belongs in a [Target NAME] section, not [Defaults]");
        check_error("[Target m]\nVantage=x\n", "t.conf:2: Vantage= belongs in [Defaults], not in a target");
        check_error("[Defaults]\nVantage=a\"b\n",
                    "t.conf:2: Vantage: \"a\"b\" is not 1 to 128 bytes of UTF-8 without quotes or backslashes");
        check_error("[Webhook w]\nURL=https://example.com/\nVantageLabel=yes\n",
                    "t.conf:1: [Webhook w]: VantageLabel= is for Format=alertmanager only");
}

/* config_replace_target(): a template replaced by its expansion keeps every other target findable. */
static void test_replace_target(void **state) {
        Config *c = parse_ok("[Target a]\nAddress=a:8883\n[Target m]\nSRV=_mqtt._tcp.example.com\n"
                             "[Target z]\nAddress=z:8883\n");
        _cleanup_free_ char *error = NULL;
        TargetConfig insert[2] = {};

        insert[0].name = strdup("m/h1:8883");
        insert[1].name = strdup("m/h2:8883");
        assert_int_equal(config_replace_target(c, 1, insert, 2, &error), 0);
        assert_int_equal(c->n_targets, 4);
        assert_string_equal(c->targets[1].name, "m/h1:8883");
        assert_string_equal(c->targets[3].name, "z");
        assert_non_null(config_find_target(c, "m/h2:8883"));
        assert_non_null(config_find_target(c, "z"));
        assert_null(config_find_target(c, "m"));

        /* A name taken: refused, nothing changed. */
        TargetConfig taken[1] = { { .name = strdup("z"), .file = strdup("t.conf"), .line = 5 } };
        assert_int_equal(config_replace_target(c, 0, taken, 1, &error), -EEXIST);
        assert_string_equal(error, "t.conf:5: [Target a]: the target name \"z\" is taken");
        assert_int_equal(c->n_targets, 4);
        free(taken[0].name);
        free(taken[0].file);

        /* Replaced by nothing: the template is gone. */
        error = mfree(error);
        assert_int_equal(config_replace_target(c, 1, NULL, 0, &error), 0);
        assert_int_equal(c->n_targets, 3);
        assert_null(config_find_target(c, "m/h1:8883"));
        assert_non_null(config_find_target(c, "m/h2:8883"));
        config_free(c);
}

/* A drop-in that is a FIFO is refused at once, never opened for a blocking read (issue 19); one that is
 * a directory is named as one; a conf.d that is a file is an error, not silence. */
static void test_load_dropin_fifo(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        _cleanup_free_ char *dropin = NULL, *expected = NULL, *error = NULL;
        Config *config = NULL;

        assert_true(asprintf(&dropin, "%s/conf.d", directory) > 0);
        assert_int_equal(mkdir(dropin, 0700), 0);
        dropin = mfree(dropin);
        assert_true(asprintf(&dropin, "%s/conf.d/10-fifo.conf", directory) > 0);
        assert_int_equal(mkfifo(dropin, 0600), 0);
        assert_int_equal(config_load(main_file, &config, &error), -EBADFD);
        assert_null(config);
        assert_true(asprintf(&expected, "%s: cannot read: not a regular file (a FIFO, socket or device); refused, "
                                        "as reading it could block",
                             dropin) > 0);
        assert_string_equal(error, expected);
}

static void test_load_dropin_directory(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        _cleanup_free_ char *dropin = NULL, *expected = NULL, *error = NULL;
        Config *config = NULL;

        assert_true(asprintf(&dropin, "%s/conf.d", directory) > 0);
        assert_int_equal(mkdir(dropin, 0700), 0);
        dropin = mfree(dropin);
        assert_true(asprintf(&dropin, "%s/conf.d/x.conf", directory) > 0);
        assert_int_equal(mkdir(dropin, 0700), 0);
        assert_int_equal(config_load(main_file, &config, &error), -EISDIR);
        assert_null(config);
        assert_true(asprintf(&expected, "%s: cannot read: it is a directory, not a file", dropin) > 0);
        assert_string_equal(error, expected);
}

static void test_load_confd_not_directory(void **state) {
        const char *directory = *state;
        _cleanup_free_ char *main_file = write_file(directory, "tlswatch.conf", "[Target a]\nAddress=a:1\n");
        _cleanup_free_ char *confd = write_file(directory, "conf.d", "[Target b]\nAddress=b:1\n");
        _cleanup_free_ char *expected = NULL, *error = NULL;
        Config *config = NULL;

        assert_int_equal(config_load(main_file, &config, &error), -ENOTDIR);
        assert_null(config);
        assert_true(asprintf(&expected, "%s: cannot read the directory: it is not a directory (drop-ins go into a "
                                        "directory conf.d)",
                             confd) > 0);
        assert_string_equal(error, expected);
}

/* ---- target_config_equal ---------------------------------------------------------------------- */

static void test_target_config_equal(void **state) {
        static const char base[] = "[Target a]\nAddress=h:8883\nServerName=s\nCAFile=/ca\nInterval=1h\n";
        /* One change per key a target takes; the loop below fails when a key is missing here. */
        static const struct {
                const char *key;
                const char *lines;
        } changed[] = {
                { "Address", "Address=other:8883\n" },
                { "Address", "Address=h:8884\n" },
                { "Protocol", "Protocol=tls\n" },
                { "ServerName", "ServerName=t\n" },
                { "Path", "Path=/x\n" },
                { "CAFile", "CAFile=/cb\n" },
                { "ClientCertificate", "ClientCertificate=/c\nClientKey=/k\n" },
                { "ClientKey", "ClientCertificate=/c\nClientKey=/k2\n" },
                { "Interval", "Interval=2h\n" },
                { "RetryInterval", "RetryInterval=2min\n" },
                { "Timeout", "Timeout=11s\n" },
                { "RepeatInterval", "RepeatInterval=1h\n" },
                { "WarnDays", "WarnDays=31\n" },
                { "CritDays", "CritDays=8\n" },
                { "WarnLifetime", "WarnLifetime=40%\n" },
                { "CritLifetime", "CritLifetime=10%\n" },
                { "RenewalFloor", "RenewalFloor=2d\n" },
                { "ConfirmFailures", "ConfirmFailures=3\n" },
                { "ExpectStatus", "ExpectStatus=200\n" },
                { "CertFile", "CertFile=/cert.pem\n" },
                { "KeyFile", "CertFile=/cert.pem\nKeyFile=/key.pem\n" },
                { "CACertFile", "CACertFile=/cacert.pem\n" },
                { "MQTTVersion", "MQTTVersion=5\n" },
                { "MQTTClientId", "MQTTClientId=probe\n" },
                { "MQTTUsername", "MQTTUsername=u\n" },
                { "MQTTPasswordFile", "MQTTUsername=u\nMQTTPasswordFile=/p\n" },
                { "MQTTExpectAccept", "MQTTExpectAccept=yes\n" },
                { "Groups", "Groups=X25519\n" },
                { "NameOnlyInCN", "NameOnlyInCN=critical\n" },
                { "Revocation", "Revocation=crl\n" },
                { "PinSHA256", "PinSHA256=" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" },
                { "ExpectClientAuth", "ExpectClientAuth=yes\n" },
                /* Not with Address=: test_srv_template compares templates. */
                { "SRV", NULL },
        };
        const char *keys[64];
        size_t n_keys = config_target_keys(keys, ELEMENTSOF(keys));
        const char *missing = NULL;

        /* Every key is stored in a field that equality compares, and the field table covers the struct. */
        assert_int_equal(config_check_tables(&missing), 0);
        assert_true(n_keys <= ELEMENTSOF(keys));
        for (size_t k = 0; k < n_keys; k++) {
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(changed) && !found; i++)
                        found = strcmp(changed[i].key, keys[k]) == 0;
                if (!found)
                        fail_msg("no change of %s= is tested: add it to changed[]", keys[k]);
        }

        char text[512];
        Config *a, *b;

        a = parse_ok(base);
        /* The same settings elsewhere in the file (another line, a comment, [Defaults]) are equal. */
        b = parse_ok("# moved\n\n[Defaults]\nCAFile=/ca\n"
                     "[Target a]\nInterval=1h\nServerName=s\nAddress=h:8883\n");
        assert_true(target_config_equal(&a->targets[0], &b->targets[0]));
        assert_true(target_config_equal(&b->targets[0], &a->targets[0]));
        assert_true(target_config_equal(&a->targets[0], &a->targets[0]));
        config_free(b);

        for (size_t i = 0; i < ELEMENTSOF(changed); i++) {
                if (!changed[i].lines)
                        continue;
                snprintf(text, sizeof(text), "%s%s", base, changed[i].lines);
                b = parse_ok(text);
                if (target_config_equal(&a->targets[0], &b->targets[0]))
                        fail_msg("still equal after adding %s", changed[i].lines);
                config_free(b);

                /* The same key set in [Defaults] changes the target as much, unless the target sets it. */
                char own[64];
                snprintf(own, sizeof(own), "\n%s=", changed[i].key);
                if (strcmp(changed[i].key, "Address") == 0 || strstr(base, own))
                        continue;
                snprintf(text, sizeof(text), "[Defaults]\n%s%s", changed[i].lines, base);
                b = parse_ok(text);
                if (target_config_equal(&a->targets[0], &b->targets[0]))
                        fail_msg("still equal after [Defaults] %s", changed[i].lines);
                config_free(b);
        }

        /* Same settings, another name: another target. */
        b = parse_ok("[Target b]\nAddress=h:8883\nServerName=s\nCAFile=/ca\nInterval=1h\n");
        assert_false(target_config_equal(&a->targets[0], &b->targets[0]));
        config_free(b);
        config_free(a);
}

/* A test with its own temporary directory in *state, removed afterwards. */
#define directory_test(f) cmocka_unit_test_setup_teardown(f, setup_directory, teardown_directory)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_many_targets),
                cmocka_unit_test(test_protocol_names),
                cmocka_unit_test(test_address_forms),
                cmocka_unit_test(test_target_names),
                cmocka_unit_test(test_target_name_128_chars),
                cmocka_unit_test(test_long_target_names_distinct),
                cmocka_unit_test(test_later_value_wins),
                cmocka_unit_test(test_builtin_defaults),
                cmocka_unit_test(test_groups_and_name_only_in_cn),
                cmocka_unit_test(test_error_groups_and_name_only_in_cn),
                cmocka_unit_test(test_no_targets),
                cmocka_unit_test(test_protocol_by_port),
                cmocka_unit_test(test_days_zero_allowed),
                cmocka_unit_test(test_retry_interval_capped_by_interval),
                cmocka_unit_test(test_defaults_before_targets),
                cmocka_unit_test(test_defaults_after_targets),
                cmocka_unit_test(test_defaults_in_other_file),
                cmocka_unit_test(test_defaults_string_keys_copied),
                cmocka_unit_test(test_comments),
                cmocka_unit_test(test_value_with_semicolon_kept_whole),
                cmocka_unit_test(test_whitespace_and_crlf),
                cmocka_unit_test(test_error_duration),
                cmocka_unit_test(test_error_duration_maximum),
                cmocka_unit_test(test_expiry_keys),
                cmocka_unit_test(test_error_unknown_key),
                cmocka_unit_test(test_error_unknown_section),
                cmocka_unit_test(test_error_key_before_section),
                cmocka_unit_test(test_error_key_scope),
                cmocka_unit_test(test_error_target_name),
                cmocka_unit_test(test_error_target_name_too_long),
                cmocka_unit_test(test_error_address),
                cmocka_unit_test(test_error_paths),
                cmocka_unit_test(test_error_protocol),
                cmocka_unit_test(test_error_numbers),
                cmocka_unit_test(test_error_missing_address),
                cmocka_unit_test(test_error_missing_address_other_file),
                cmocka_unit_test(test_error_crit_exceeds_warn),
                cmocka_unit_test(test_error_client_pair),
                cmocka_unit_test(test_error_timeout_exceeds_interval),
                cmocka_unit_test(test_default_timeout_follows_short_interval),
                cmocka_unit_test(test_error_webhook),
                cmocka_unit_test(test_http_off_by_default),
                cmocka_unit_test(test_http_keys),
                cmocka_unit_test(test_error_http),
                cmocka_unit_test(test_webhook_alertmanager),
                cmocka_unit_test(test_error_line_without_equals),
                cmocka_unit_test(test_error_first_wins),
                cmocka_unit_test(test_error_long_line),
                cmocka_unit_test(test_line_of_300_chars_accepted),
                cmocka_unit_test(test_line_limit_boundary),
                cmocka_unit_test(test_empty_target_section_reported),
                cmocka_unit_test(test_empty_bad_sections_reported),
                directory_test(test_load_dropins),
                directory_test(test_load_dropin_defaults),
                directory_test(test_load_ignores_other_files),
                directory_test(test_load_dropin_error),
                directory_test(test_load_without_conf_d),
                directory_test(test_load_missing_main),
                directory_test(test_load_nul_byte),
                directory_test(test_load_nul_byte_in_dropin),
                directory_test(test_load_dropin_fifo),
                directory_test(test_load_dropin_directory),
                directory_test(test_load_confd_not_directory),
                cmocka_unit_test(test_target_config_equal),
                cmocka_unit_test(test_srv_template),
                cmocka_unit_test(test_replace_target),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
