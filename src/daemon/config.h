/* SPDX-License-Identifier: MIT */
/* tlswatchd's configuration: the main file plus conf.d/NAME.conf drop-ins in lexical order, INI in the
 * style of systemd units, parsed by libinih into a Config. Every error names file:line and the value. */
#pragma once

#include <stdbool.h>
#include <errno.h>
#include <stdint.h>

#include "macro.h"
#include "probe-settings.h"
#include "time-util.h"

#define CONFIG_DEFAULT_FILE SYSCONFDIR "/tlswatch/tlswatch.conf"

typedef struct TargetConfig {
        ProbeSettings probe;      /* how to probe: everything tlswatchctl probe can be told too */
        char *name;
        usec_t interval_usec;
        usec_t retry_interval_usec;
        usec_t repeat_interval_usec;
        unsigned confirm_failures;
        char *cert_file_on_disk;  /* CertFile=: the listener's certfile, linted and compared */
        char *key_file_on_disk;   /* KeyFile= */
        char *cacert_file_on_disk; /* CACertFile= */
        bool expect_client_auth;  /* ExpectClientAuth=: the certificate also authenticates clients (bridges) */
        char *srv_name;           /* SRV=: a template, expanded into one target per SRV record (srv-source.c) */

        uint64_t set_mask; /* which keys this section set, so [Defaults] fills only the rest */
        char *file;        /* where the section was (first) seen, for later messages */
        unsigned line;
} TargetConfig;

typedef enum WebhookFormat {
        WEBHOOK_FORMAT_JSON,
        WEBHOOK_FORMAT_SLACK,
        WEBHOOK_FORMAT_ALERTMANAGER,
        _WEBHOOK_FORMAT_MAX,
        _WEBHOOK_FORMAT_INVALID = -EINVAL,
} WebhookFormat;

/* Which events a webhook receives (Events=), as bits. */
typedef enum WebhookEventKind {
        WEBHOOK_EVENT_PROBLEM = 1 << 0,
        WEBHOOK_EVENT_RECOVERY = 1 << 1,
        WEBHOOK_EVENT_CHANGE = 1 << 2,
        WEBHOOK_EVENT_REMINDER = 1 << 3,
        WEBHOOK_EVENTS_ALL = 0xf,
} WebhookEventKind;

typedef struct StringList {
        char **items;
        size_t n;
} StringList;

typedef struct WebhookConfig {
        char *name;
        StringList urls;          /* URL=: one receiver, or every peer of an Alertmanager cluster */
        WebhookFormat format;
        unsigned events;          /* WebhookEventKind bits */
        StringList targets;       /* glob patterns of target names; empty: all */
        usec_t timeout_usec;
        StringList headers;       /* "Name: value" */
        char *bearer_token_file;  /* absolute path or credential name */
        char *secret_file;        /* absolute path or credential name: HMAC-SHA256 key */
        char *ca_file;
        char *proxy;              /* Proxy=: NULL, libcurl's environment (https_proxy, no_proxy); "": none */
        bool allow_insecure_http;
        usec_t retry_max_usec;
        StringList labels;        /* Label=: "name=value", on every Alertmanager alert */
        char *runbook_url;        /* RunbookURL=: "#code" is appended; NULL: the installed RUNBOOK.md */
        bool vantage_label;       /* VantageLabel=: Vantage= as an alert label (part of its identity) */

        uint64_t set_mask;
        char *file;
        unsigned line;
} WebhookConfig;

/* An Alertmanager peer is plain http by default (port 9093), and alerts are no secret: Format=alertmanager
 * may use http:// without AllowInsecureHTTP=yes unless the webhook sends a credential (a bearer token,
 * a signing secret or Header=). */
bool webhook_config_allows_http(const WebhookConfig *w);

/* The runbook link of a problem code: RunbookURL= (or the default) and "#code". */
/* The longest durations the configuration takes; longer ones are errors naming file and line. A year
 * for what repeats (Interval=, RetryInterval=, RepeatInterval=, and the webhooks' RetryMax=), an hour
 * for what one attempt may take (the Timeout= keys), ten years for RenewalFloor=, as for WarnDays=. */
#define CONFIG_INTERVAL_MAX_USEC (365 * USEC_PER_DAY)
#define CONFIG_TIMEOUT_MAX_USEC USEC_PER_HOUR
#define CONFIG_FLOOR_MAX_USEC (3650 * USEC_PER_DAY)

/* The longest Header= line ("Name: value") a webhook sends: far above any token in use, far below what
 * an HTTP server takes (nginx: 8 KiB buffers by default, up to large_client_header_buffers). */
#define WEBHOOK_HEADER_MAX (16 * 1024)

#define WEBHOOK_DEFAULT_RUNBOOK_URL "file://" DOCDIR "/RUNBOOK.md"

const char *webhook_format_to_string(WebhookFormat format);
WebhookFormat webhook_format_from_string(const char *s);

/* [HTTP]: tlswatchd's HTTP endpoint for Prometheus (sink-http.c). Off unless Listen= is set. */
typedef struct HttpConfig {
        char *listen;                    /* Listen= as written, HOST:PORT with an IP literal; NULL: off */
        char *listen_host;               /* its host, without brackets */
        uint16_t listen_port;
        char *external_url;              /* ExternalURL= without a trailing '/', else "http://" + listen;
                                          * NULL when off */
        unsigned max_connections;        /* MaxConnections= */
        unsigned max_connections_per_ip; /* MaxConnectionsPerIP= */
        usec_t timeout_usec;             /* Timeout=: an idle connection is closed after it */
        char *basic_auth_file;           /* BasicAuthFile=: absolute path or credential name; NULL: none */
        bool probe_on_demand;            /* ProbeOnDemand=: /probe may probe an unconfigured target */
        unsigned max_probes_on_demand;   /* MaxProbesOnDemand= */

        uint64_t set_mask;
        char *file; /* where [HTTP] was first seen */
        unsigned line;
} HttpConfig;

/* Shard=I/N: this instance probes the targets whose name hashes to I modulo N (target-source.h). */
typedef struct ConfigShard {
        unsigned index;
        unsigned count; /* 0: no Shard=, every target */
} ConfigShard;

typedef struct Config {
        TargetConfig defaults;
        TargetConfig *targets;
        size_t n_targets;
        unsigned max_concurrent_probes;
        char *control_socket; /* NULL: $RUNTIME_DIRECTORY/control.sock, else /run/tlswatch/control.sock */
        char *metrics_file;   /* NULL: none */
        uint64_t spool_max_bytes;
        StringList targets_files; /* TargetsFile=: globs of file_sd JSON/YAML files (target-file.c) */
        ConfigShard shard;        /* Shard= */
        char *vantage;        /* Vantage=: where this tlswatchd probes from, on every metric, entry, alert */
        WebhookConfig *webhooks;
        size_t n_webhooks;
        HttpConfig http;
        uint64_t global_set_mask;
        /* The parser's own: room allocated in `targets`, and an open-addressing index of target names
         * (slot = index + 1, 0 = empty), so that 100,000 sections parse in linear time. */
        size_t targets_allocated;
        size_t *target_slots;
        size_t n_target_slots;
} Config;

/* Loads `main_file` and the *.conf files of the conf.d directory beside it. On failure returns
 * -EINVAL (or -ENOMEM, or -errno when the main file cannot be read) and a one-line message in
 * *ret_error naming file and line. */
int config_load(const char *main_file, Config **ret, char **ret_error);

/* Parses one file's text as if read from `file_name`; for tests and for drop-in composition. Call
 * config_finish() after the last one. */
int config_new(Config **ret);
int config_parse_text(Config *config, const char *file_name, const char *text, char **ret_error);
int config_finish(Config *config, char **ret_error);

const TargetConfig *config_find_target(const Config *config, const char *name);

/* For sources of targets (SRV=): replaces the target at `index` by the `n` targets of `insert`, whose
 * contents the Config takes over on success (the array itself stays the caller's). Returns 0, -EEXIST
 * when one of the names is taken (with a message in *ret_error), -E2BIG beyond the limit of targets, or
 * -ENOMEM; on failure the Config is unchanged. */
int config_replace_target(Config *config, size_t index, TargetConfig *insert, size_t n, char **ret_error);

/* Whether the target set `key` itself (or took it from [Defaults]), by its name in the key table. */
bool target_config_has_key(const TargetConfig *t, const char *key);

void target_config_clear(TargetConfig *t);

/* One KEY=VALUE of a target, as a [Target NAME] section would say it ("Protocol", "mqtts"). */
typedef struct ConfigSetting {
        const char *key;
        const char *value;
} ConfigSetting;

/* For sources of targets (target-source.h): adds a target as if a [Target NAME] section at file:line had
 * these settings, each parsed by the key table as in a file, then given [Defaults] and checked as
 * config_finish() does. Returns 0; or -EINVAL (a bad name or value, the name taken: the message in
 * *ret_error, "FILE:LINE: ..."), -ENOMEM; on failure the Config is unchanged. */
int config_add_target(Config *config, const char *name, const char *file, unsigned line,
                      const ConfigSetting *settings, size_t n_settings, char **ret_error);

/* Drops every target `keep` refuses (Shard=), keeping the others' order. Returns 0 or -ENOMEM. */
int config_keep_targets(Config *config, bool (*keep)(const TargetConfig *t, void *userdata), void *userdata);

/* True when two targets would be probed the same way (the state of an unchanged target survives a
 * reload). */
bool target_config_equal(const TargetConfig *a, const TargetConfig *b);

/* TargetConfig's fields, which target_config_equal() and the clean-up walk; for the test that keeps it
 * complete. */
extern const Field target_config_fields[];
extern const size_t target_config_n_fields;

/* For tests: 0 when every target key is stored in a field of target_config_fields and that table covers
 * TargetConfig; else -ENOENT and the first key (or member) that is not. */
int config_check_tables(const char **ret_key);

/* For tests: the names of the keys a [Target] section takes, as many as fit; returns how many there are. */
size_t config_target_keys(const char **ret, size_t size);

Config *config_free(Config *config);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

/* "FILE:LINE: [KIND NAME]: message" (NAME may be "", as for [HTTP]) into *ret_error, for the errors a
 * section's settings earn after parsing (a sink's configure, cross-key rules). Returns -EINVAL. */
int config_section_error(char **ret_error, const char *kind, const char *file, unsigned line, const char *name,
                         const char *format, ...) _printf_(6, 7);
