/* SPDX-License-Identifier: MIT */
/* The broker configuration readers of discover and the HOCON subset reader under them, on text handed
 * in through an in-memory file system: include_dir order, per-listener settings, EMQX 4 and 5 keys,
 * HOCON merging, includes, layers, and errors that name file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-config.h"
#include "hocon.h"
#include "macro.h"

typedef struct File {
        const char *path;
        const char *text; /* NULL: a directory */
} File;

static const File *fs;

static int fs_read(void *userdata, const char *path, char **ret) {
        (void) userdata;
        for (const File *f = fs; f->path; f++)
                if (strcmp(f->path, path) == 0) {
                        if (!f->text)
                                return -EISDIR;
                        *ret = strdup(f->text);
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENOENT;
}

static int fs_list(void *userdata, const char *dir, char ***ret, size_t *ret_n) {
        size_t n = 0, m = strlen(dir);
        char **names = calloc(64, sizeof(char *));
        (void) userdata;
        bool found = false;
        for (const File *f = fs; f->path; f++) {
                if (strcmp(f->path, dir) == 0 && !f->text)
                        found = true;
                if (strncmp(f->path, dir, m) == 0 && f->path[m] == '/' && !strchr(f->path + m + 1, '/'))
                        names[n++] = strdup(f->path + m + 1);
        }
        if (!found) {
                free(names);
                return -ENOENT;
        }
        *ret = names;
        *ret_n = n;
        return 0;
}

static const BrokerFiles files = { .read = fs_read, .list = fs_list };

static BrokerListener *find(BrokerListeners *ls, const char *name) {
        for (size_t i = 0; i < ls->n; i++)
                if (strcmp(ls->items[i].name, name) == 0)
                        return &ls->items[i];
        return NULL;
}

static void test_mosquitto_include_dir(void **state) {
        static const File tree[] = {
                { "/etc/mosquitto/mosquitto.conf", "pid_file /run/mosquitto/mosquitto.pid\n"
                                                   "include_dir /etc/mosquitto/conf.d\n" },
                { "/etc/mosquitto/conf.d", NULL },
                { "/etc/mosquitto/conf.d/b.conf",
                  "listener 8883 0.0.0.0\ncertfile /b.pem\nkeyfile /b.key\n" },
                { "/etc/mosquitto/conf.d/A.conf", "listener 8883 ::\ncertfile /a.pem\n" },
                { "/etc/mosquitto/conf.d/a.conf",
                  "listener 8084 192.0.2.1\nprotocol websockets\ncertfile /ws.pem\ncafile /ca.pem\n"
                  "require_certificate true\n" },
                { "/etc/mosquitto/conf.d/README", "listener 1\ncertfile /x\n" },
                { "/etc/mosquitto/conf.d/00.conf",
                  "listener 1883\n# include_dir /elsewhere\ninclude_dir /nope\n" },
                {},
        };
        BrokerListeners ls = {};
        char *error = NULL;
        (void) state;

        fs = tree;
        assert_int_equal(
                broker_read(BROKER_MOSQUITTO, "/etc/mosquitto/mosquitto.conf", &files, NULL, &ls, &error),
                0);
        broker_listeners_name(&ls);
        assert_int_equal(ls.n, 4);
        /* 00.conf, A.conf, a.conf, b.conf: mosquitto's order; README is not *.conf. */
        assert_string_equal(ls.items[0].name, "mosquitto-mqtts-1883");
        assert_string_equal(ls.items[1].name, "mosquitto-mqtts-8883");
        assert_string_equal(ls.items[1].certfile, "/a.pem");
        assert_string_equal(ls.items[1].host, "");
        assert_string_equal(ls.items[2].name, "mosquitto-wss-8084");
        assert_string_equal(ls.items[2].host, "192.0.2.1");
        assert_string_equal(ls.items[2].protocol, "wss");
        assert_true(ls.items[2].client_certificate_required);
        assert_string_equal(ls.items[2].cacertfile, "/ca.pem");
        assert_string_equal(ls.items[3].name, "mosquitto-mqtts-8883-2");
        assert_string_equal(ls.items[3].keyfile, "/b.key");
        assert_string_equal(ls.items[3].source, "/etc/mosquitto/conf.d/b.conf:1");

        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        assert_int_equal(broker_format(&ls, "broker.example", f), 3);
        fclose(f);
        assert_non_null(strstr(out, "[Target mosquitto-mqtts-8883]\n# bound to every address: probed as "
                                    "broker.example\nAddress=broker.example:8883\n"));
        assert_non_null(strstr(out, "Address=192.0.2.1:8084\nProtocol=wss\n"));
        assert_null(strstr(out, "1883"));
        free(out);
        broker_listeners_done(&ls);
        free(error);
}

static void test_mosquitto_errors(void **state) {
        static const File tree[] = {
                { "/m.conf", "user root\nlistener 88x3\n" },
                { "/n.conf", "include_dir /missing\n" },
                {},
        };
        BrokerListeners ls = {};
        char *error = NULL;
        (void) state;

        fs = tree;
        assert_int_equal(broker_read(BROKER_MOSQUITTO, "/m.conf", &files, NULL, &ls, &error), -EINVAL);
        assert_string_equal(error, "/m.conf:2: listener: \"88x3\" is not a port");
        free(error);
        assert_int_equal(broker_read(BROKER_MOSQUITTO, "/n.conf", &files, NULL, &ls, &error), -ENOENT);
        assert_non_null(strstr(error, "/n.conf:1: include_dir /missing"));
        free(error);
        broker_listeners_done(&ls);
}

static void test_compare(void **state) {
        (void) state;
        assert_true(broker_mosquitto_compare("00.conf", "01.conf") < 0);
        assert_true(broker_mosquitto_compare("A.conf", "a.conf") < 0);
        assert_true(broker_mosquitto_compare("a.conf", "B.conf") < 0);
        assert_true(broker_mosquitto_compare("B.conf", "b.conf") < 0);
        assert_int_equal(broker_mosquitto_compare("x", "x"), 0);
}

static void test_hocon(void **state) {
        static const char text[] = "# comment\n"
                                   "a { b = 1, c: \"x\\ty\" // trailing\n"
                                   "  d.e = ${FOO}/f }\n"
                                   "a.b = 2\n"
                                   "g = [1, {h = 2}, \"]\"]\n"
                                   "a { c = \"\"\"tri\nple\"\"\" }\n"
                                   "i = null\n"
                                   "j = {k = 1}\nj = 5\n"
                                   "l = 5\nl.m = 6\n"
                                   "u = \"\\u0041\\u00e9\"\n";
        HoconDocument doc = {};
        char *error = NULL;
        (void) state;

        assert_int_equal(hocon_parse(&doc, text, "t.conf", NULL, NULL, &error), 0);
        assert_string_equal(hocon_get_value(&doc, "a.b"), "2");
        assert_string_equal(hocon_get_value(&doc, "a.c"), "tri\nple");
        assert_string_equal(hocon_get_value(&doc, "a.d.e"), "${FOO}/f");
        assert_string_equal(hocon_get(&doc, "a.d.e")->source, "t.conf:3");
        assert_null(hocon_get_value(&doc, "g"));
        assert_null(hocon_get_value(&doc, "i"));
        assert_non_null(hocon_get(&doc, "i"));
        assert_null(hocon_get(&doc, "j.k"));
        assert_string_equal(hocon_get_value(&doc, "j"), "5");
        assert_null(hocon_get(&doc, "l"));
        assert_string_equal(hocon_get_value(&doc, "l.m"), "6");
        assert_string_equal(hocon_get_value(&doc, "u"), "A\xc3\xa9");
        hocon_document_done(&doc);

        static const struct {
                const char *text, *error;
        } bad[] = {
                { "a {\n b = 1\n", "b.conf:1: '{' is not closed" },
                { "a = \"x\n", "b.conf:1: a quoted string is not closed on its line" },
                { "\n\na b = 1\n", "b.conf:3: \"a\": '=', ':' or '{' expected" },
                { "a = 1 }\n", "b.conf:1: '}' without a '{'" },
                { "a = [1, 2\n", "b.conf:1: '[' is not closed" },
                { "include \"x.conf\"\n", "b.conf:1: include \"x.conf\": includes are not read here" },
                { "a = \"\\q\"", "b.conf:1: \"\\q\" is not an escape HOCON knows" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(hocon_parse(&doc, bad[i].text, "b.conf", NULL, NULL, &error), -EINVAL);
                assert_string_equal(error, bad[i].error);
                free(error);
                hocon_document_done(&doc);
        }
}

static void test_emqx4(void **state) {
        static const File tree[] = {
                { "/opt/emqx/etc/emqx.conf", "listener.tcp.external = 0.0.0.0:1883\n"
                                             "listener.ssl.external = 0.0.0.0:8883\n"
                                             "listener.ssl.external.certfile = etc/certs/cert.pem\n"
                                             "listener.ssl.external.cacertfile = /c/ca.pem\n"
                                             "listener.ssl.external.verify = verify_peer\n"
                                             "listener.ssl.external.fail_if_no_peer_cert = true\n"
                                             "listener.wss.external = 8084\n"
                                             "listener.wss.external.mqtt_path = /ws\n"
                                             "listener.wss.external.certfile = /c/cert.pem\n"
                                             "plugins.etc_dir = etc/plugins/\n" },
                { "/opt/emqx/etc/plugins/emqx_dashboard.conf",
                  "dashboard.listener.https = 18084\n"
                  "dashboard.listener.https.certfile = /c/d.pem\n" },
                {},
        };
        BrokerListeners ls = {};
        char *error = NULL;
        (void) state;

        fs = tree;
        assert_int_equal(broker_emqx_kind(tree[0].text), BROKER_EMQX4);
        assert_int_equal(broker_read(BROKER_EMQX4, tree[0].path, &files, NULL, &ls, &error), 0);
        assert_int_equal(ls.n, 3);
        BrokerListener *l = find(&ls, "emqx-mqtts-external");
        assert_non_null(l);
        assert_int_equal(l->port, 8883);
        assert_string_equal(l->certfile, "/opt/emqx/etc/certs/cert.pem");
        assert_true(l->client_certificate_required);
        assert_string_equal(l->source, "/opt/emqx/etc/emqx.conf:2");
        l = find(&ls, "emqx-wss-external");
        assert_non_null(l);
        assert_string_equal(l->path, "/ws");
        l = find(&ls, "emqx-https-dashboard");
        assert_non_null(l);
        assert_int_equal(l->port, 18084);
        assert_string_equal(l->certfile, "/c/d.pem");
        broker_listeners_done(&ls);
}

static void test_emqx5(void **state) {
        static const File tree[] = {
                { "/opt/emqx/etc/emqx.conf",
                  "node { name = \"emqx@127.0.0.1\", data_dir = \"data\" }\n"
                  "include \"listeners.hocon\"\n"
                  "listeners.wss.default.enabled = false\n"
                  "dashboard.listeners.https { bind = 18084\n"
                  "  ssl_options { certfile = \"${EMQX_ETC_DIR}/certs/d.pem\" } }\n" },
                { "/opt/emqx/etc/listeners.hocon",
                  "listeners {\n"
                  "  ssl.default { bind = \"[::]:8883\" }\n"
                  "  wss.ws2 { bind = \"127.0.0.1:8085\", websocket.mqtt_path = \"/ws\"\n"
                  "    ssl_options { certfile = \"/c/ws.pem\", verify = verify_peer, fail_if_no_peer_cert = "
                  "true } }\n"
                  "}\n" },
                { "/opt/emqx/etc/base.hocon",
                  "listeners.ssl.base { bind = 9883, ssl_options.certfile = /c/b.pem }\n" },
                { "/opt/emqx/data/configs/cluster.hocon", "listeners.ssl.default.bind = \"0.0.0.0:7883\"\n"
                                                          "listeners.ssl.base.enabled = false\n" },
                {},
        };
        BrokerListeners ls = {};
        char *error = NULL;
        (void) state;

        fs = tree;
        assert_int_equal(broker_emqx_kind(tree[0].text), BROKER_EMQX5);
        assert_int_equal(broker_read(BROKER_EMQX5, tree[0].path, &files, NULL, &ls, &error), 0);
        /* emqx.conf's bind wins over cluster.hocon's; cluster.hocon disables base.hocon's listener. */
        BrokerListener *l = find(&ls, "emqx-mqtts-default");
        assert_non_null(l);
        assert_int_equal(l->port, 8883);
        assert_string_equal(l->host, "");
        assert_string_equal(l->certfile, "/opt/emqx/etc/certs/cert.pem");
        assert_string_equal(l->source, "/opt/emqx/etc/listeners.hocon:2");
        l = find(&ls, "emqx-mqtts-base");
        assert_non_null(l);
        assert_true(l->disabled);
        l = find(&ls, "emqx-wss-default");
        assert_non_null(l);
        assert_true(l->disabled);
        l = find(&ls, "emqx-wss-ws2");
        assert_non_null(l);
        assert_string_equal(l->path, "/ws");
        assert_string_equal(l->host, "127.0.0.1");
        assert_true(l->client_certificate_required);
        l = find(&ls, "emqx-https-dashboard");
        assert_non_null(l);
        assert_string_equal(l->certfile, "/opt/emqx/etc/certs/d.pem");
        broker_listeners_done(&ls);

        /* --etc-dir names ${EMQX_ETC_DIR}; an error in an include names its file and line. */
        static const File broken[] = {
                { "/x/emqx.conf", "include \"more.hocon\"\n" },
                { "/x/more.hocon", "\nlisteners.ssl.a { bind = 1\n" },
                {},
        };
        fs = broken;
        assert_int_equal(broker_read(BROKER_EMQX5, "/x/emqx.conf", &files, NULL, &ls, &error), -EINVAL);
        assert_string_equal(error, "/x/more.hocon:2: '{' is not closed");
        free(error);
        broker_listeners_done(&ls);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mosquitto_include_dir),
                cmocka_unit_test(test_mosquitto_errors),
                cmocka_unit_test(test_compare),
                cmocka_unit_test(test_hocon),
                cmocka_unit_test(test_emqx4),
                cmocka_unit_test(test_emqx5),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
