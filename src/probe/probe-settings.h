/* SPDX-License-Identifier: MIT */
/* The settings of one probe, as tlswatch.conf's [Target] sections and `tlswatchctl probe`'s options
 * both give them: one struct that owns its strings, copied, cleared and compared through one table of
 * its fields, and checked by one function, so the daemon and the CLI cannot drift apart. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expiry-policy.h"
#include "field-table.h"
#include "macro.h"
#include "problem.h"
#include "protocol.h"
#include "time-util.h"

#define PROBE_SETTINGS_DAYS_MAX 3650
/* WarnLifetime=/CritLifetime= are whole percents of the lifetime left, 1 to 99. */
#define PROBE_SETTINGS_LIFETIME_MAX 99

/* Revocation=: whether the probe fetches the CRLs of the verified path, and what an unusable CRL is. */
typedef enum RevocationMode {
        REVOCATION_MODE_OFF,      /* no CRL is fetched (the default: see tlswatch.conf(5)) */
        REVOCATION_MODE_CRL,      /* CRLs checked; revocation_unknown is a note */
        REVOCATION_MODE_CRL_WARN, /* CRLs checked; revocation_unknown is a warning */
        _REVOCATION_MODE_MAX,
        _REVOCATION_MODE_INVALID = -EINVAL,
} RevocationMode;

const char *revocation_mode_to_string(RevocationMode m);
RevocationMode revocation_mode_from_string(const char *s);

typedef struct ProbeSettings {
        char *host;               /* a name or an IP literal, without brackets */
        const Protocol *protocol; /* a row of protocol_table; NULL until resolved: then by port */
        char *server_name;        /* name to send as SNI and to check; NULL: the host */
        char *path;               /* https and wss request path; NULL: the protocol's default */
        char *ca_file;            /* trust anchors; NULL: the system store */
        char *cert_file;          /* client certificate and key, for two-way TLS */
        char *key_file;
        usec_t timeout_usec; /* from start to the last byte, everything included */
        unsigned warn_days;  /* judged only with days_set; else the lifetime policy alone */
        unsigned crit_days;
        unsigned warn_lifetime; /* percent of the lifetime left: renewal_overdue below; 0: the ACME rule */
        unsigned crit_lifetime; /* percent of the lifetime left: critical below; 0: unset */
        usec_t renewal_floor_usec; /* critical with less time left; 0: a sixth of the lifetime, <= 7 days */
        bool days_set;             /* WarnDays=/CritDays= (-w/-c) were given */
        int mqtt_version;          /* 4 (3.1.1, also for 0) or 5 */
        uint16_t port;             /* here, beside the bool, where the padding is */
        bool mqtt_expect_accept;   /* a refused CONNACK is protocol_failed, not information */
        char *mqtt_client_id;      /* NULL: "tlswatch-" and a random suffix */
        char *mqtt_username;       /* NULL: none */
        char *mqtt_password_file;  /* an absolute path, or a credential name; read by the caller */
        char *http_expect_status;  /* https: "200", "2xx 301", ...; NULL: any 2xx or 3xx */
        char *groups;              /* key-exchange groups to offer, "X25519:P-256"; NULL: OpenSSL's default */
        SeverityChoice name_only_in_cn; /* the severity of name_only_in_cn; 0: a warning */
        RevocationMode revocation;
        char *pin_sha256;          /* SPKI SHA-256 pins, blank-separated (cert_check_parse_pins); NULL: none */
} ProbeSettings;

/* The fields, for tables that embed a ProbeSettings and for the test that keeps this list complete. */
#define PROBE_SETTINGS_N_FIELDS 25
extern const Field probe_settings_fields[PROBE_SETTINGS_N_FIELDS];

/* Which vocabulary a message names settings in: tlswatch.conf's keys or tlswatchctl's options. */
typedef enum ProbeSettingsNames {
        PROBE_SETTINGS_NAMES_CONFIG,
        PROBE_SETTINGS_NAMES_OPTIONS,
} ProbeSettingsNames;

/* `to` must be zeroed or cleared; on failure it holds a partial copy, which probe_settings_clear() frees. */
int probe_settings_copy(ProbeSettings *to, const ProbeSettings *from);
void probe_settings_clear(ProbeSettings *s);
bool probe_settings_equal(const ProbeSettings *a, const ProbeSettings *b);

/* The rules that tie settings together (CritDays <= WarnDays, a password needs a user name, a client
 * certificate needs its key, ...). Returns 0, or -EINVAL and a sentence in *ret_error that names the
 * settings in `names`' vocabulary and no file or line: the caller adds where it came from. */
int probe_settings_validate(const ProbeSettings *s, ProbeSettingsNames names, char **ret_error);

/* The checks of single values shared by the parsers of both vocabularies. Each returns 0, or
 * -EINVAL and, in *ret_reason, a static phrase to follow the user's quoted value. */
int probe_settings_check_path(const char *value, const char **ret_reason);
int probe_settings_check_expect_status(const char *value, const char **ret_reason);
int probe_settings_parse_mqtt_version(const char *value, int *ret, const char **ret_reason);
/* "note", "warning" or "critical". */
int probe_settings_parse_severity(const char *value, SeverityChoice *ret, const char **ret_reason);

/* At most this many groups in Groups=/--groups: OpenSSL knows fewer than 50. */
#define PROBE_SETTINGS_GROUPS_MAX 16

/* Parses a list of key-exchange groups, separated by ':' (OpenSSL's form), ',' or blanks, into
 * OpenSSL's form in *ret, each name checked against the OpenSSL this runs with. Returns 0, -ENOMEM,
 * or -EINVAL and, in *ret_error, a sentence that names the first bad value and what this OpenSSL
 * offers (the caller adds the key or option, and where it came from). */
int probe_settings_parse_groups(const char *value, char **ret, char **ret_error);
int probe_settings_parse_revocation(const char *value, RevocationMode *ret, const char **ret_reason);

/* The percent of WarnLifetime=/CritLifetime= (and their options): "33%" or "33", 1 to 99. */
int probe_settings_parse_lifetime(const char *value, unsigned *ret, const char **ret_reason);

/* The expiry policy the settings give. */
ExpiryPolicy probe_settings_expiry(const ProbeSettings *s);

/* PinSHA256=/--pin-sha256: a list cert_check_parse_pins() takes (-EINVAL and a phrase otherwise). */
int probe_settings_check_pins(const char *value, const char **ret_reason);

/* The protocol to speak: the one set, else the one the port implies. */
const Protocol *probe_settings_protocol(const ProbeSettings *s);
