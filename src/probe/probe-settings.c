/* SPDX-License-Identifier: MIT */
/* ProbeSettings' field table and its rules. Copy, clear and equality walk the table; the rules between
 * fields live in probe_settings_validate() alone, and name the settings in the caller's vocabulary
 * (tlswatch.conf keys or tlswatchctl options) from one list of names. */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "cert-check.h"
#include "probe-settings.h"
#include "string-util.h"
#include "proto-http.h"
#include "tls.h"
#include "string-table.h"

static const char *const revocation_mode_table[_REVOCATION_MODE_MAX] = {
        [REVOCATION_MODE_OFF] = "off",
        [REVOCATION_MODE_CRL] = "crl",
        [REVOCATION_MODE_CRL_WARN] = "crl-warn",
};

DEFINE_STRING_TABLE_LOOKUP(revocation_mode, RevocationMode, _REVOCATION_MODE_MAX);

#define S(kind, member) FIELD_##kind##_OF(ProbeSettings, member)
const Field probe_settings_fields[PROBE_SETTINGS_N_FIELDS] = {
        S(STRING, host),
        S(PLAIN, port),
        S(PLAIN, protocol),
        S(STRING, server_name),
        S(STRING, path),
        S(STRING, ca_file),
        S(STRING, cert_file),
        S(STRING, key_file),
        S(PLAIN, timeout_usec),
        S(PLAIN, warn_days),
        S(PLAIN, crit_days),
        S(PLAIN, warn_lifetime),
        S(PLAIN, crit_lifetime),
        S(PLAIN, renewal_floor_usec),
        S(PLAIN, days_set),
        S(PLAIN, mqtt_version),
        S(STRING, mqtt_client_id),
        S(STRING, mqtt_username),
        S(STRING, mqtt_password_file),
        S(PLAIN, mqtt_expect_accept),
        S(STRING, http_expect_status),
        S(STRING, groups),
        S(PLAIN, name_only_in_cn),
        S(PLAIN, revocation),
        S(STRING, pin_sha256),
};
#undef S
_Static_assert(ELEMENTSOF(probe_settings_fields) == PROBE_SETTINGS_N_FIELDS,
               "PROBE_SETTINGS_N_FIELDS is stale");

int probe_settings_copy(ProbeSettings *to, const ProbeSettings *from) {
        assert(to);
        assert(from);
        return field_table_copy(probe_settings_fields, PROBE_SETTINGS_N_FIELDS, to, from);
}

void probe_settings_clear(ProbeSettings *s) {
        assert(s);
        field_table_clear(probe_settings_fields, PROBE_SETTINGS_N_FIELDS, s);
}

bool probe_settings_equal(const ProbeSettings *a, const ProbeSettings *b) {
        assert(a);
        assert(b);
        return field_table_equal(probe_settings_fields, PROBE_SETTINGS_N_FIELDS, a, b);
}

/* The settings the rules name, in both vocabularies. */
typedef enum SettingName {
        NAME_WARN_DAYS,
        NAME_CRIT_DAYS,
        NAME_CERT_FILE,
        NAME_KEY_FILE,
        NAME_MQTT_USERNAME,
        NAME_MQTT_PASSWORD_FILE,
        NAME_MQTT_VERSION,
        NAME_TIMEOUT,
        NAME_WARN_LIFETIME,
        NAME_CRIT_LIFETIME,
        _NAME_MAX,
} SettingName;

static const struct {
        const char *key;
        const char *option;
} setting_names[_NAME_MAX] = {
        [NAME_WARN_DAYS] = { "WarnDays", "--warn-days" },
        [NAME_CRIT_DAYS] = { "CritDays", "--crit-days" },
        [NAME_CERT_FILE] = { "ClientCertificate", "--cert" },
        [NAME_KEY_FILE] = { "ClientKey", "--key" },
        [NAME_MQTT_USERNAME] = { "MQTTUsername", "--username" },
        [NAME_MQTT_PASSWORD_FILE] = { "MQTTPasswordFile", "--password-file" },
        [NAME_MQTT_VERSION] = { "MQTTVersion", "--mqtt-version" },
        [NAME_TIMEOUT] = { "Timeout", "--timeout" },
        [NAME_WARN_LIFETIME] = { "WarnLifetime", "--warn-lifetime" },
        [NAME_CRIT_LIFETIME] = { "CritLifetime", "--crit-lifetime" },
};

/* "CritDays=7" or "--crit-days (7)"; without a value "CritDays=" or "--crit-days". */
static const char *name_of(ProbeSettingsNames names, SettingName name, const unsigned *value, char *buffer,
                           size_t size) {
        if (names == PROBE_SETTINGS_NAMES_CONFIG) {
                if (value)
                        snprintf(buffer, size, "%s=%u", setting_names[name].key, *value);
                else
                        snprintf(buffer, size, "%s=", setting_names[name].key);
        } else {
                if (value)
                        snprintf(buffer, size, "%s (%u)", setting_names[name].option, *value);
                else
                        snprintf(buffer, size, "%s", setting_names[name].option);
        }
        return buffer;
}

int probe_settings_validate(const ProbeSettings *s, ProbeSettingsNames names, char **ret_error) {
        char a[64], b[64];
        const char *reason = NULL;

        assert(s);
        assert(ret_error);

        *ret_error = NULL;
        if (!s->host || !*s->host)
                return error_message(ret_error, -EINVAL, "the target has no host name or address");
        if (s->warn_days > PROBE_SETTINGS_DAYS_MAX || s->crit_days > PROBE_SETTINGS_DAYS_MAX)
                return error_message(ret_error, -EINVAL, "%s and %s are at most %u days",
                                     name_of(names, NAME_WARN_DAYS, NULL, a, sizeof(a)),
                                     name_of(names, NAME_CRIT_DAYS, NULL, b, sizeof(b)),
                                     PROBE_SETTINGS_DAYS_MAX);
        if (s->crit_days > s->warn_days)
                return error_message(ret_error, -EINVAL, "%s must not exceed %s",
                                     name_of(names, NAME_CRIT_DAYS, &s->crit_days, a, sizeof(a)),
                                     name_of(names, NAME_WARN_DAYS, &s->warn_days, b, sizeof(b)));
        if (s->warn_lifetime > PROBE_SETTINGS_LIFETIME_MAX || s->crit_lifetime > PROBE_SETTINGS_LIFETIME_MAX)
                return error_message(ret_error, -EINVAL, "%s and %s are at most %u%%",
                                     name_of(names, NAME_WARN_LIFETIME, NULL, a, sizeof(a)),
                                     name_of(names, NAME_CRIT_LIFETIME, NULL, b, sizeof(b)),
                                     PROBE_SETTINGS_LIFETIME_MAX);
        if (s->warn_lifetime > 0 && s->crit_lifetime > s->warn_lifetime)
                return error_message(ret_error, -EINVAL, "%s must not exceed %s",
                                     name_of(names, NAME_CRIT_LIFETIME, &s->crit_lifetime, a, sizeof(a)),
                                     name_of(names, NAME_WARN_LIFETIME, &s->warn_lifetime, b, sizeof(b)));
        if (!!s->cert_file != !!s->key_file)
                return error_message(ret_error, -EINVAL, "%s and %s go together",
                                     name_of(names, NAME_CERT_FILE, NULL, a, sizeof(a)),
                                     name_of(names, NAME_KEY_FILE, NULL, b, sizeof(b)));
        if (s->mqtt_password_file && !s->mqtt_username)
                return error_message(ret_error, -EINVAL, "%s needs %s",
                                     name_of(names, NAME_MQTT_PASSWORD_FILE, NULL, a, sizeof(a)),
                                     name_of(names, NAME_MQTT_USERNAME, NULL, b, sizeof(b)));
        if (!IN_SET(s->mqtt_version, 0, 4, 5))
                return error_message(ret_error, -EINVAL, "%s: %d is not an MQTT version (3.1.1 or 5)",
                                     name_of(names, NAME_MQTT_VERSION, NULL, a, sizeof(a)), s->mqtt_version);
        if (s->timeout_usec == 0)
                return error_message(ret_error, -EINVAL, "%s must be more than 0",
                                     name_of(names, NAME_TIMEOUT, NULL, a, sizeof(a)));
        if (s->path && probe_settings_check_path(s->path, &reason) < 0)
                return error_message(ret_error, -EINVAL, "\"%s\" %s", s->path, reason);
        if (s->http_expect_status && probe_settings_check_expect_status(s->http_expect_status, &reason) < 0)
                return error_message(ret_error, -EINVAL, "\"%s\" %s", s->http_expect_status, reason);
        return 0;
}

int probe_settings_check_path(const char *value, const char **ret_reason) {
        assert(value);
        assert(ret_reason);

        if (value[0] != '/' || strpbrk(value, " \t\r\n")) {
                *ret_reason = "is not a request path (it starts with '/', without blanks)";
                return -EINVAL;
        }
        return 0;
}

int probe_settings_check_expect_status(const char *value, const char **ret_reason) {
        HttpExpect expect;

        assert(value);
        assert(ret_reason);

        if (proto_http_parse_expect(value, &expect) < 0) {
                *ret_reason = "is not a list of statuses like \"200\" or \"2xx 301\"";
                return -EINVAL;
        }
        return 0;
}

int probe_settings_check_pins(const char *value, const char **ret_reason) {
        assert(value);
        assert(ret_reason);

        if (cert_check_parse_pins(value, NULL, CERT_CHECK_PINS_MAX, NULL) < 0) {
                *ret_reason = "is not a list of SPKI SHA-256 pins (64 hex digits, or base64 of 32 bytes, "
                              "\"sha256//\" allowed; at most 16)";
                return -EINVAL;
        }
        return 0;
}

int probe_settings_parse_mqtt_version(const char *value, int *ret, const char **ret_reason) {
        assert(value);
        assert(ret);
        assert(ret_reason);

        if (strcmp(value, "3.1.1") == 0 || strcmp(value, "4") == 0)
                *ret = 4;
        else if (strcmp(value, "5") == 0 || strcmp(value, "5.0") == 0)
                *ret = 5;
        else {
                *ret_reason = "is not an MQTT version (3.1.1 or 5)";
                return -EINVAL;
        }
        return 0;
}

int probe_settings_parse_severity(const char *value, SeverityChoice *ret, const char **ret_reason) {
        SeverityChoice choice;

        assert(value);
        assert(ret);
        assert(ret_reason);

        choice = severity_choice_from_string(value);
        if (choice <= SEVERITY_CHOICE_DEFAULT) {
                *ret_reason = "is not one of note, warning, critical";
                return -EINVAL;
        }
        *ret = choice;
        return 0;
}

int probe_settings_parse_groups(const char *value, char **ret, char **ret_error) {
        static const char separators[] = ": ,\t";
        char names[PROBE_SETTINGS_GROUPS_MAX][64];
        size_t n = 0;
        int r;

        assert(value);
        assert(ret);
        assert(ret_error);

        *ret_error = NULL;
        for (const char *word = value + strspn(value, separators); *word; word += strspn(word, separators)) {
                size_t length = strcspn(word, separators);

                if (n >= PROBE_SETTINGS_GROUPS_MAX)
                        return error_message(ret_error, -EINVAL, "more than %d groups",
                                             PROBE_SETTINGS_GROUPS_MAX);
                if (length >= sizeof(names[n]))
                        return error_message(ret_error, -EINVAL, "\"%.*s...\" is not a key-exchange group",
                                             32, word);
                memcpy(names[n], word, length);
                names[n][length] = '\0';
                word += length;

                /* Each name alone first, so that the message can say which one is wrong. */
                r = tls_groups_check(names[n]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        char available[256];
                        tls_groups_available(available, sizeof(available));
                        bool hybrid = strstr(names[n], "MLKEM") || strstr(names[n], "mlkem") ||
                                      strstr(names[n], "Kyber") || strstr(names[n], "kyber");
                        return error_message(
                                ret_error, -EINVAL,
                                "\"%s\" is not a key-exchange group this OpenSSL (%s) can offer; it "
                                "offers %s%s",
                                names[n], OpenSSL_version(OPENSSL_VERSION_STRING), available,
                                hybrid && !strstr(available, "MLKEM")
                                        ? " (the hybrid post-quantum groups need OpenSSL 3.5)"
                                        : "");
                }
                for (size_t i = 0; i < n; i++)
                        if (strcasecmp(names[i], names[n]) == 0)
                                return error_message(ret_error, -EINVAL, "\"%s\" is listed twice", names[n]);
                n++;
        }
        if (n == 0)
                return error_message(ret_error, -EINVAL, "the list of groups is empty");

        size_t size = 0;
        for (size_t i = 0; i < n; i++)
                size += strlen(names[i]) + 1;
        char *joined = malloc(size);
        if (!joined)
                return -ENOMEM;
        joined[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strcat(joined, ":");
                strcat(joined, names[i]);
        }
        /* OpenSSL also refuses one group under two names (P-256 and secp256r1). */
        r = tls_groups_check(joined);
        if (r < 0) {
                free(joined);
                return r == -ENOMEM
                               ? r
                               : error_message(ret_error, -EINVAL,
                                               "\"%s\" names one group twice (as P-256 and secp256r1, say)",
                                               value);
        }
        *ret = joined;
        return 0;
}

int probe_settings_parse_lifetime(const char *value, unsigned *ret, const char **ret_reason) {
        char *end;

        assert(value);
        assert(ret);
        assert(ret_reason);

        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (end != value && *end == '%')
                end++;
        if (errno != 0 || end == value || *end || value[0] == '-' || value[0] == '+' || v < 1 ||
            v > PROBE_SETTINGS_LIFETIME_MAX) {
                *ret_reason = "is not a percent of the lifetime left (1% to 99%)";
                return -EINVAL;
        }
        *ret = (unsigned) v;
        return 0;
}

ExpiryPolicy probe_settings_expiry(const ProbeSettings *s) {
        assert(s);
        return (ExpiryPolicy){
                .days_set = s->days_set,
                .warn_days = s->warn_days,
                .crit_days = s->crit_days,
                .warn_lifetime = s->warn_lifetime,
                .crit_lifetime = s->crit_lifetime,
                .renewal_floor_usec = s->renewal_floor_usec,
        };
}

int probe_settings_parse_revocation(const char *value, RevocationMode *ret, const char **ret_reason) {
        RevocationMode m;

        assert(value);
        assert(ret);
        assert(ret_reason);

        m = revocation_mode_from_string(value);
        if (m < 0) {
                *ret_reason = "is not a revocation mode (off, crl or crl-warn)";
                return -EINVAL;
        }
        *ret = m;
        return 0;
}

const Protocol *probe_settings_protocol(const ProbeSettings *s) {
        assert(s);
        return s->protocol ?: protocol_default_for_port(s->port);
}
