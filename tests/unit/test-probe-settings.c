/* SPDX-License-Identifier: MIT */
/* ProbeSettings: the field table covers the struct (a member added without a row fails here), copy,
 * clear and equality follow the table, and the shared rules speak both vocabularies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/opensslv.h>

#include "probe-settings.h"

static void test_table_covers_struct(void **state) {
        assert_true(
                field_table_covers(probe_settings_fields, PROBE_SETTINGS_N_FIELDS, sizeof(ProbeSettings)));
        /* A member hidden in padding escapes the coverage check; this size does not. A new member: add
         * its row to probe_settings_fields, then update the size here. */
        assert_int_equal(sizeof(ProbeSettings), 160);
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
        return (ProbeSettings){
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
                .groups = (char *) "X25519:P-256",
                .name_only_in_cn = SEVERITY_CHOICE_CRITICAL,
                .revocation = REVOCATION_MODE_CRL,
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
        expect_invalid(&s, PROBE_SETTINGS_NAMES_OPTIONS,
                       "--crit-days (40) must not exceed --warn-days (30)");
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
        expect_invalid(&s, PROBE_SETTINGS_NAMES_OPTIONS,
                       "--mqtt-version: 3 is not an MQTT version (3.1.1 or 5)");
        s = sample();
        s.path = (char *) "x";
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG,
                       "\"x\" is not a request path (it starts with '/', without blanks)");
        s = sample();
        s.http_expect_status = (char *) "abc";
        expect_invalid(&s, PROBE_SETTINGS_NAMES_CONFIG,
                       "\"abc\" is not a list of statuses like \"200\" or \"2xx 301\"");
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

static void test_severity(void **state) {
        SeverityChoice choice = SEVERITY_CHOICE_DEFAULT;
        const char *reason = NULL;

        assert_int_equal(probe_settings_parse_severity("note", &choice, &reason), 0);
        assert_int_equal(choice, SEVERITY_CHOICE_NOTE);
        assert_int_equal(probe_settings_parse_severity("critical", &choice, &reason), 0);
        assert_int_equal(choice, SEVERITY_CHOICE_CRITICAL);
        assert_int_equal(probe_settings_parse_severity("warning", &choice, &reason), 0);
        assert_int_equal(choice, SEVERITY_CHOICE_WARNING);
        /* "default" is the zero value's name, not a choice one writes. */
        assert_int_equal(probe_settings_parse_severity("default", &choice, &reason), -EINVAL);
        assert_string_equal(reason, "is not one of note, warning, critical");
        assert_int_equal(probe_settings_parse_severity("Warning", &choice, &reason), -EINVAL);
        assert_int_equal(probe_settings_parse_severity("", &choice, &reason), -EINVAL);
        assert_int_equal(choice, SEVERITY_CHOICE_WARNING);

        assert_int_equal(severity_choice_apply(SEVERITY_CHOICE_DEFAULT, STATUS_WARNING), STATUS_WARNING);
        assert_int_equal(severity_choice_apply(SEVERITY_CHOICE_NOTE, STATUS_WARNING), STATUS_OK);
        assert_int_equal(severity_choice_apply(SEVERITY_CHOICE_CRITICAL, STATUS_WARNING), STATUS_CRITICAL);
        assert_int_equal(severity_choice_apply(_SEVERITY_CHOICE_INVALID, STATUS_WARNING), STATUS_WARNING);
}

static void expect_groups(const char *value, const char *expected) {
        _cleanup_free_ char *groups = NULL, *error = NULL;

        assert_int_equal(probe_settings_parse_groups(value, &groups, &error), 0);
        assert_null(error);
        assert_string_equal(groups, expected);
}

static char *groups_error(const char *value) {
        char *groups = NULL, *error = NULL;

        assert_int_equal(probe_settings_parse_groups(value, &groups, &error), -EINVAL);
        assert_null(groups);
        assert_non_null(error);
        return error;
}

static void test_groups(void **state) {
        /* OpenSSL's form, commas and blanks; the user's spelling is kept, OpenSSL takes all of these. */
        expect_groups("X25519", "X25519");
        expect_groups("X25519:P-256", "X25519:P-256");
        expect_groups(" x25519, secp384r1  P-521 ", "x25519:secp384r1:P-521");
        expect_groups("ffdhe2048:X448:prime256v1", "ffdhe2048:X448:prime256v1");

        _cleanup_free_ char *empty = groups_error(" , :");
        assert_string_equal(empty, "the list of groups is empty");
        _cleanup_free_ char *twice = groups_error("P-256:X25519:P-256");
        assert_string_equal(twice, "\"P-256\" is listed twice");
        _cleanup_free_ char *aliases = groups_error("P-256:secp256r1");
        assert_string_equal(aliases,
                            "\"P-256:secp256r1\" names one group twice (as P-256 and secp256r1, say)");

        /* An unknown name is named, with what this OpenSSL does offer. */
        _cleanup_free_ char *unknown = groups_error("X25519:P-257");
        assert_non_null(strstr(unknown, "\"P-257\" is not a key-exchange group this OpenSSL ("));
        assert_non_null(strstr(unknown, "it offers "));
        assert_non_null(strstr(unknown, "X25519, X448, P-256, P-384, P-521, ffdhe2048"));
        /* Names are OpenSSL's, case and all: "p-256" is not one. */
        _cleanup_free_ char *lower = groups_error("p-256");
        assert_non_null(strstr(lower, "\"p-256\" is not"));

        /* The hybrid post-quantum group: offered from OpenSSL 3.5 on; on an older one (Debian 12's 3.0)
         * the message says which version it takes. */
        _cleanup_free_ char *hybrid_groups = NULL, *hybrid_error = NULL;
        int r = probe_settings_parse_groups("X25519MLKEM768:X25519", &hybrid_groups, &hybrid_error);
        if (OPENSSL_VERSION_NUMBER >= 0x30500000L)
                assert_int_equal(r, 0);
        else {
                assert_int_equal(r, -EINVAL);
                assert_non_null(strstr(hybrid_error, "\"X25519MLKEM768\" is not a key-exchange group"));
                assert_non_null(strstr(hybrid_error, "(the hybrid post-quantum groups need OpenSSL 3.5)"));
                assert_null(strstr(hybrid_error, "offers X25519MLKEM768"));
        }

        /* Bounded: a name longer than any group's, more names than OpenSSL has groups. */
        char long_name[200];
        memset(long_name, 'x', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        _cleanup_free_ char *too_long = groups_error(long_name);
        assert_true(strlen(too_long) < 100);
        _cleanup_free_ char *too_many = groups_error(
                "X25519 X448 P-256 P-384 P-521 ffdhe2048 ffdhe3072 ffdhe4096 "
                "ffdhe6144 ffdhe8192 secp224r1 secp192r1 brainpoolP256r1 "
                "brainpoolP384r1 brainpoolP512r1 secp256k1 sect571r1");
        assert_string_equal(too_many, "more than 16 groups");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_covers_struct),
                cmocka_unit_test(test_table_detects_a_forgotten_member),
                cmocka_unit_test(test_copy_equal_clear),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_value_checks),
                cmocka_unit_test(test_severity),
                cmocka_unit_test(test_groups),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
