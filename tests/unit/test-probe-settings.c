/* SPDX-License-Identifier: MIT */
/* ProbeSettings: the field table covers the struct (a member added without a row fails here), copy,
 * clear and equality follow the table, and the shared rules speak both vocabularies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "probe-settings.h"

static void test_table_covers_struct(void **state) {
        assert_true(field_table_covers(probe_settings_fields, PROBE_SETTINGS_N_FIELDS, sizeof(ProbeSettings)));
        /* A member hidden in padding escapes the coverage check; this size does not. A new member: add
         * its row to probe_settings_fields, then update the size here. */
        assert_int_equal(sizeof(ProbeSettings), 112);
}

static void test_table_detects_a_forgotten_member(void **state) {
        typedef struct Two {
                char *a;
                char *forgotten;
                int b;
        } Two;
        const Field fields[] = { FIELD_STRING_OF(Two, a), FIELD_PLAIN_OF(Two, b) };

        assert_false(field_table_covers(fields, ELEMENTSOF(fields), sizeof(Two)));
}

static ProbeSettings sample(void) {
        return (ProbeSettings) {
                .host = (char *) "broker.example.com",
                .port = 8883,
                .protocol = &protocol_mqtt,
                .server_name = (char *) "broker",
                .path = (char *) "/mqtt",
                .ca_file = (char *) "/ca.pem",
                .cert_file = (char *) "/c.pem",
                .key_file = (char *) "/k.pem",
                .timeout_usec = 10 * USEC_PER_SEC,
                .warn_days = 30,
                .crit_days = 7,
                .mqtt_version = 5,
                .mqtt_client_id = (char *) "id",
                .mqtt_username = (char *) "user",
                .mqtt_password_file = (char *) "/p",
                .mqtt_expect_accept = true,
                .http_expect_status = (char *) "2xx",
        };
}

static void test_copy_equal_clear(void **state) {
        ProbeSettings from = sample(), to = {};

        assert_int_equal(probe_settings_copy(&to, &from), 0);
        assert_true(probe_settings_equal(&to, &from));
        assert_ptr_not_equal(to.host, from.host); /* owned, not borrowed */

        /* Every field takes part in equality: change each in turn. */
        for (size_t i = 0; i < PROBE_SETTINGS_N_FIELDS; i++) {
                const Field *f = &probe_settings_fields[i];
                ProbeSettings other = {};
                uint8_t *p;

                assert_int_equal(probe_settings_copy(&other, &from), 0);
                p = (uint8_t *) &other + f->offset;
                if (f->kind == FIELD_STRING) {
                        free(*(char **) p);
                        *(char **) p = strdup("changed");
                } else
                        p[0] ^= 1;
                if (probe_settings_equal(&other, &from))
                        fail_msg("%s is not compared", f->name);
                if (f->kind == FIELD_PLAIN)
                        p[0] ^= 1;
                probe_settings_clear(&other);
        }

        probe_settings_clear(&to);
        assert_null(to.host);
        assert_int_equal(to.port, 0);
        probe_settings_clear(&to); /* twice is harmless */
}

static void expect_invalid(const ProbeSettings *s, ProbeSettingsNames names, const char *expected) {
        char *error = NULL;

        assert_int_equal(probe_settings_validate(s, names, &error), -EINVAL);
        assert_non_null(error);
        assert_string_equal(error, expected);
        free(error);
}

static void test_validate(void **state) {
        ProbeSettings s = sample();
        char *error = NULL;

        assert_int_equal(probe_settings_validate(&s, PROBE_SETTINGS_NAMES_CONFIG, &error), 0);
        assert_null(error);

        s.crit_days = 40;
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG, "CritDays=40 must not exceed WarnDays=30");
        expect_invalid(&s, PROBE_SETTINGS_NAMES_OPTIONS, "--crit-days (40) must not exceed --warn-days (30)");
        s = sample();
        s.key_file = NULL;
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG, "ClientCertificate= and ClientKey= go together");
        expect_invalid(&s, PROBE_SETTINGS_NAMES_OPTIONS, "--cert and --key go together");
        s = sample();
        s.mqtt_username = NULL;
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG, "MQTTPasswordFile= needs MQTTUsername=");
        expect_invalid(&s, PROBE_SETTINGS_NAMES_OPTIONS, "--password-file needs --username");
        s = sample();
        s.mqtt_version = 3;
        expect_invalid(&s, PROBE_SETTINGS_NAMES_OPTIONS, "--mqtt-version: 3 is not an MQTT version (3.1.1 or 5)");
        s = sample();
        s.path = (char *) "x";
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG,
                       "\"x\" is not a request path (it starts with '/', without blanks)");
        s = sample();
        s.http_expect_status = (char *) "abc";
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG, "\"abc\" is not a list of statuses like \"200\" or \"2xx 301\"");
        s = sample();
        s.host = NULL;
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG, "the target has no host name or address");
}

static void test_value_checks(void **state) {
        const char *reason = NULL;
        int version = 0;

        assert_int_equal(probe_settings_parse_mqtt_version("3.1.1", &version, &reason), 0);
        assert_int_equal(version, 4);
        assert_int_equal(probe_settings_parse_mqtt_version("5.0", &version, &reason), 0);
        assert_int_equal(version, 5);
        assert_int_equal(probe_settings_parse_mqtt_version("3", &version, &reason), -EINVAL);
        assert_non_null(reason);
        assert_int_equal(probe_settings_check_path("/a", &reason), 0);
        assert_int_equal(probe_settings_check_path("/a b", &reason), -EINVAL);
        assert_int_equal(probe_settings_check_expect_status("2xx 301", &reason), 0);
        assert_int_equal(probe_settings_check_expect_status("", &reason), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_covers_struct),
                cmocka_unit_test(test_table_detects_a_forgotten_member),
                cmocka_unit_test(test_copy_equal_clear),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_value_checks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
