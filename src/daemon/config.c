/* SPDX-License-Identifier: MIT */
/* Configuration parsing. A table maps each key to its parser and field; [Defaults] may set every
 * target key, and a target takes a default only for keys it did not set itself, wherever the two
 * sections stand among the files. libinih splits the lines; a counting reader gives us line numbers. */
#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <ctype.h>
#include <ini.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address-util.h"
#include "string-table.h"
#include "file-util.h"
#include "config.h"

#define LINE_MAX_CHARS 4096
#define TARGETS_MAX 100000

#define DEFAULT_INTERVAL_USEC (5 * USEC_PER_MINUTE)
#define DEFAULT_RETRY_INTERVAL_USEC (1 * USEC_PER_MINUTE)
#define DEFAULT_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define DEFAULT_REPEAT_INTERVAL_USEC (24 * USEC_PER_HOUR)
#define DEFAULT_WARN_DAYS 30
#define DEFAULT_CRIT_DAYS 7
#define DEFAULT_CONFIRM_FAILURES 2
#define DEFAULT_MAX_CONCURRENT_PROBES 64
#define DEFAULT_SPOOL_MAX_BYTES (64ULL * 1024 * 1024)
#define DEFAULT_WEBHOOK_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define DEFAULT_WEBHOOK_RETRY_MAX_USEC (24 * USEC_PER_HOUR)
#define DEFAULT_HTTP_MAX_CONNECTIONS 64
#define DEFAULT_HTTP_MAX_CONNECTIONS_PER_IP 16
#define DEFAULT_HTTP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define DEFAULT_HTTP_MAX_PROBES_ON_DEMAND 4

typedef enum ValueType {
        VALUE_STRING,
        VALUE_PATH,      /* an absolute file path */
        VALUE_HTTP_PATH, /* a request path starting with '/' */
        VALUE_DURATION,  /* at most CONFIG_INTERVAL_MAX_USEC */
        VALUE_TIMEOUT,   /* a duration of at most CONFIG_TIMEOUT_MAX_USEC */
        VALUE_DAYS,
        VALUE_LIFETIME,  /* a percent of the lifetime left, "33%" */
        VALUE_FLOOR,     /* a duration, or "auto" for 0 */
        VALUE_COUNT,     /* a positive integer */
        VALUE_PROTOCOL,
        VALUE_ADDRESS,   /* host:port into host and port */
        VALUE_BOOLEAN,
        VALUE_MQTT_VERSION,
        VALUE_REVOCATION,
        VALUE_SECRET,    /* an absolute path or a credential name */
        VALUE_EXPECT_STATUS,
        VALUE_PINS,
        VALUE_URL,       /* one http:// or https:// URL */
        VALUE_URL_LIST,  /* one or more http(s):// URLs, separated by blanks */
        VALUE_LINK,      /* one http://, https:// or file:// URL */
        VALUE_LABEL,     /* an Alertmanager label "name=value", set or replaced */
        VALUE_WEBHOOK_FORMAT,
        VALUE_WEBHOOK_EVENTS,
        VALUE_APPEND,     /* one more item of a StringList */
        VALUE_HEADER,     /* "Name: value", appended */
        VALUE_BYTES,      /* 64M, 1G, ... */
        VALUE_LISTEN,     /* IP:PORT to bind */
        VALUE_GROUPS,     /* key-exchange groups, checked against the OpenSSL we run with */
        VALUE_SEVERITY,   /* note, warning or critical */
        VALUE_GLOB,       /* an absolute path, wildcards in its last part only; appended */
        VALUE_SHARD,      /* I/N */
        VALUE_SRV,        /* an SRV owner name, _service._proto.domain */
        VALUE_VANTAGE,    /* a label value naming a site */
        VALUE_PROXY,      /* a proxy URL (http, https, socks4, socks4a, socks5, socks5h), or empty: none */
} ValueType;

typedef enum KeyScope {
        SCOPE_TARGET_ONLY, /* in [Target NAME] only */
        SCOPE_TARGET,      /* in [Target NAME] and [Defaults] */
        SCOPE_GLOBAL, /* in [Defaults] only */
        SCOPE_WEBHOOK, /* in [Webhook NAME] */
        SCOPE_HTTP,    /* in [HTTP] */
} KeyScope;

typedef struct KeyDefinition {
        const char *key;
        KeyScope scope;
        ValueType type;
        size_t offset; /* into TargetConfig or Config, by scope */
} KeyDefinition;

static const KeyDefinition keys[] = {
        { "Address", SCOPE_TARGET_ONLY, VALUE_ADDRESS, offsetof(TargetConfig, probe.host) },
        { "Protocol", SCOPE_TARGET, VALUE_PROTOCOL, offsetof(TargetConfig, probe.protocol) },
        { "ServerName", SCOPE_TARGET, VALUE_STRING, offsetof(TargetConfig, probe.server_name) },
        { "Path", SCOPE_TARGET, VALUE_HTTP_PATH, offsetof(TargetConfig, probe.path) },
        { "CAFile", SCOPE_TARGET, VALUE_PATH, offsetof(TargetConfig, probe.ca_file) },
        { "ClientCertificate", SCOPE_TARGET, VALUE_PATH, offsetof(TargetConfig, probe.cert_file) },
        { "ClientKey", SCOPE_TARGET, VALUE_PATH, offsetof(TargetConfig, probe.key_file) },
        { "Interval", SCOPE_TARGET, VALUE_DURATION, offsetof(TargetConfig, interval_usec) },
        { "RetryInterval", SCOPE_TARGET, VALUE_DURATION, offsetof(TargetConfig, retry_interval_usec) },
        { "Timeout", SCOPE_TARGET, VALUE_TIMEOUT, offsetof(TargetConfig, probe.timeout_usec) },
        { "RepeatInterval", SCOPE_TARGET, VALUE_DURATION, offsetof(TargetConfig, repeat_interval_usec) },
        { "WarnDays", SCOPE_TARGET, VALUE_DAYS, offsetof(TargetConfig, probe.warn_days) },
        { "CritDays", SCOPE_TARGET, VALUE_DAYS, offsetof(TargetConfig, probe.crit_days) },
        { "WarnLifetime", SCOPE_TARGET, VALUE_LIFETIME, offsetof(TargetConfig, probe.warn_lifetime) },
        { "CritLifetime", SCOPE_TARGET, VALUE_LIFETIME, offsetof(TargetConfig, probe.crit_lifetime) },
        { "RenewalFloor", SCOPE_TARGET, VALUE_FLOOR, offsetof(TargetConfig, probe.renewal_floor_usec) },
        { "ConfirmFailures", SCOPE_TARGET, VALUE_COUNT, offsetof(TargetConfig, confirm_failures) },
        { "ExpectStatus", SCOPE_TARGET, VALUE_EXPECT_STATUS, offsetof(TargetConfig, probe.http_expect_status) },
        { "PinSHA256", SCOPE_TARGET, VALUE_PINS, offsetof(TargetConfig, probe.pin_sha256) },
        { "ExpectClientAuth", SCOPE_TARGET, VALUE_BOOLEAN, offsetof(TargetConfig, expect_client_auth) },
        { "CertFile", SCOPE_TARGET, VALUE_PATH, offsetof(TargetConfig, cert_file_on_disk) },
        { "KeyFile", SCOPE_TARGET, VALUE_PATH, offsetof(TargetConfig, key_file_on_disk) },
        { "CACertFile", SCOPE_TARGET, VALUE_PATH, offsetof(TargetConfig, cacert_file_on_disk) },
        { "MQTTVersion", SCOPE_TARGET, VALUE_MQTT_VERSION, offsetof(TargetConfig, probe.mqtt_version) },
        { "MQTTClientId", SCOPE_TARGET, VALUE_STRING, offsetof(TargetConfig, probe.mqtt_client_id) },
        { "MQTTUsername", SCOPE_TARGET, VALUE_STRING, offsetof(TargetConfig, probe.mqtt_username) },
        { "MQTTPasswordFile", SCOPE_TARGET, VALUE_SECRET, offsetof(TargetConfig, probe.mqtt_password_file) },
        { "MQTTExpectAccept", SCOPE_TARGET, VALUE_BOOLEAN, offsetof(TargetConfig, probe.mqtt_expect_accept) },
        { "Groups", SCOPE_TARGET, VALUE_GROUPS, offsetof(TargetConfig, probe.groups) },
        { "NameOnlyInCN", SCOPE_TARGET, VALUE_SEVERITY, offsetof(TargetConfig, probe.name_only_in_cn) },
        { "Revocation", SCOPE_TARGET, VALUE_REVOCATION, offsetof(TargetConfig, probe.revocation) },
        { "MaxConcurrentProbes", SCOPE_GLOBAL, VALUE_COUNT, offsetof(Config, max_concurrent_probes) },
        { "ControlSocket", SCOPE_GLOBAL, VALUE_PATH, offsetof(Config, control_socket) },
        { "MetricsFile", SCOPE_GLOBAL, VALUE_PATH, offsetof(Config, metrics_file) },
        { "SpoolMax", SCOPE_GLOBAL, VALUE_BYTES, offsetof(Config, spool_max_bytes) },
        { "URL", SCOPE_WEBHOOK, VALUE_URL_LIST, offsetof(WebhookConfig, urls) },
        { "Format", SCOPE_WEBHOOK, VALUE_WEBHOOK_FORMAT, offsetof(WebhookConfig, format) },
        { "Events", SCOPE_WEBHOOK, VALUE_WEBHOOK_EVENTS, offsetof(WebhookConfig, events) },
        { "Targets", SCOPE_WEBHOOK, VALUE_APPEND, offsetof(WebhookConfig, targets) },
        { "Timeout", SCOPE_WEBHOOK, VALUE_TIMEOUT, offsetof(WebhookConfig, timeout_usec) },
        { "Header", SCOPE_WEBHOOK, VALUE_HEADER, offsetof(WebhookConfig, headers) },
        { "BearerTokenFile", SCOPE_WEBHOOK, VALUE_SECRET, offsetof(WebhookConfig, bearer_token_file) },
        { "SecretFile", SCOPE_WEBHOOK, VALUE_SECRET, offsetof(WebhookConfig, secret_file) },
        { "CAFile", SCOPE_WEBHOOK, VALUE_PATH, offsetof(WebhookConfig, ca_file) },
        { "AllowInsecureHTTP", SCOPE_WEBHOOK, VALUE_BOOLEAN, offsetof(WebhookConfig, allow_insecure_http) },
        { "Proxy", SCOPE_WEBHOOK, VALUE_PROXY, offsetof(WebhookConfig, proxy) },
        { "RetryMax", SCOPE_WEBHOOK, VALUE_DURATION, offsetof(WebhookConfig, retry_max_usec) },
        { "Listen", SCOPE_HTTP, VALUE_LISTEN, offsetof(HttpConfig, listen) },
        { "ExternalURL", SCOPE_HTTP, VALUE_URL, offsetof(HttpConfig, external_url) },
        { "MaxConnections", SCOPE_HTTP, VALUE_COUNT, offsetof(HttpConfig, max_connections) },
        { "MaxConnectionsPerIP", SCOPE_HTTP, VALUE_COUNT, offsetof(HttpConfig, max_connections_per_ip) },
        { "Timeout", SCOPE_HTTP, VALUE_TIMEOUT, offsetof(HttpConfig, timeout_usec) },
        { "BasicAuthFile", SCOPE_HTTP, VALUE_SECRET, offsetof(HttpConfig, basic_auth_file) },
        { "ProbeOnDemand", SCOPE_HTTP, VALUE_BOOLEAN, offsetof(HttpConfig, probe_on_demand) },
        { "MaxProbesOnDemand", SCOPE_HTTP, VALUE_COUNT, offsetof(HttpConfig, max_probes_on_demand) },
        { "Label", SCOPE_WEBHOOK, VALUE_LABEL, offsetof(WebhookConfig, labels) },
        { "RunbookURL", SCOPE_WEBHOOK, VALUE_LINK, offsetof(WebhookConfig, runbook_url) },
        { "TargetsFile", SCOPE_GLOBAL, VALUE_GLOB, offsetof(Config, targets_files) },
        { "Shard", SCOPE_GLOBAL, VALUE_SHARD, offsetof(Config, shard) },
        { "SRV", SCOPE_TARGET_ONLY, VALUE_SRV, offsetof(TargetConfig, srv_name) },
        { "Vantage", SCOPE_GLOBAL, VALUE_VANTAGE, offsetof(Config, vantage) },
        { "VantageLabel", SCOPE_WEBHOOK, VALUE_BOOLEAN, offsetof(WebhookConfig, vantage_label) },
};

/* Which keys a section set is a bit mask over this table. */
_Static_assert(ELEMENTSOF(keys) <= 64, "the key table outgrew the 64-bit set masks");

/* State of one parse run, handed to libinih's callbacks. */
typedef struct Parser {
        Config *config;
        const char *file_name;
        const char *text; /* what is left to read */
        unsigned line;
        unsigned section_line;
        bool line_too_long;
        char *section;       /* the current section's whole name (libinih cuts long ones) */
        bool target;         /* the current section is a [Target NAME] ... */
        size_t target_index; /* ... this one */
        bool webhook;        /* or a [Webhook NAME] ... */
        size_t webhook_index;
        bool http;           /* or [HTTP] */
        char *error; /* the first error; later ones are usually its consequences */
} Parser;

static int parser_error(Parser *p, unsigned line, const char *format, ...) _printf_(3, 4);
static int parser_error(Parser *p, unsigned line, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        if (p->error)
                return 0;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (asprintf(&p->error, "%s:%u: %s", p->file_name, line, message ?: "out of memory") < 0)
                p->error = NULL;
        return 0; /* libinih: zero means "error on this line" */
}

static void check_section(Parser *p);

/* An fgets() over the text that counts lines and notices section headers and over-long lines. */
static char *read_line(char *buffer, int size, void *userdata) {
        Parser *p = userdata;
        size_t n = 0;

        if (!*p->text)
                return NULL;

        const char *newline = strchr(p->text, '\n');
        size_t length = newline ? (size_t) (newline - p->text) + 1 : strlen(p->text);
        p->line++;
        size_t content = length;
        if (content > 0 && p->text[content - 1] == '\n')
                content--;
        if (content > 0 && p->text[content - 1] == '\r')
                content--;
        if (length >= (size_t) size || content > LINE_MAX_CHARS - 3) {
                /* Drop the rest of the line; the handler reports it with the right number. */
                p->line_too_long = true;
                buffer[0] = '\0';
        } else {
                memcpy(buffer, p->text, length);
                n = length;
                buffer[n] = '\0';
        }
        p->text += length;

        const char *start = buffer + strspn(buffer, " \t");
        if (*start == '[') {
                p->section_line = p->line;
                const char *close = strrchr(start, ']');
                if (close) {
                        free(p->section);
                        p->section = strndup(start + 1, (size_t) (close - start - 1));
                        if (p->section)
                                check_section(p);
                        else
                                (void) parser_error(p, p->line, "out of memory");
                }
        }
        if (p->line_too_long) {
                p->line_too_long = false;
                (void) parser_error(p, p->line, "the line is longer than %d characters", LINE_MAX_CHARS - 3);
        }
        return buffer;
}

static const char *duration_hint(const char *value) {
        /* "5 minutes" -> "5min": keep the number, map the unit's first letter. */
        static char hint[32];
        size_t digits = strspn(value, "0123456789");
        const char *unit = value + digits + strspn(value + digits, " \t");
        const char *suffix = "min";

        switch (*unit) {
        case 's':
                suffix = "s";
                break;
        case 'h':
                suffix = "h";
                break;
        case 'd':
                suffix = "d";
                break;
        case 'w':
                suffix = "w";
                break;
        }
        /* A number of zeros is no hint: a duration is never 0. */
        bool zero = strspn(value, "0") >= digits;
        snprintf(hint, sizeof(hint), "%.*s%s", (int) (digits > 0 && digits < 10 && !zero ? digits : 1),
                 digits > 0 && !zero ? value : "5", suffix);
        return hint;
}

static int parse_unsigned(const char *value, unsigned max, unsigned *ret) {
        char *end = NULL;
        unsigned long n;

        if (!*value || strspn(value, "0123456789") != strlen(value))
                return -EINVAL;
        errno = 0;
        n = strtoul(value, &end, 10);
        if (errno != 0 || n > max)
                return -ERANGE;
        *ret = (unsigned) n;
        return 0;
}

static int assign_string(char **field, const char *value) {
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static void string_list_clear(StringList *list);

/* Appends a copy of `n` bytes of `value`; -E2BIG beyond 64 items. */
static int string_list_append(StringList *list, const char *value, size_t n) {
        if (list->n >= 64)
                return -E2BIG;
        char **items = realloc(list->items, (list->n + 1) * sizeof(char *));
        if (!items)
                return -ENOMEM;
        list->items = items;
        list->items[list->n] = strndup(value, n);
        if (!list->items[list->n])
                return -ENOMEM;
        list->n++;
        return 0;
}

/* Label values go into JSON, which must be UTF-8: jansson is the judge. */
static bool utf8_is_valid(const char *s) {
        json_t *string = json_string(s);
        bool valid = string != NULL;
        json_decref(string);
        return valid;
}

static bool url_valid(const char *url, size_t n, bool file) {
        return ((n > 8 && strncmp(url, "https://", 8) == 0) || (n > 7 && strncmp(url, "http://", 7) == 0) ||
                (file && n > 7 && strncmp(url, "file://", 7) == 0)) &&
               n <= 2048 && !memchr(url, ' ', n) && !memchr(url, '\t', n);
}

/* These labels name the alert; Label= may add others (and replace job), never these. */
static const char *const alert_reserved_labels[] = { "alertname", "severity", "instance", "target", "code" };

/* Prometheus's data model: a label name is [a-zA-Z_][a-zA-Z0-9_]*, and names that begin with "__" are
 * reserved for internal use. */
static bool label_name_valid(const char *name, size_t n) {
        if (n == 0 || (n >= 2 && name[0] == '_' && name[1] == '_') || ('0' <= name[0] && name[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(('a' <= name[i] && name[i] <= 'z') || ('A' <= name[i] && name[i] <= 'Z') ||
                      ('0' <= name[i] && name[i] <= '9') || name[i] == '_'))
                        return false;
        return true;
}

static int parse_label(Parser *p, const KeyDefinition *k, const char *value, StringList *list) {
        const char *equals = strchr(value, '=');
        size_t n = equals ? (size_t) (equals - value) : strlen(value);

        if (!equals || !label_name_valid(value, n))
                return parser_error(p, p->line,
                                    "%s: \"%s\" is not NAME=VALUE with a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, "
                                    "not beginning with __)",
                                    k->key, value);
        for (size_t i = 0; i < ELEMENTSOF(alert_reserved_labels); i++)
                if (strlen(alert_reserved_labels[i]) == n && strncmp(value, alert_reserved_labels[i], n) == 0)
                        return parser_error(p, p->line, "%s: \"%.*s\" is set by tlswatchd itself on every alert",
                                            k->key, (int) n, value);
        if (!equals[1] || !utf8_is_valid(equals + 1) || strlen(equals + 1) > 1024)
                return parser_error(p, p->line, "%s: the value of \"%.*s\" is empty, not UTF-8 or longer than 1024 bytes",
                                    k->key, (int) n, value);
        /* A label set again (by a drop-in, say) takes the new value. */
        for (size_t i = 0; i < list->n; i++)
                if (strncmp(list->items[i], value, n + 1) == 0) {
                        char *copy = strdup(value);
                        if (!copy)
                                return parser_error(p, p->line, "out of memory");
                        free(list->items[i]);
                        list->items[i] = copy;
                        return 1;
                }
        int r = string_list_append(list, value, strlen(value));
        if (r < 0)
                return parser_error(p, p->line, r == -E2BIG ? "%s: more than 64 values" : "out of memory", k->key);
        return 1;
}

static int parse_value(Parser *p, const KeyDefinition *k, const char *value, void *base) {
        void *field = (uint8_t *) base + k->offset;
        const char *reason = NULL;
        int r;

        switch (k->type) {
        case VALUE_STRING:
                if (!*value)
                        return parser_error(p, p->line, "%s: the value is empty", k->key);
                r = assign_string(field, value);
                break;
        case VALUE_PROXY: {
                /* Set, it overrides libcurl's reading of https_proxy and no_proxy; empty: no proxy. */
                static const char *const schemes[] = { "http://", "https://", "socks4://", "socks4a://",
                                                       "socks5://", "socks5h://" };
                bool known = !*value;
                for (size_t i = 0; !known && i < ELEMENTSOF(schemes); i++)
                        known = strncmp(value, schemes[i], strlen(schemes[i])) == 0 &&
                                value[strlen(schemes[i])] != '\0';
                if (!known || strpbrk(value, " \t"))
                        /* The value is not repeated: a proxy URL may carry a password. */
                        return parser_error(p, p->line,
                                            "%s: not a proxy URL (http://, https://, socks4://, socks4a://, "
                                            "socks5:// or socks5h://HOST:PORT), nor empty for no proxy",
                                            k->key);
                r = assign_string(field, value);
                break;
        }
        case VALUE_PATH:
                if (value[0] != '/')
                        return parser_error(p, p->line, "%s: \"%s\" is not an absolute path", k->key, value);
                r = assign_string(field, value);
                break;
        case VALUE_SECRET:
                if (!*value || (strchr(value, '/') && value[0] != '/'))
                        return parser_error(p, p->line,
                                            "%s: \"%s\" is neither an absolute path nor a credential name", k->key,
                                            value);
                r = assign_string(field, value);
                break;
        case VALUE_URL:
                if (!url_valid(value, strlen(value), false))
                        /* The value is not repeated: a webhook URL may carry its service's token. */
                        return parser_error(p, p->line, "%s: not an http:// or https:// URL of at most 2048 bytes "
                                            "without spaces", k->key);
                r = assign_string(field, value);
                break;
        case VALUE_URL_LIST: {
                /* A later assignment replaces the list, as every key's does (a drop-in may move a webhook). */
                StringList urls = {};
                for (const char *word = value + strspn(value, " \t"); *word; word += strspn(word, " \t")) {
                        size_t n = strcspn(word, " \t");
                        if (!url_valid(word, n, false)) {
                                string_list_clear(&urls);
                                /* The value is not repeated: a webhook URL may carry its service's token. */
                                return parser_error(p, p->line, "%s: not an http:// or https:// URL of at most 2048 "
                                                    "bytes without spaces", k->key);
                        }
                        r = string_list_append(&urls, word, n);
                        if (r < 0) {
                                string_list_clear(&urls);
                                return parser_error(p, p->line, r == -E2BIG ? "%s: more than 64 URLs" : "out of memory",
                                                    k->key);
                        }
                        word += n;
                }
                if (urls.n == 0)
                        return parser_error(p, p->line, "%s: not an http:// or https:// URL of at most 2048 bytes "
                                            "without spaces", k->key);
                string_list_clear(field);
                *(StringList *) field = urls;
                r = 0;
                break;
        }
        case VALUE_LINK:
                if (!url_valid(value, strlen(value), true))
                        return parser_error(p, p->line, "%s: \"%s\" is not an http://, https:// or file:// URL of at "
                                            "most 2048 bytes without spaces", k->key, value);
                r = assign_string(field, value);
                break;
        case VALUE_LABEL:
                return parse_label(p, k, value, field);
        case VALUE_WEBHOOK_FORMAT: {
                WebhookFormat format = webhook_format_from_string(value);
                if (format < 0)
                        return parser_error(p, p->line, "%s: \"%s\" is not one of json, slack, alertmanager", k->key,
                                            value);
                *(WebhookFormat *) field = format;
                r = 0;
                break;
        }
        case VALUE_WEBHOOK_EVENTS: {
                static const struct {
                        const char *name;
                        unsigned bit;
                } kinds[] = {
                        { "problem", WEBHOOK_EVENT_PROBLEM },
                        { "recovery", WEBHOOK_EVENT_RECOVERY },
                        { "change", WEBHOOK_EVENT_CHANGE },
                        { "reminder", WEBHOOK_EVENT_REMINDER },
                        { "all", WEBHOOK_EVENTS_ALL },
                };
                unsigned bits = 0;
                for (const char *word = value + strspn(value, " ,"); *word; word += strspn(word, " ,")) {
                        size_t n = strcspn(word, " ,");
                        bool found = false;
                        for (size_t i = 0; i < ELEMENTSOF(kinds) && !found; i++)
                                if (strlen(kinds[i].name) == n && strncmp(word, kinds[i].name, n) == 0) {
                                        bits |= kinds[i].bit;
                                        found = true;
                                }
                        if (!found)
                                return parser_error(p, p->line,
                                                    "%s: \"%.*s\" is not one of problem, recovery, change, reminder",
                                                    k->key, (int) n, word);
                        word += n;
                }
                if (bits == 0)
                        return parser_error(p, p->line, "%s: the value is empty", k->key);
                *(unsigned *) field = bits;
                r = 0;
                break;
        }
        case VALUE_HEADER: {
                const char *colon = strchr(value, ':');
                if (!colon || colon == value || strpbrk(value, "\r\n") || strcspn(value, " \t") < (size_t) (colon - value))
                        /* Not repeated: the value may be a credential. */
                        return parser_error(p, p->line, "%s: the value is not \"Name: value\"", k->key);
                if (strlen(value) > WEBHOOK_HEADER_MAX)
                        return parser_error(p, p->line, "%s: the header is longer than %d bytes", k->key,
                                            WEBHOOK_HEADER_MAX);
                _fallthrough_;
        }
        case VALUE_APPEND: {
                StringList *list = field;
                if (!*value)
                        return parser_error(p, p->line, "%s: the value is empty", k->key);
                r = string_list_append(list, value, strlen(value));
                if (r == -E2BIG)
                        return parser_error(p, p->line, "%s: more than 64 values", k->key);
                break;
        }
        case VALUE_BYTES: {
                char *end = NULL;
                unsigned long long n;
                errno = 0;
                n = strtoull(value, &end, 10);
                unsigned long long factor = 1;
                if (end && *end) {
                        static const char units[] = "KMGT";
                        const char *u = strchr(units, *end);
                        if (!u || end[1] != '\0')
                                factor = 0;
                        else
                                for (const char *c = units; c <= u; c++)
                                        factor *= 1024;
                }
                if (errno != 0 || end == value || factor == 0 || n == 0 || n > UINT64_MAX / factor)
                        return parser_error(p, p->line, "%s: \"%s\" is not a size (e.g. 64M, 1G)", k->key, value);
                *(uint64_t *) field = n * factor;
                r = 0;
                break;
        }
        case VALUE_PINS:
                if (probe_settings_check_pins(value, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = assign_string(field, value);
                break;
        case VALUE_EXPECT_STATUS:
                if (probe_settings_check_expect_status(value, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = assign_string(field, value);
                break;
        case VALUE_BOOLEAN: {
                static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(yes) && !found; i++)
                        if (strcasecmp(value, yes[i]) == 0)
                                found = *(bool *) field = true;
                for (size_t i = 0; i < ELEMENTSOF(no) && !found; i++)
                        if (strcasecmp(value, no[i]) == 0) {
                                *(bool *) field = false;
                                found = true;
                        }
                if (!found)
                        return parser_error(p, p->line, "%s: \"%s\" is not a boolean (yes or no)", k->key, value);
                r = 0;
                break;
        }
        case VALUE_MQTT_VERSION:
                if (probe_settings_parse_mqtt_version(value, field, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = 0;
                break;
        case VALUE_SEVERITY:
                if (probe_settings_parse_severity(value, field, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = 0;
                break;
        case VALUE_GROUPS: {
                _cleanup_free_ char *groups = NULL, *error = NULL;
                r = probe_settings_parse_groups(value, &groups, &error);
                if (r == -EINVAL)
                        return parser_error(p, p->line, "%s: %s", k->key, error ?: "out of memory");
                if (r >= 0) {
                        free(*(char **) field);
                        *(char **) field = TAKE_PTR(groups);
                }
                break;
        }
        case VALUE_REVOCATION:
                if (probe_settings_parse_revocation(value, field, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = 0;
                break;
        case VALUE_HTTP_PATH:
                if (probe_settings_check_path(value, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = assign_string(field, value);
                break;
        case VALUE_DURATION:
        case VALUE_TIMEOUT: {
                usec_t usec, max = k->type == VALUE_TIMEOUT ? CONFIG_TIMEOUT_MAX_USEC : CONFIG_INTERVAL_MAX_USEC;
                char maximum[FORMAT_TIMESPAN_MAX];
                r = parse_sec_max(value, max, &usec);
                if (r == -ERANGE)
                        return parser_error(p, p->line, "%s: \"%s\" is longer than the maximum, %s", k->key, value,
                                            format_timespan(maximum, sizeof(maximum), max));
                if (r < 0)
                        return parser_error(p, p->line, "%s: \"%s\" is not a duration (try %s)", k->key, value,
                                            duration_hint(value));
                if (usec == 0)
                        return parser_error(p, p->line, "%s: \"%s\" must be longer than 0 (try %s)", k->key, value,
                                            duration_hint(value));
                *(usec_t *) field = usec;
                break;
        }
        case VALUE_LIFETIME:
                if (probe_settings_parse_lifetime(value, field, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" %s", k->key, value, reason);
                r = 0;
                break;
        case VALUE_FLOOR: {
                usec_t usec = 0;
                char maximum[FORMAT_TIMESPAN_MAX];
                if (strcmp(value, "auto") != 0 && parse_sec_max(value, CONFIG_FLOOR_MAX_USEC, &usec) == -ERANGE)
                        return parser_error(p, p->line, "%s: \"%s\" is longer than the maximum, %s", k->key, value,
                                            format_timespan(maximum, sizeof(maximum), CONFIG_FLOOR_MAX_USEC));
                if (strcmp(value, "auto") != 0 && (parse_sec(value, &usec) < 0 || usec == 0))
                        return parser_error(p, p->line, "%s: \"%s\" is not a duration or \"auto\" (try %s)",
                                            k->key, value, duration_hint(value));
                *(usec_t *) field = usec;
                r = 0;
                break;
        }
        case VALUE_DAYS:
                if (parse_unsigned(value, PROBE_SETTINGS_DAYS_MAX, field) < 0)
                        return parser_error(p, p->line, "%s: \"%s\" is not a number of days (0 to 3650)", k->key,
                                            value);
                r = 0;
                break;
        case VALUE_COUNT:
                if (parse_unsigned(value, 100000, field) < 0 || *(unsigned *) field == 0)
                        return parser_error(p, p->line, "%s: \"%s\" is not a positive whole number", k->key, value);
                r = 0;
                break;
        case VALUE_PROTOCOL: {
                const Protocol *protocol = protocol_from_string(value);
                if (!protocol) {
                        char names[PROTOCOL_NAMES_MAX];
                        (void) protocol_names(", ", names, sizeof(names));
                        return parser_error(p, p->line, "%s: \"%s\" is not one of %s", k->key, value, names);
                }
                *(const Protocol **) field = protocol;
                r = 0;
                break;
        }
        case VALUE_ADDRESS: {
                TargetConfig *t = base;
                char *host = NULL;
                uint16_t port;

                if (parse_host_port(value, 0, &host, &port, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\": %s", k->key, value,
                                            reason ?: "not HOST:PORT");
                free(t->probe.host);
                t->probe.host = host;
                t->probe.port = port;
                r = 0;
                break;
        }
        case VALUE_GLOB: {
                /* As Prometheus's file_sd: wildcards in the file's name only, so that the directories to
                 * watch are known. */
                const char *slash = strrchr(value, '/'), *wildcard = strpbrk(value, "*?[");
                if (value[0] != '/' || !slash[1] || (wildcard && wildcard < slash))
                        return parser_error(p, p->line, "%s: \"%s\" is not an absolute path with wildcards (*?[) "
                                            "in its last part only", k->key, value);
                r = string_list_append(field, value, strlen(value));
                if (r == -E2BIG)
                        return parser_error(p, p->line, "%s: more than 64 values", k->key);
                break;
        }
        case VALUE_SHARD: {
                ConfigShard *shard = field;
                const char *slash = strchr(value, '/');
                _cleanup_free_ char *index = slash ? strndup(value, (size_t) (slash - value)) : NULL;
                if (!slash || !index || parse_unsigned(index, 65535, &shard->index) < 0 ||
                    parse_unsigned(slash + 1, 65536, &shard->count) < 0 || shard->count == 0 ||
                    shard->index >= shard->count)
                        return parser_error(p, p->line, "%s: \"%s\" is not I/N with 0 <= I < N <= 65536 (e.g. 0/2)",
                                            k->key, value);
                r = 0;
                break;
        }
        case VALUE_SRV: {
                /* RFC 2782: _Service._Proto.Name; a trailing dot (an absolute name) is allowed. */
                TargetConfig *t = base;
                size_t n = strlen(value);
                const char *proto = value[0] == '_' ? strstr(value, "._") : NULL;
                static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
                bool plain = n > 0 && n < 254 && strspn(value, name_chars) == n && !strstr(value, "..");
                if (!plain || !proto || !strchr(proto + 2, '.'))
                        return parser_error(p, p->line, "%s: \"%s\" is not an SRV name such as "
                                            "_secure-mqtt._tcp.example.com", k->key, value);
                _cleanup_free_ char *name = strndup(value, value[n - 1] == '.' ? n - 1 : n);
                if (!name)
                        return parser_error(p, p->line, "out of memory");
                for (char *c = name; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                r = assign_string(&t->srv_name, name);
                break;
        }
        case VALUE_VANTAGE:
                /* A label value in every exposition and alert: short, UTF-8, one line. */
                if (!*value || strlen(value) > 128 || !utf8_is_valid(value) || strpbrk(value, "\"\\"))
                        return parser_error(p, p->line, "%s: \"%s\" is not 1 to 128 bytes of UTF-8 without "
                                            "quotes or backslashes", k->key, value);
                r = assign_string(field, value);
                break;
        case VALUE_LISTEN: {
                HttpConfig *h = base;
                _cleanup_free_ char *host = NULL;
                uint16_t port;
                union {
                        struct in_addr in;
                        struct in6_addr in6;
                } address;

                if (parse_host_port(value, 0, &host, &port, &reason) < 0)
                        return parser_error(p, p->line, "%s: \"%s\": %s", k->key, value, reason ?: "not IP:PORT");
                if (inet_pton(AF_INET, host, &address) != 1 && inet_pton(AF_INET6, host, &address) != 1)
                        return parser_error(p, p->line,
                                            "%s: \"%s\": the host must be an IP address, e.g. 127.0.0.1:9883 or "
                                            "[::1]:9883", k->key, value);
                r = assign_string(&h->listen, value);
                if (r >= 0) {
                        free(h->listen_host);
                        h->listen_host = TAKE_PTR(host);
                        h->listen_port = port;
                }
                break;
        }
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return parser_error(p, p->line, "out of memory");
        return 1;
}

/* A new section's name, and the file it is first seen in, for later messages. */
static int section_names_init(Parser *p, const char *name, char **ret_name, char **ret_file) {
        *ret_name = strdup(name);
        *ret_file = strdup(p->file_name);
        if (!*ret_name || !*ret_file) {
                *ret_name = mfree(*ret_name);
                *ret_file = mfree(*ret_file);
                return -ENOMEM;
        }
        return 0;
}

static size_t name_hash(const char *name) {
        size_t hash = 14695981039346656037ULL; /* FNV-1a */

        for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                hash = (hash ^ *c) * 1099511628211ULL;
        return hash;
}

/* The slot where `name` is, or the empty slot where it would go. n_target_slots is a power of two. */
static size_t *target_slot(const Config *c, const char *name) {
        size_t mask = c->n_target_slots - 1;

        for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
                size_t *slot = &c->target_slots[i];
                if (*slot == 0 || strcmp(c->targets[*slot - 1].name, name) == 0)
                        return slot;
        }
}

/* Keeps the index at most half full, so that probing stays short. */
static int target_index_reserve(Config *c, size_t n) {
        if (n * 2 < c->n_target_slots)
                return 0;
        size_t n_slots = 64;
        while (n_slots <= n * 2)
                n_slots *= 2;
        size_t *slots = calloc(n_slots, sizeof(size_t));
        if (!slots)
                return -ENOMEM;
        free(c->target_slots);
        c->target_slots = slots;
        c->n_target_slots = n_slots;
        for (size_t i = 0; i < c->n_targets; i++)
                *target_slot(c, c->targets[i].name) = i + 1;
        return 0;
}

/* Both return the section's index, or -1 when there are too many or memory ran out. */
static ssize_t find_or_add_target(Parser *p, const char *name) {
        Config *c = p->config;

        if (target_index_reserve(c, c->n_targets + 1) < 0)
                return -1;
        size_t *slot = target_slot(c, name);
        if (*slot != 0)
                return (ssize_t) (*slot - 1);

        if (c->n_targets >= TARGETS_MAX)
                return -1;
        if (c->n_targets == c->targets_allocated) {
                size_t n = MAX(c->targets_allocated * 2, (size_t) 16);
                TargetConfig *targets = reallocarray(c->targets, n, sizeof(TargetConfig));
                if (!targets)
                        return -1;
                c->targets = targets;
                c->targets_allocated = n;
        }

        TargetConfig *t = &c->targets[c->n_targets];
        *t = (TargetConfig) { .line = p->section_line };
        if (section_names_init(p, name, &t->name, &t->file) < 0)
                return -1;
        c->n_targets++;
        *slot = c->n_targets;
        return (ssize_t) (c->n_targets - 1);
}

static const char *const webhook_format_table[_WEBHOOK_FORMAT_MAX] = {
        [WEBHOOK_FORMAT_JSON] = "json",
        [WEBHOOK_FORMAT_SLACK] = "slack",
        [WEBHOOK_FORMAT_ALERTMANAGER] = "alertmanager",
};

DEFINE_STRING_TABLE_LOOKUP(webhook_format, WebhookFormat, _WEBHOOK_FORMAT_MAX);

static ssize_t find_or_add_webhook(Parser *p, const char *name) {
        Config *c = p->config;

        for (size_t i = 0; i < c->n_webhooks; i++)
                if (strcmp(c->webhooks[i].name, name) == 0)
                        return (ssize_t) i;
        if (c->n_webhooks >= 64)
                return -1;
        WebhookConfig *webhooks = realloc(c->webhooks, (c->n_webhooks + 1) * sizeof(WebhookConfig));
        if (!webhooks)
                return -1;
        c->webhooks = webhooks;
        WebhookConfig *w = &c->webhooks[c->n_webhooks];
        *w = (WebhookConfig) { .line = p->section_line };
        if (section_names_init(p, name, &w->name, &w->file) < 0)
                return -1;
        c->n_webhooks++;
        return (ssize_t) (c->n_webhooks - 1);
}

/* The sections with a name: [Target NAME] and [Webhook NAME]. */
typedef struct NamedSection {
        const char *prefix;
        const char *noun;
        bool webhook;
        ssize_t (*find_or_add)(Parser *p, const char *name);
} NamedSection;

static const NamedSection named_sections[] = {
        { "Target", "target", false, find_or_add_target },
        { "Webhook", "webhook", true, find_or_add_webhook },
};

static bool target_name_valid(const char *name) {
        /* Names appear in journal fields, JSON and command lines: keep them plain. */
        if (!*name || strlen(name) > 128)
                return false;
        for (const char *c = name; *c; c++)
                if (!(('a' <= *c && *c <= 'z') || ('A' <= *c && *c <= 'Z') || ('0' <= *c && *c <= '9') ||
                      strchr("-_.:@", *c)))
                        return false;
        return true;
}

static void check_section(Parser *p) {
        const char *section = p->section;

        p->target = false;
        p->webhook = false;
        p->http = false;
        if (p->error)
                return;
        if (strcmp(section, "Defaults") == 0)
                return;
        if (strcmp(section, "HTTP") == 0) {
                HttpConfig *h = &p->config->http;
                p->http = true;
                if (!h->file) {
                        h->file = strdup(p->file_name);
                        h->line = p->section_line;
                        if (!h->file)
                                (void) parser_error(p, p->line, "out of memory");
                }
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(named_sections); i++) {
                const NamedSection *kind = &named_sections[i];
                size_t n = strlen(kind->prefix);

                if (strncmp(section, kind->prefix, n) != 0 || section[n] != ' ')
                        continue;
                const char *name = section + n + strspn(section + n, " ");
                if (!target_name_valid(name)) {
                        (void) parser_error(p, p->section_line, "[%s]: a %s name is 1 to 128 letters, digits or -_.:@",
                                            section, kind->noun);
                        return;
                }
                ssize_t index = kind->find_or_add(p, name);
                if (index < 0) {
                        (void) parser_error(p, p->line, "too many %ss or out of memory", kind->noun);
                        return;
                }
                p->target = !kind->webhook;
                p->webhook = kind->webhook;
                *(kind->webhook ? &p->webhook_index : &p->target_index) = (size_t) index;
                return;
        }
        (void) parser_error(p, p->section_line,
                            "unknown section [%s] (expected [Defaults], [Target NAME], [Webhook NAME] or [HTTP])",
                            section);
}

/* Sections are checked (and targets created) when their header is read, so an empty or misnamed
 * section is reported too; here every section is known to be [Defaults] or a valid [Target NAME]. */
static int on_key(void *userdata, const char *truncated_section, const char *key, const char *value) {
        Parser *p = userdata;
        const KeyDefinition *k = NULL;
        void *base;
        uint64_t *mask;

        if (p->error)
                return 1; /* already failed; report only the first error */
        if (!p->section)
                return parser_error(p, p->line, "\"%s=\" stands before any section; put it under [Defaults] or "
                                    "[Target NAME]", key);

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].key, key) == 0 && (keys[i].scope == SCOPE_WEBHOOK) == p->webhook &&
                    (keys[i].scope == SCOPE_HTTP) == p->http)
                        k = &keys[i];

        if (!k && !p->http)
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (strcmp(keys[i].key, key) == 0 && keys[i].scope == SCOPE_HTTP)
                                return parser_error(p, p->line, "%s= belongs in [HTTP]", key);

        if (p->http) {
                if (!k)
                        return parser_error(p, p->line, "unknown key \"%s\" in [HTTP]", key);
                base = &p->config->http;
                mask = &p->config->http.set_mask;
        } else if (p->webhook) {
                if (!k)
                        return parser_error(p, p->line, "unknown key \"%s\" in [%s]", key, p->section);
                base = &p->config->webhooks[p->webhook_index];
                mask = &p->config->webhooks[p->webhook_index].set_mask;
        } else if (!p->target) {
                if (!k)
                        return parser_error(p, p->line, "unknown key \"%s\" in [Defaults]", key);
                if (k->scope == SCOPE_TARGET_ONLY)
                        return parser_error(p, p->line, "%s= belongs in a [Target NAME] section, not [Defaults]", key);
                if (k->scope == SCOPE_GLOBAL) {
                        base = p->config;
                        mask = &p->config->global_set_mask;
                } else {
                        base = &p->config->defaults;
                        mask = &p->config->defaults.set_mask;
                }
        } else {
                if (!k)
                        return parser_error(p, p->line, "unknown key \"%s\" in [%s]", key, p->section);
                if (k->scope == SCOPE_GLOBAL)
                        return parser_error(p, p->line, "%s= belongs in [Defaults], not in a target", key);
                /* Looked up by index: the targets array may have moved since the header. */
                base = &p->config->targets[p->target_index];
                mask = &p->config->targets[p->target_index].set_mask;
        }

        if (parse_value(p, k, value, base) == 0)
                return 0;
        *mask |= UINT64_C(1) << (k - keys);
        return 1;
}

int config_new(Config **ret) {
        Config *c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int config_parse_text(Config *config, const char *file_name, const char *text, char **ret_error) {
        Parser p = { .config = config, .file_name = file_name, .text = text };
        int r;

        /* libinih as Debian builds it takes its dialect at run time: systemd's, with whole-line
         * comments only (values may hold ';'), no continuation lines, and lines up to 4 KiB. */
        ini_allow_inline_comments = false;
        ini_allow_multiline = false;
        ini_use_stack = false;
        ini_max_line = LINE_MAX_CHARS;
        ini_allow_realloc = false;
        ini_initial_alloc = LINE_MAX_CHARS;
        ini_stop_on_first_error = true;

        r = ini_parse_stream(read_line, &p, on_key, &p);
        if (r > 0 && !p.error)
                /* A line libinih itself rejects: no '=', or an unclosed '['. */
                (void) parser_error(&p, (unsigned) r, "expected KEY=VALUE, a [Section] or a # comment");
        if (r < 0 && !p.error)
                (void) parser_error(&p, 0, "out of memory");
        free(p.section);
        if (p.error) {
                *ret_error = p.error;
                return -EINVAL;
        }
        return 0;
}

/* The field a target key's value is stored in, as TargetConfig's field table describes it. */
static const Field *target_key_field(const KeyDefinition *k, size_t *ret_base) {
        assert(k && (k->scope == SCOPE_TARGET || k->scope == SCOPE_TARGET_ONLY));
        return field_table_find(target_config_fields, target_config_n_fields, k->offset, ret_base);
}

/* Copies each key [Defaults] set and the target did not; what a key's value is and how it is copied
 * comes from TargetConfig's field table, not from a second list here. */
static int inherit(TargetConfig *t, const TargetConfig *defaults) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                uint64_t bit = UINT64_C(1) << i;
                size_t base;

                if (keys[i].scope != SCOPE_TARGET || (t->set_mask & bit) || !(defaults->set_mask & bit))
                        continue;
                const Field *f = target_key_field(&keys[i], &base);
                assert(f); /* config_check_tables() */
                if (field_copy(f, (uint8_t *) t + base, (const uint8_t *) defaults + base) < 0)
                        return -ENOMEM;
                t->set_mask |= bit;
        }
        return 0;
}

int config_check_tables(const char **ret_key) {
        size_t base;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if ((keys[i].scope == SCOPE_TARGET || keys[i].scope == SCOPE_TARGET_ONLY) &&
                    !target_key_field(&keys[i], &base)) {
                        *ret_key = keys[i].key;
                        return -ENOENT;
                }
        if (!field_table_covers(target_config_fields, target_config_n_fields, sizeof(TargetConfig))) {
                *ret_key = "(a TargetConfig member missing from target_config_fields)";
                return -ENOENT;
        }
        return 0;
}

size_t config_target_keys(const char **ret, size_t size) {
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].scope == SCOPE_TARGET || keys[i].scope == SCOPE_TARGET_ONLY) {
                        if (n < size)
                                ret[n] = keys[i].key;
                        n++;
                }
        return n;
}

/* "FILE:LINE: [KIND NAME]: message", the form of every error found after parsing, when the whole
 * section is known. Returns -EINVAL. */
int config_section_error(char **ret_error, const char *kind, const char *file, unsigned line, const char *name,
                         const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (asprintf(ret_error, "%s:%u: [%s%s%s]: %s", file, line, kind, *name ? " " : "", name,
                     message ?: "invalid") < 0)
                *ret_error = NULL;
        return -EINVAL;
}

#define webhook_error(ret_error, w, ...) \
        config_section_error(ret_error, "Webhook", (w)->file, (w)->line, (w)->name, __VA_ARGS__)
#define finish_error(ret_error, t, ...) \
        config_section_error(ret_error, "Target", (t)->file, (t)->line, (t)->name, __VA_ARGS__)

static uint64_t key_bit(const char *key);

static int finish_webhooks(Config *config, char **ret_error) {
        if (!config->spool_max_bytes)
                config->spool_max_bytes = DEFAULT_SPOOL_MAX_BYTES;

        for (size_t i = 0; i < config->n_webhooks; i++) {
                WebhookConfig *w = &config->webhooks[i];

                if (w->urls.n == 0)
                        return webhook_error(ret_error, w, "URL= is missing");
                if (w->urls.n > 1 && w->format != WEBHOOK_FORMAT_ALERTMANAGER)
                        return webhook_error(ret_error, w, "URL= names %zu URLs: only Format=alertmanager posts to "
                                             "several receivers (the peers of an Alertmanager cluster)", w->urls.n);
                if (w->format != WEBHOOK_FORMAT_ALERTMANAGER && (w->labels.n > 0 || w->runbook_url ||
                                                                  (w->set_mask & key_bit("VantageLabel"))))
                        return webhook_error(ret_error, w, "%s= is for Format=alertmanager only",
                                             w->labels.n > 0 ? "Label"
                                             : w->runbook_url ? "RunbookURL"
                                                              : "VantageLabel");
                for (size_t j = 0; j < w->urls.n; j++)
                        if (strncmp(w->urls.items[j], "http://", 7) == 0 && !webhook_config_allows_http(w))
                                return webhook_error(
                                        ret_error, w,
                                        w->format == WEBHOOK_FORMAT_ALERTMANAGER
                                                ? "URL= is plain http and the webhook sends a credential "
                                                  "(BearerTokenFile=, SecretFile= or Header=): it would travel "
                                                  "unprotected; use https, or set AllowInsecureHTTP=yes to accept that"
                                                : "URL= is plain http: alerts would travel unprotected; use https, or "
                                                  "set AllowInsecureHTTP=yes to accept that");
                if (!w->events)
                        w->events = WEBHOOK_EVENTS_ALL;
                if (!w->timeout_usec)
                        w->timeout_usec = DEFAULT_WEBHOOK_TIMEOUT_USEC;
                if (!w->retry_max_usec)
                        w->retry_max_usec = DEFAULT_WEBHOOK_RETRY_MAX_USEC;
        }
        return 0;
}

static uint64_t key_bit(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].key, key) == 0)
                        return UINT64_C(1) << i;
        return 0;
}

/* [HTTP]: the defaults of the bounds, and the URL that links (webhook generatorURL) point at. */
static int finish_http(Config *config, char **ret_error) {
        HttpConfig *h = &config->http;

        if (!h->max_connections)
                h->max_connections = DEFAULT_HTTP_MAX_CONNECTIONS;
        if (!h->max_connections_per_ip)
                h->max_connections_per_ip = MIN(DEFAULT_HTTP_MAX_CONNECTIONS_PER_IP, h->max_connections);
        if (!h->timeout_usec)
                h->timeout_usec = DEFAULT_HTTP_TIMEOUT_USEC;
        if (!h->max_probes_on_demand)
                h->max_probes_on_demand = DEFAULT_HTTP_MAX_PROBES_ON_DEMAND;

        if (!h->listen) {
                if (h->external_url)
                        return config_section_error(ret_error, "HTTP", h->file, h->line, "",
                                             "ExternalURL= needs Listen= (the endpoint is off without it)");
                return 0;
        }
        if (h->max_connections_per_ip > h->max_connections)
                return config_section_error(ret_error, "HTTP", h->file, h->line, "",
                                     "MaxConnectionsPerIP= must not exceed MaxConnections=");
        if (h->timeout_usec < USEC_PER_SEC)
                return config_section_error(ret_error, "HTTP", h->file, h->line, "", "Timeout= must be at least 1s");
        if (h->external_url) {
                size_t n = strlen(h->external_url);
                while (n > 0 && h->external_url[n - 1] == '/')
                        h->external_url[--n] = '\0';
        } else if (asprintf(&h->external_url, "http://%s", h->listen) < 0) {
                h->external_url = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* [Defaults] for the keys the target did not set, the built-in defaults, and the checks that need the
 * whole section. */
static int finish_target(Config *config, TargetConfig *t, char **ret_error) {
        if (inherit(t, &config->defaults) < 0)
                return -ENOMEM;

        if (t->srv_name && t->probe.host)
                return finish_error(ret_error, t, "Address= and SRV= exclude each other: SRV= names "
                                    "the hosts and ports");
        if (!t->probe.host && !t->srv_name)
                return finish_error(ret_error, t, "Address= is missing (HOST:PORT)");
        if (t->srv_name) {
                /* A template: validated as its expansions will be, on a stand-in address; their
                 * protocol (unless Protocol= says) follows each record's port. */
                t->probe.host = strdup(t->srv_name);
                if (!t->probe.host)
                        return -ENOMEM;
                t->probe.port = 8883;
        } else
                t->probe.protocol = probe_settings_protocol(&t->probe);
        if (!t->interval_usec)
                t->interval_usec = DEFAULT_INTERVAL_USEC;
        if (!t->retry_interval_usec)
                t->retry_interval_usec = MIN(DEFAULT_RETRY_INTERVAL_USEC, t->interval_usec);
        if (!t->probe.timeout_usec)
                t->probe.timeout_usec = MIN(DEFAULT_TIMEOUT_USEC, t->interval_usec);
        if (!t->repeat_interval_usec)
                t->repeat_interval_usec = DEFAULT_REPEAT_INTERVAL_USEC;
        /* Either day threshold given (here or in [Defaults]) judges by days as before; the other
         * keeps its old default. Neither: the lifetime policy alone. */
        t->probe.days_set = t->set_mask & (key_bit("WarnDays") | key_bit("CritDays"));
        if (!(t->set_mask & key_bit("WarnDays")))
                t->probe.warn_days = DEFAULT_WARN_DAYS;
        if (!(t->set_mask & key_bit("CritDays")))
                t->probe.crit_days = DEFAULT_CRIT_DAYS;
        if (!t->confirm_failures)
                t->confirm_failures = DEFAULT_CONFIRM_FAILURES;
        if (!t->probe.mqtt_version)
                t->probe.mqtt_version = 4;

        _cleanup_free_ char *error = NULL;
        if (probe_settings_validate(&t->probe, PROBE_SETTINGS_NAMES_CONFIG, &error) < 0)
                return finish_error(ret_error, t, "%s", error ?: "out of memory");
        if (t->key_file_on_disk && !t->cert_file_on_disk)
                return finish_error(ret_error, t, "KeyFile= needs CertFile=");
        if (t->probe.timeout_usec > t->interval_usec)
                return finish_error(ret_error, t, "Timeout= must not exceed Interval=");
        if (t->srv_name) {
                t->probe.host = mfree(t->probe.host);
                t->probe.port = 0;
        }
        return 0;
}

int config_finish(Config *config, char **ret_error) {
        int r;

        if (!(config->global_set_mask & key_bit("MaxConcurrentProbes")))
                config->max_concurrent_probes = DEFAULT_MAX_CONCURRENT_PROBES;
        r = finish_webhooks(config, ret_error);
        if (r < 0)
                return r;
        r = finish_http(config, ret_error);
        if (r < 0)
                return r;

        for (size_t i = 0; i < config->n_targets; i++) {
                r = finish_target(config, &config->targets[i], ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_file(Config *config, const char *path, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        int r;

        /* A configuration is small; a file of megabytes is a mistake we refuse. */
        r = read_full_file(path, 16 * 1024 * 1024, &text);
        if (r < 0) {
                if (asprintf(ret_error, "%s: cannot read: %s", path, file_error_text(r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        return config_parse_text(config, path, text, ret_error);
}

static int is_conf_file(const struct dirent *entry) {
        size_t n = strlen(entry->d_name);
        return entry->d_name[0] != '.' && n > 5 && strcmp(entry->d_name + n - 5, ".conf") == 0;
}

int config_load(const char *main_file, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *directory = NULL;
        struct dirent **entries = NULL;
        int r, n;

        *ret_error = NULL;
        r = config_new(&config);
        if (r < 0)
                return r;

        r = parse_file(config, main_file, ret_error);
        if (r < 0)
                return r;

        const char *slash = strrchr(main_file, '/');
        if (asprintf(&directory, "%.*sconf.d", slash ? (int) (slash - main_file + 1) : 0, main_file) < 0)
                return -ENOMEM;

        /* A conf.d that is not a directory is an error, not silence: whoever made it meant its
         * contents to count. (scandir() opens it with O_DIRECTORY, so a FIFO there cannot block.) */
        n = scandir(directory, &entries, is_conf_file, alphasort);
        if (n < 0 && errno != ENOENT) {
                r = -errno;
                if (asprintf(ret_error, "%s: cannot read the directory: %s", directory,
                             r == -ENOTDIR ? "it is not a directory (drop-ins go into a directory conf.d)"
                                           : strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (r >= 0 && asprintf(&path, "%s/%s", directory, entries[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = parse_file(config, path, ret_error);
                free(entries[i]);
        }
        free(entries);
        if (r < 0)
                return r;

        r = config_finish(config, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(config);
        return 0;
}

const TargetConfig *config_find_target(const Config *config, const char *name) {
        if (config->n_target_slots == 0)
                return NULL;
        size_t slot = *target_slot(config, name);
        return slot ? &config->targets[slot - 1] : NULL;
}

int config_replace_target(Config *config, size_t index, TargetConfig *insert, size_t n, char **ret_error) {
        size_t total = config->n_targets - 1 + n;

        assert(config->targets && index < config->n_targets);
        const TargetConfig *replaced = &config->targets[index];
        *ret_error = NULL;
        if (total > TARGETS_MAX)
                return -E2BIG;
        /* Names must stay unique: the state file, status and alerts know a target by its name. */
        for (size_t i = 0; i < n; i++) {
                const TargetConfig *other = config_find_target(config, insert[i].name);
                bool taken = other && other != replaced;
                for (size_t j = 0; j < i && !taken; j++)
                        taken = strcmp(insert[j].name, insert[i].name) == 0;
                if (taken) {
                        if (asprintf(ret_error, "%s:%u: [Target %s]: the target name \"%s\" is taken",
                                     insert[i].file, insert[i].line, replaced->name, insert[i].name) < 0)
                                *ret_error = NULL;
                        return -EEXIST;
                }
        }
        TargetConfig *targets = calloc(MAX(total, (size_t) 1), sizeof(TargetConfig));
        size_t *slots = NULL;
        size_t n_slots = 64;
        while (n_slots <= total * 2)
                n_slots *= 2;
        slots = targets ? calloc(n_slots, sizeof(size_t)) : NULL;
        if (!slots) {
                free(targets);
                return -ENOMEM;
        }

        target_config_clear(&config->targets[index]);
        memcpy(targets, config->targets, index * sizeof(TargetConfig));
        if (n > 0) /* insert may be NULL then, which memcpy() must not be given even for 0 bytes */
                memcpy(targets + index, insert, n * sizeof(TargetConfig));
        memcpy(targets + index + n, config->targets + index + 1,
               (config->n_targets - index - 1) * sizeof(TargetConfig));
        free(config->targets);
        free(config->target_slots);
        config->targets = targets;
        config->targets_allocated = MAX(total, (size_t) 1);
        config->n_targets = total;
        config->target_slots = slots;
        config->n_target_slots = n_slots;
        for (size_t i = 0; i < total; i++)
                *target_slot(config, targets[i].name) = i + 1;
        return 0;
}

bool target_config_has_key(const TargetConfig *t, const char *key) {
        return t->set_mask & key_bit(key);
}

static int target_index_rebuild(Config *config) {
        config->target_slots = mfree(config->target_slots);
        config->n_target_slots = 0;
        return target_index_reserve(config, config->n_targets);
}

int config_add_target(Config *config, const char *name, const char *file, unsigned line,
                      const ConfigSetting *settings, size_t n_settings, char **ret_error) {
        Parser p = { .config = config, .file_name = file, .line = line };
        TargetConfig t = { .line = line };
        int r;

        assert(config && name && file && ret_error);
        *ret_error = NULL;
        if (!target_name_valid(name))
                return config_section_error(ret_error, "Target", file, line, name,
                                            "a target name is 1 to 128 letters, digits or -_.:@");
        if (config_find_target(config, name))
                return config_section_error(ret_error, "Target", file, line, name,
                                            "the target name is taken (by [Target %s] in %s:%u)", name,
                                            config_find_target(config, name)->file,
                                            config_find_target(config, name)->line);
        if (config->n_targets >= TARGETS_MAX)
                return config_section_error(ret_error, "Target", file, line, name, "more than %d targets",
                                            TARGETS_MAX);
        t.name = strdup(name);
        t.file = strdup(file);
        if (!t.name || !t.file) {
                target_config_clear(&t);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_settings && !p.error; i++) {
                const KeyDefinition *k = NULL;
                for (size_t j = 0; j < ELEMENTSOF(keys) && !k; j++)
                        if ((keys[j].scope == SCOPE_TARGET || keys[j].scope == SCOPE_TARGET_ONLY) &&
                            strcmp(keys[j].key, settings[i].key) == 0)
                                k = &keys[j];
                if (!k)
                        (void) parser_error(&p, line, "[Target %s]: unknown target key \"%s\"", name, settings[i].key);
                else if (parse_value(&p, k, settings[i].value, &t) != 0)
                        t.set_mask |= UINT64_C(1) << (k - keys);
        }
        if (p.error) {
                target_config_clear(&t);
                *ret_error = p.error;
                return -EINVAL;
        }
        r = finish_target(config, &t, ret_error);
        if (r >= 0 && config->n_targets == config->targets_allocated) {
                size_t n = MAX(config->targets_allocated * 2, (size_t) 16);
                TargetConfig *targets = reallocarray(config->targets, n, sizeof(TargetConfig));
                if (targets) {
                        config->targets = targets;
                        config->targets_allocated = n;
                } else
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = target_index_reserve(config, config->n_targets + 1);
        if (r < 0) {
                target_config_clear(&t);
                return r;
        }
        config->targets[config->n_targets++] = t;
        *target_slot(config, name) = config->n_targets;
        return 0;
}

int config_keep_targets(Config *config, bool (*keep)(const TargetConfig *t, void *userdata), void *userdata) {
        size_t n = 0;

        for (size_t i = 0; i < config->n_targets; i++)
                if (keep(&config->targets[i], userdata))
                        config->targets[n++] = config->targets[i];
                else
                        target_config_clear(&config->targets[i]);
        if (n == config->n_targets)
                return 0;
        config->n_targets = n;
        return target_index_rebuild(config);
}

#define T(kind, member) FIELD_##kind##_OF(TargetConfig, member)
/* Everything that decides how and when a target is probed and reported, so equality (and so whether a
 * target keeps its state across a reload) is derived from the struct, not kept by hand. Where the
 * section stood (file, line) and which keys it set are not part of it. */
const Field target_config_fields[] = {
        FIELD_NESTED_OF(TargetConfig, probe, probe_settings_fields, PROBE_SETTINGS_N_FIELDS),
        T(STRING, name),
        T(PLAIN, interval_usec),
        T(PLAIN, retry_interval_usec),
        T(PLAIN, repeat_interval_usec),
        T(PLAIN, confirm_failures),
        T(STRING, cert_file_on_disk),
        T(STRING, key_file_on_disk),
        T(STRING, cacert_file_on_disk),
        T(PLAIN, expect_client_auth),
        T(STRING, srv_name),
        FIELD_BOOKKEEPING_OF(TargetConfig, PLAIN, set_mask),
        FIELD_BOOKKEEPING_OF(TargetConfig, STRING, file),
        FIELD_BOOKKEEPING_OF(TargetConfig, PLAIN, line),
};
#undef T
const size_t target_config_n_fields = ELEMENTSOF(target_config_fields);

bool target_config_equal(const TargetConfig *a, const TargetConfig *b) {
        return field_table_equal(target_config_fields, target_config_n_fields, a, b);
}

void target_config_clear(TargetConfig *t) {
        field_table_clear(target_config_fields, target_config_n_fields, t);
}

static void string_list_clear(StringList *list) {
        for (size_t i = 0; i < list->n; i++)
                free(list->items[i]);
        free(list->items);
        *list = (StringList) {};
}

bool webhook_config_allows_http(const WebhookConfig *w) {
        return w->allow_insecure_http || (w->format == WEBHOOK_FORMAT_ALERTMANAGER && !w->bearer_token_file &&
                                          !w->secret_file && w->headers.n == 0);
}

static void webhook_config_clear(WebhookConfig *w) {
        free(w->name);
        string_list_clear(&w->urls);
        string_list_clear(&w->labels);
        free(w->runbook_url);
        string_list_clear(&w->targets);
        string_list_clear(&w->headers);
        free(w->bearer_token_file);
        free(w->secret_file);
        free(w->ca_file);
        free(w->proxy);
        free(w->file);
}

Config *config_free(Config *config) {
        if (!config)
                return NULL;
        for (size_t i = 0; i < config->n_webhooks; i++)
                webhook_config_clear(&config->webhooks[i]);
        free(config->webhooks);
        free(config->http.listen);
        free(config->http.listen_host);
        free(config->http.external_url);
        free(config->http.basic_auth_file);
        free(config->http.file);
        target_config_clear(&config->defaults);
        free(config->control_socket);
        free(config->metrics_file);
        string_list_clear(&config->targets_files);
        free(config->vantage);
        for (size_t i = 0; i < config->n_targets; i++)
                target_config_clear(&config->targets[i]);
        free(config->targets);
        free(config->target_slots);
        free(config);
        return NULL;
}
