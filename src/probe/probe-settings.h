/* SPDX-License-Identifier: MIT */
/* The settings of one probe, as tlswatch.conf's [Target] sections and `tlswatchctl probe`'s options
 * both give them: one struct that owns its strings, copied, cleared and compared through one table of
 * its fields, and checked by one function, so the daemon and the CLI cannot drift apart. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "field-table.h"
#include "macro.h"
#include "time-util.h"

typedef enum Protocol {
        PROTOCOL_TLS,
        PROTOCOL_MQTT,
        PROTOCOL_WSS,
        PROTOCOL_HTTPS,
        _PROTOCOL_MAX,
        _PROTOCOL_INVALID = -EINVAL,
} Protocol;

const char *protocol_to_string(Protocol protocol);
Protocol protocol_from_string(const char *s);

/* What a listener on this port most likely speaks: 8883 mqtt, 8084 wss, 18084 and 443 https. */
Protocol protocol_default_for_port(uint16_t port);

#define PROBE_SETTINGS_DAYS_MAX 3650

typedef struct ProbeSettings {
        char *host;               /* a name or an IP literal, without brackets */
        uint16_t port;
        Protocol protocol;        /* _PROTOCOL_INVALID until resolved: then by port */
        char *server_name;        /* name to send as SNI and to check; NULL: the host */
        char *path;               /* https and wss request path; NULL: the protocol's default */
        char *ca_file;            /* trust anchors; NULL: the system store */
        char *cert_file;          /* client certificate and key, for two-way TLS */
        char *key_file;
        usec_t timeout_usec;      /* from start to the last byte, everything included */
        unsigned warn_days;
        unsigned crit_days;
        int mqtt_version;         /* 4 (3.1.1, also for 0) or 5 */
        char *mqtt_client_id;     /* NULL: "tlswatch-" and a random suffix */
        char *mqtt_username;      /* NULL: none */
        char *mqtt_password_file; /* an absolute path, or a credential name; read by the caller */
        bool mqtt_expect_accept;  /* a refused CONNACK is protocol_failed, not information */
        char *http_expect_status; /* https: "200", "2xx 301", ...; NULL: any 2xx or 3xx */
} ProbeSettings;

/* The fields, for tables that embed a ProbeSettings and for the test that keeps this list complete. */
#define PROBE_SETTINGS_N_FIELDS 17
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
