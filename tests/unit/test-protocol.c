/* SPDX-License-Identifier: MIT */
/* protocol_table[]: the look-ups, and the documents that spell the list of protocols where the code
 * cannot reach (bash completion, the man pages, the README, the shipped configuration) checked
 * against it, so a row added to the table without its words fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "file-util.h"
#include "protocol.h"

static void test_lookups(void **state) {
        size_t n = 0;

        for (const Protocol *const *p = protocol_table; *p; p++, n++) {
                assert_ptr_equal(protocol_from_string((*p)->name), *p);
                assert_string_equal(protocol_to_string(*p), (*p)->name);
                /* A protocol that says something after the handshake can also hear and judge the answer. */
                if ((*p)->start) {
                        assert_non_null((*p)->advance);
                        assert_non_null((*p)->closed);
                        assert_true((*p)->input_max > 0);
                }
                for (size_t i = 0; i < PROTOCOL_PORTS_MAX && (*p)->ports[i]; i++)
                        assert_ptr_equal(protocol_default_for_port((*p)->ports[i]), *p);
        }
        assert_int_equal(n, 4);
        assert_null(protocol_from_string("stomp"));
        assert_null(protocol_from_string(NULL));
        assert_null(protocol_to_string(NULL));

        assert_ptr_equal(protocol_default_for_port(8883), &protocol_mqtt);
        assert_ptr_equal(protocol_default_for_port(8084), &protocol_wss);
        assert_ptr_equal(protocol_default_for_port(18084), &protocol_https);
        assert_ptr_equal(protocol_default_for_port(443), &protocol_https);
        assert_ptr_equal(protocol_default_for_port(8443), &protocol_tls);
}

static void test_names(void **state) {
        char names[PROTOCOL_NAMES_MAX], small[8];

        assert_int_equal(protocol_names(", ", names, sizeof(names)), strlen("tls, mqtt, wss, https"));
        assert_string_equal(names, "tls, mqtt, wss, https");
        assert_int_equal(protocol_names("|", small, sizeof(small)), strlen("tls|mqtt|wss|https"));
        assert_string_equal(small, "tls|mqt"); /* cut, terminated */
        (void) protocol_port_names(names, sizeof(names));
        assert_string_equal(names, "8883 mqtt, 8084 wss, 18084/443 https");
}

static void expect_in_file(const char *relative, const char *prefix, const char *separator,
                           const char *suffix) {
        _cleanup_free_ char *text = NULL;
        char path[4096], names[PROTOCOL_NAMES_MAX], line[PROTOCOL_NAMES_MAX * 2];

        snprintf(path, sizeof(path), "%s/%s", TOP_SRCDIR, relative);
        assert_int_equal(read_full_file(path, 1024 * 1024, &text), 0);
        (void) protocol_names(separator, names, sizeof(names));
        snprintf(line, sizeof(line), "%s%s%s", prefix, names, suffix);
        if (!strstr(text, line))
                fail_msg("%s does not say \"%s\": list the protocols of protocol_table[] there", relative,
                         line);
}

static void test_documents_match_the_table(void **state) {
        char ports[PROTOCOL_NAMES_MAX], line[PROTOCOL_NAMES_MAX * 2];

        expect_in_file("shell-completion/bash/tlswatchctl", "compgen -W \"", " ", "\"");
        expect_in_file("man/tlswatch.conf.5", ".BR Protocol= ", " | ", "\n");
        expect_in_file("man/tlswatchctl.1", ".BR \\-\\-protocol \" \" ", " | ", "\n");
        expect_in_file("README.md", "  --protocol ", "|", " ");

        /* The shipped configuration names the ports that imply each protocol. */
        (void) protocol_port_names(ports, sizeof(ports));
        for (char *slash; (slash = strchr(ports, '/'));) { /* "18084/443" reads "18084 and 443" there */
                memmove(slash + 5, slash + 1, strlen(slash + 1) + 1);
                memcpy(slash, " and ", 5);
        }
        snprintf(line, sizeof(line), "(by port: %s, else %s)", ports, protocol_table[0]->name);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(read_full_file(TOP_SRCDIR "/etc/tlswatch.conf", 1024 * 1024, &text), 0);
        if (!strstr(text, line))
                fail_msg("etc/tlswatch.conf does not say \"%s\"", line);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookups),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_documents_match_the_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
