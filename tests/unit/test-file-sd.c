/* SPDX-License-Identifier: MIT */
/* The pure parts of TargetsFile= and Shard=: Prometheus file_sd JSON and YAML into targets (the label
 * convention, names, every error with its file and position), config_add_target() through the key
 * table and [Defaults], and the shard hash's exact values (FNV-1a 64), which other tools reproduce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "file-sd.h"
#include "target-source.h"

static void parse(FileSdFormat format, const char *text, int expected_r, FileSdList *ret,
                  const char *expected_error) {
        char *error = NULL;
        int r = file_sd_parse(format == FILE_SD_JSON ? "/sd/t.json" : "/sd/t.yml", format, text,
                              strlen(text), ret, &error);
        if (r != expected_r)
                print_error("unexpected: %d %s\n", r, error ?: "");
        assert_int_equal(r, expected_r);
        if (expected_error)
                assert_string_equal(error, expected_error);
        free(error);
}

static const char *setting(const FileSdTarget *t, const char *key) {
        for (size_t i = 0; i < t->n_settings; i++)
                if (strcmp(t->settings[i].key, key) == 0)
                        return t->settings[i].value;
        return NULL;
}

static void test_json(void **state) {
        FileSdList list = {};

        parse(FILE_SD_JSON,
              "[{\"targets\": [\"a.example:8883\", \"[::1]:8884\"], \"labels\": {\"__tlswatch_protocol\": "
              "\"mqtts\", "
              "\"__tlswatch_ca_file\": \"/etc/ca.pem\", \"__tlswatch_SERVER_NAME\": \"b.example\", \"env\": "
              "\"prod\", "
              "\"__meta_x\": \"y\"}},\n {\"targets\": [\"c:1\"], \"labels\": {\"__tlswatch_name\": "
              "\"cee\"}},\n"
              " {\"targets\": []}]",
              0, &list, NULL);
        assert_int_equal(list.n, 3);
        assert_string_equal(list.targets[0].name, "a.example:8883");
        assert_string_equal(list.targets[1].name, "::1:8884");
        assert_string_equal(list.targets[2].name, "cee");
        assert_string_equal(setting(&list.targets[0], "Address"), "a.example:8883");
        assert_string_equal(setting(&list.targets[1], "Address"), "[::1]:8884");
        assert_string_equal(setting(&list.targets[0], "Protocol"), "mqtts");
        assert_string_equal(setting(&list.targets[0], "CAFile"), "/etc/ca.pem");
        assert_string_equal(setting(&list.targets[0], "ServerName"), "b.example");
        assert_int_equal(list.targets[0].n_settings, 4); /* plain and other __ labels are not settings */
        assert_int_equal(list.targets[2].n_settings, 1);
        assert_int_equal(list.targets[2].group, 2);
        file_sd_list_clear(&list);

        parse(FILE_SD_JSON, "[{\"targets\": [\"a:1\"]},\n {\"targets\": [\"b:1\"", -EINVAL, &list,
              "/sd/t.json:2:19: ']' expected near end of file");
        parse(FILE_SD_JSON, "{}", -EINVAL, &list,
              "/sd/t.json: not a list of groups ([{\"targets\": [...], \"labels\": {...}}])");
        parse(FILE_SD_JSON, "[{\"targets\": [\"a:1\"], \"labels\": {\"__tlswatch_colour\": \"red\"}}]",
              -EINVAL, &list, "/sd/t.json: group 1: label \"__tlswatch_colour\" names no [Target] key");
        parse(FILE_SD_JSON, "[{\"targets\": [\"a:1\"], \"labels\": {\"__tlswatch_address\": \"b:2\"}}]",
              -EINVAL, &list,
              "/sd/t.json: group 1: label \"__tlswatch_address\": the address is the target itself");
        parse(FILE_SD_JSON, "[{\"targets\": [\"a:1\", \"b:1\"], \"labels\": {\"__tlswatch_name\": \"x\"}}]",
              -EINVAL, &list,
              "/sd/t.json: group 1: label \"__tlswatch_name\" names one target, and the group lists 2");
        parse(FILE_SD_JSON, "[{\"targets\": [1]}]", -EINVAL, &list,
              "/sd/t.json: group 1: target 1 is not a \"host:port\" string");
        parse(FILE_SD_JSON, "[{\"target\": [\"a:1\"]}]", -EINVAL, &list,
              "/sd/t.json: group 1: unknown member \"target\" (a group has \"targets\" and \"labels\")");
        parse(FILE_SD_JSON, "[{\"targets\": [\"a:1\"], \"labels\": {\"env\": 3}}]", -EINVAL, &list,
              "/sd/t.json: group 1: label \"env\": the value is not a string of at most 4096 bytes");
}

static void test_yaml(void **state) {
        FileSdList list = {};

        parse(FILE_SD_YAML,
              "# a comment\n- targets: ['a:8883', b:8884]\n  labels:\n    __tlswatch_protocol: mqtts\n"
              "    __tlswatch_interval: 30s\n- targets:\n  - c:1\n",
              0, &list, NULL);
        assert_int_equal(list.n, 3);
        assert_string_equal(list.targets[1].name, "b:8884");
        assert_string_equal(setting(&list.targets[1], "Interval"), "30s");
        assert_int_equal(list.targets[0].line, 2);
        assert_int_equal(list.targets[2].line, 6);
        file_sd_list_clear(&list);

        parse(FILE_SD_YAML, "", 0, &list, NULL); /* an empty file has no groups */
        assert_int_equal(list.n, 0);
        parse(FILE_SD_YAML, "- targets: [a:1\n  labels: {}\n", -EINVAL, &list,
              "/sd/t.yml:2:9: did not find expected ',' or ']' while parsing a flow sequence");
        parse(FILE_SD_YAML, "- targets: [a:1]\n  labels:\n    __tlswatch_nope: x\n", -EINVAL, &list,
              "/sd/t.yml:1: group 1: label \"__tlswatch_nope\" names no [Target] key");
        /* A billion laughs: aliases expand past the cap, and the file is refused. */
        parse(FILE_SD_YAML,
              "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
              "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, "
              "*c]\n"
              "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, "
              "*e]\n",
              -EINVAL, &list, "/sd/t.yml: the document expands to more than 400000 nodes");
}

static void test_format(void **state) {
        assert_int_equal(file_sd_format_from_path("/a/b.json"), FILE_SD_JSON);
        assert_int_equal(file_sd_format_from_path("/a/b.yml"), FILE_SD_YAML);
        assert_int_equal(file_sd_format_from_path("/a/b.yaml"), FILE_SD_YAML);
        assert_true(file_sd_format_from_path("/a/b.json~") < 0);
}

/* The values another tool must reproduce: FNV-1a 64 of the name's bytes. */
static void test_shard_hash(void **state) {
        assert_true(target_sources_shard_hash("") == UINT64_C(0xcbf29ce484222325));
        assert_true(target_sources_shard_hash("a") == UINT64_C(0xaf63dc4c8601ec8c));
        assert_true(target_sources_shard_hash("foobar") == UINT64_C(0x85944171f73967e8));
}

static void test_add_target(void **state) {
        Config *config = NULL;
        char *error = NULL;

        assert_int_equal(config_new(&config), 0);
        assert_int_equal(config_parse_text(config, "t.conf",
                                           "[Defaults]\nInterval=1min\nProtocol=tls\n"
                                           "[Target one]\nAddress=a:1\n",
                                           &error),
                         0);
        assert_int_equal(config_finish(config, &error), 0);

        const ConfigSetting good[] = { { "Address", "b:2" }, { "ServerName", "b.example" } };
        assert_int_equal(config_add_target(config, "b:2", "/sd/t.json", 3, good, 2, &error), 0);
        const TargetConfig *t = config_find_target(config, "b:2");
        assert_non_null(t);
        assert_string_equal(t->probe.server_name, "b.example");
        assert_int_equal(t->interval_usec, 60 * USEC_PER_SEC); /* from [Defaults] */
        assert_string_equal(t->file, "/sd/t.json");

        assert_int_equal(config_add_target(config, "one", "/sd/t.json", 4, good, 1, &error), -EINVAL);
        assert_string_equal(
                error, "/sd/t.json:4: [Target one]: the target name is taken (by [Target one] in t.conf:4)");
        free(error);
        const ConfigSetting bad[] = { { "Address", "c:3" }, { "Timeout", "5min" } };
        assert_int_equal(config_add_target(config, "c", "/sd/t.json", 5, bad, 2, &error), -EINVAL);
        assert_string_equal(error, "/sd/t.json:5: [Target c]: Timeout= must not exceed Interval=");
        free(error);
        const ConfigSetting unknown[] = { { "Address", "c:3" }, { "Protocl", "tls" } };
        assert_int_equal(config_add_target(config, "c", "/sd/t.json", 6, unknown, 2, &error), -EINVAL);
        assert_string_equal(error, "/sd/t.json:6: [Target c]: unknown target key \"Protocl\"");
        free(error);
        assert_int_equal(config->n_targets, 2);
        assert_null(config_find_target(config, "c"));
        config_free(config);
}

static void test_shard_config(void **state) {
        Config *config = NULL;
        char *error = NULL;

        assert_int_equal(config_new(&config), 0);
        assert_int_equal(config_parse_text(config, "t.conf",
                                           "[Defaults]\nShard=1/3\nTargetsFile=/sd/*.json\n", &error),
                         0);
        assert_int_equal(config->shard.index, 1);
        assert_int_equal(config->shard.count, 3);
        assert_int_equal(config->targets_files.n, 1);
        config_free(config);
        static const char *const wrong[] = { "Shard=3/3",
                                             "Shard=1",
                                             "Shard=/2",
                                             "Shard=0/0",
                                             "TargetsFile=sd/*.json",
                                             "TargetsFile=/sd/*/t.json",
                                             "TargetsFile=/sd/" };
        for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
                char text[128];
                snprintf(text, sizeof(text), "[Defaults]\n%s\n", wrong[i]);
                assert_int_equal(config_new(&config), 0);
                assert_int_equal(config_parse_text(config, "t.conf", text, &error), -EINVAL);
                assert_non_null(strstr(error, "t.conf:2: "));
                free(error);
                config_free(config);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json),       cmocka_unit_test(test_yaml),
                cmocka_unit_test(test_format),     cmocka_unit_test(test_shard_hash),
                cmocka_unit_test(test_add_target), cmocka_unit_test(test_shard_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
