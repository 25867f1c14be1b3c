/* SPDX-License-Identifier: MIT */
/* Broker configuration readers for discover. Mosquitto's and EMQX 4's files are line-based; EMQX 5's
 * HOCON is read for its common shapes only — nested or dotted keys with = or :, quoted or bare values —
 * by tracking the path of enclosing braces; anything else is skipped, and a file with no listener found
 * says so. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "file-util.h"
#include "log.h"
#include "macro.h"

#define LISTENERS_MAX 64

typedef struct Listener {
        char name[64];
        char protocol[8]; /* mqtt, wss, https */
        char host[128];
        unsigned port;
        char certfile[512];
        char keyfile[512];
        char cacertfile[512];
        bool client_certificates; /* require_certificate / verify_peer */
} Listener;

typedef struct Listeners {
        Listener items[LISTENERS_MAX];
        size_t n;
} Listeners;

static char *trim(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        char *end = s + strlen(s);
        while (end > s && isspace((unsigned char) end[-1]))
                *--end = '\0';
        /* Quotes, as HOCON and some EMQX 4 files write values. */
        if (end - s >= 2 && (*s == '"' || *s == '\'') && end[-1] == *s) {
                end[-1] = '\0';
                s++;
        }
        return s;
}

/* "0.0.0.0:8883", "[::]:8883", "8883" -> host (loopback for wildcards) and port. */
static bool parse_bind(const char *value, Listener *l) {
        const char *colon = strrchr(value, ':');
        const char *port = colon ? colon + 1 : value;
        char *end = NULL;
        unsigned long n = strtoul(port, &end, 10);

        if (!*port || *end || n == 0 || n > 65535)
                return false;
        l->port = (unsigned) n;
        snprintf(l->host, sizeof(l->host), "localhost");
        if (colon && colon > value) {
                char host[128];
                snprintf(host, sizeof(host), "%.*s", (int) (colon - value), value);
                if (strcmp(host, "0.0.0.0") != 0 && strcmp(host, "[::]") != 0 && strcmp(host, "::") != 0)
                        snprintf(l->host, sizeof(l->host), "%s", host);
        }
        return true;
}

static Listener *listener_get(Listeners *ls, const char *name, const char *protocol) {
        for (size_t i = 0; i < ls->n; i++)
                if (strcmp(ls->items[i].name, name) == 0)
                        return &ls->items[i];
        if (ls->n >= LISTENERS_MAX)
                return NULL;
        Listener *l = &ls->items[ls->n++];
        *l = (Listener) {};
        snprintf(l->name, sizeof(l->name), "%s", name);
        snprintf(l->protocol, sizeof(l->protocol), "%s", protocol);
        return l;
}

static void set_file(Listener *l, const char *key, const char *value) {
        if (strcmp(key, "certfile") == 0)
                snprintf(l->certfile, sizeof(l->certfile), "%s", value);
        else if (strcmp(key, "keyfile") == 0)
                snprintf(l->keyfile, sizeof(l->keyfile), "%s", value);
        else if (strcmp(key, "cacertfile") == 0 || strcmp(key, "cafile") == 0)
                snprintf(l->cacertfile, sizeof(l->cacertfile), "%s", value);
        else if (strcmp(key, "verify") == 0 && strcmp(value, "verify_peer") == 0)
                l->client_certificates = true;
}

/* Mosquitto: "listener PORT [ADDRESS]" opens a block; certfile/keyfile/cafile/require_certificate
 * and "protocol websockets" apply to the block they stand in (mosquitto.conf(5)). */
static void read_mosquitto(char *text, Listeners *ls) {
        Listener *current = NULL;
        unsigned count = 0;

        for (char *saved, *line = strtok_r(text, "\n", &saved); line; line = strtok_r(NULL, "\n", &saved)) {
                char *s = trim(line);
                if (*s == '#' || !*s)
                        continue;
                char *key = s, *value = s + strcspn(s, " \t");
                if (*value)
                        *value++ = '\0';
                value = trim(value);

                if (strcmp(key, "listener") == 0 || strcmp(key, "port") == 0) {
                        char name[32], *address = value + strcspn(value, " \t");
                        if (*address)
                                *address++ = '\0';
                        snprintf(name, sizeof(name), "mosquitto-%u", ++count);
                        current = listener_get(ls, name, "mqtt");
                        if (current && !parse_bind(value, current))
                                current->port = 0;
                        if (current && *trim(address))
                                snprintf(current->host, sizeof(current->host), "%s", trim(address));
                } else if (current && strcmp(key, "protocol") == 0 && strcmp(value, "websockets") == 0)
                        snprintf(current->protocol, sizeof(current->protocol), "wss");
                else if (current && strcmp(key, "require_certificate") == 0)
                        current->client_certificates = strcmp(value, "true") == 0;
                else if (current)
                        set_file(current, key, value);
        }
}

/* Groups a flat key (EMQX 4's, or EMQX 5's with its braces unfolded) into its listener. */
static void take_flat_key(Listeners *ls, const char *key, const char *value) {
        static const struct {
                const char *prefix;
                const char *protocol;
        } kinds[] = {
                { "listener.ssl.", "mqtt" },          /* EMQX 4 */
                { "listener.wss.", "wss" },
                { "dashboard.listener.https", "https" },
                { "listeners.ssl.", "mqtt" },         /* EMQX 5 */
                { "listeners.wss.", "wss" },
                { "dashboard.listeners.https", "https" },
        };

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                size_t n = strlen(kinds[i].prefix);
                if (strncmp(key, kinds[i].prefix, n) != 0)
                        continue;

                const char *rest = key + n;
                char name[64];
                /* The listener's own name: "external" (4) or "default" (5); the dashboard has none. */
                if (kinds[i].prefix[n - 1] == '.') {
                        size_t m = strcspn(rest, ".");
                        snprintf(name, sizeof(name), "emqx-%s-%.*s", kinds[i].protocol, (int) MIN(m, 40), rest);
                        rest += m;
                } else
                        snprintf(name, sizeof(name), "emqx-dashboard");
                if (*rest == '.')
                        rest++;

                Listener *l = listener_get(ls, name, kinds[i].protocol);
                if (!l)
                        return;
                const char *leaf = strrchr(rest, '.') ? strrchr(rest, '.') + 1 : rest;
                if (!*rest || strcmp(leaf, "bind") == 0)
                        (void) parse_bind(value, l);
                else
                        set_file(l, leaf, value);
                return;
        }
}

static void read_emqx4(char *text, Listeners *ls) {
        for (char *saved, *line = strtok_r(text, "\n", &saved); line; line = strtok_r(NULL, "\n", &saved)) {
                char *s = trim(line);
                char *equals = strchr(s, '=');
                if (*s == '#' || !equals)
                        continue;
                *equals = '\0';
                take_flat_key(ls, trim(s), trim(equals + 1));
        }
}

/* HOCON's common shapes: "a.b { c = 1, d { e: "x" } }" and "a.b.c = 1". */
static void read_emqx5(char *text, Listeners *ls) {
        char path[16][128];
        size_t depth = 0;

        for (char *saved, *line = strtok_r(text, "\n", &saved); line; line = strtok_r(NULL, "\n", &saved)) {
                char *s = trim(line);
                if (*s == '#' || (s[0] == '/' && s[1] == '/'))
                        continue;
                /* A line may hold several "key = value" parts separated by commas, and braces. */
                while (*s) {
                        s += strspn(s, " \t,");
                        if (*s == '}') {
                                if (depth > 0)
                                        depth--;
                                s++;
                                continue;
                        }
                        size_t key_length = strcspn(s, "{=:} \t,");
                        if (key_length == 0) {
                                s++;
                                continue;
                        }
                        char key[128];
                        snprintf(key, sizeof(key), "%.*s", (int) MIN(key_length, sizeof(key) - 1), s);
                        s += key_length;
                        s += strspn(s, " \t");
                        if (*s == '=' || *s == ':') {
                                s++;
                                s += strspn(s, " \t");
                        }
                        if (*s == '{') {
                                if (depth < ELEMENTSOF(path))
                                        snprintf(path[depth], sizeof(path[depth]), "%s", key);
                                depth++;
                                s++;
                                continue;
                        }
                        /* A value: quoted, or up to a comma, brace or end of line. */
                        char value[512];
                        if (*s == '"') {
                                char *close = strchr(s + 1, '"');
                                size_t n = close ? (size_t) (close - s - 1) : strlen(s + 1);
                                snprintf(value, sizeof(value), "%.*s", (int) MIN(n, sizeof(value) - 1), s + 1);
                                s = close ? close + 1 : s + strlen(s);
                        } else {
                                size_t n = strcspn(s, ",}");
                                snprintf(value, sizeof(value), "%.*s", (int) MIN(n, sizeof(value) - 1), s);
                                s += n;
                        }
                        char full[1024] = "";
                        for (size_t i = 0; i < depth && i < ELEMENTSOF(path); i++) {
                                strncat(full, path[i], sizeof(full) - strlen(full) - 2);
                                strcat(full, ".");
                        }
                        strncat(full, key, sizeof(full) - strlen(full) - 1);
                        take_flat_key(ls, full, trim(value));
                }
        }
}

int discover_listeners(BrokerKind kind, const char *text, const char *source, FILE *out, char **ret_error) {
        _cleanup_free_ char *copy = strdup(text);
        Listeners *ls = calloc(1, sizeof(Listeners));
        int found = 0;

        if (!copy || !ls) {
                free(ls);
                return -ENOMEM;
        }
        if (kind == BROKER_MOSQUITTO)
                read_mosquitto(copy, ls);
        else if (kind == BROKER_EMQX4)
                read_emqx4(copy, ls);
        else
                read_emqx5(copy, ls);

        for (size_t i = 0; i < ls->n; i++) {
                const Listener *l = &ls->items[i];
                if (!l->certfile[0] || l->port == 0)
                        continue; /* not TLS, or no port we could read */
                fprintf(out, "# from %s\n[Target %s]\n", source, l->name);
                fprintf(out, strchr(l->host, ':') && l->host[0] != '[' ? "Address=[%s]:%u\n" : "Address=%s:%u\n",
                        l->host, l->port);
                fprintf(out, "Protocol=%s\n", l->protocol);
                fprintf(out, "%sCertFile=%s\n", l->certfile[0] == '/' ? "" : "# relative to the broker: ", l->certfile);
                if (l->keyfile[0])
                        fprintf(out, "%sKeyFile=%s\n", l->keyfile[0] == '/' ? "" : "# relative to the broker: ", l->keyfile);
                if (l->cacertfile[0] && l->client_certificates)
                        fprintf(out, "%sCACertFile=%s\n# two-way TLS: add ClientCertificate= and ClientKey=\n",
                                l->cacertfile[0] == '/' ? "" : "# relative to the broker: ", l->cacertfile);
                fputc('\n', out);
                found++;
        }
        free(ls);
        if (found == 0) {
                if (asprintf(ret_error, "%s: no TLS listener found (a listener needs a port and a certfile)", source) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        return found;
}

int discover_run(int argc, char **argv) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        BrokerKind kind;
        const char *path;
        int r;

        if (argc != 3 || (strcmp(argv[1], "--mosquitto") != 0 && strcmp(argv[1], "--emqx") != 0)) {
                log_error("usage: discover --mosquitto FILE | --emqx FILE");
                return 3;
        }
        path = argv[2];
        r = read_full_file(path, 4 * 1024 * 1024, &text);
        if (r < 0) {
                log_error("%s: %s", path, strerror(-r));
                return 3;
        }
        if (strcmp(argv[1], "--mosquitto") == 0)
                kind = BROKER_MOSQUITTO;
        else
                /* EMQX 5 writes listeners.* (plural) in HOCON; EMQX 4's emqx.conf has listener.* keys. */
                kind = strstr(text, "listeners.") || strstr(text, "listeners {") ? BROKER_EMQX5 : BROKER_EMQX4;

        r = discover_listeners(kind, text, path, stdout, &error);
        if (r < 0) {
                log_error("%s", error ?: strerror(-r));
                return 3;
        }
        return 0;
}
