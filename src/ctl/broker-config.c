/* SPDX-License-Identifier: MIT */
/* The broker configuration readers behind `tlswatchctl discover` (see broker-config.h). Each reader
 * follows what its broker documents: mosquitto.conf(5) for listener blocks and include_dir, EMQX 4's
 * cuttlefish keys, EMQX 5's HOCON layers (base.hocon < cluster.hocon < emqx.conf < the legacy
 * *-override.conf) and its built-in default listeners. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "broker-config.h"
#include "hocon.h"
#include "macro.h"
#include "string-util.h"

#define BROKER_FILE_MAX_INCLUDES 256

static char *trim(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        char *end = s + strlen(s);
        while (end > s && isspace((unsigned char) end[-1]))
                *--end = '\0';
        return s;
}

static void copy(char *dest, size_t size, const char *src) {
        snprintf(dest, size, "%s", src ? src : "");
}

static BrokerListener *listener_add(BrokerListeners *ls, const char *role, const char *source) {
        if (ls->n >= BROKER_LISTENERS_MAX)
                return NULL;
        if (ls->n >= ls->n_allocated) {
                size_t allocated = MAX(ls->n_allocated * 2, 8u);
                BrokerListener *items = reallocarray(ls->items, allocated, sizeof(BrokerListener));
                if (!items)
                        return NULL;
                ls->items = items;
                ls->n_allocated = allocated;
        }
        BrokerListener *l = &ls->items[ls->n++];
        *l = (BrokerListener){};
        copy(l->role, sizeof(l->role), role);
        copy(l->protocol, sizeof(l->protocol), strcmp(role, "mqtts") == 0 ? "mqtt" : role);
        copy(l->source, sizeof(l->source), source);
        return l;
}

static bool is_wildcard(const char *host) {
        return !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "*") == 0;
}

/* "0.0.0.0:8883", "[::]:8883", ":::8883", "8883": EMQX's bind forms. */
static bool parse_bind(const char *value, BrokerListener *l) {
        char host[256] = "";
        const char *port = value;

        if (value[0] == '[') {
                const char *close = strchr(value, ']');
                if (!close || close[1] != ':')
                        return false;
                snprintf(host, sizeof(host), "%.*s", (int) (close - value - 1), value + 1);
                port = close + 2;
        } else if (strrchr(value, ':')) {
                const char *colon = strrchr(value, ':');
                snprintf(host, sizeof(host), "%.*s", (int) (colon - value), value);
                port = colon + 1;
        }
        char *end = NULL;
        unsigned long n = strtoul(port, &end, 10);
        if (!isdigit((unsigned char) *port) || *end || n > 65535)
                return false;
        l->port = (unsigned) n;
        copy(l->host, sizeof(l->host), is_wildcard(host) ? "" : host);
        return true;
}

static bool truthy(const char *v) {
        return v && (strcmp(v, "true") == 0 || strcmp(v, "on") == 0);
}

BrokerKind broker_emqx_kind(const char *text) {
        for (const char *line = text; line && *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                line += strspn(line, " \t");
                if (strncmp(line, "listener.", 9) == 0 || strncmp(line, "plugins.etc_dir", 15) == 0)
                        return BROKER_EMQX4;
        }
        return BROKER_EMQX5;
}

int broker_mosquitto_compare(const char *a, const char *b) {
        for (; *a && *b; a++, b++) {
                int d = toupper((unsigned char) *a) - toupper((unsigned char) *b);
                if (d != 0)
                        return d;
                if (*a != *b)
                        return isupper((unsigned char) *a) ? -1 : 1;
        }
        return (unsigned char) *a - (unsigned char) *b;
}

static int compare_names(const void *a, const void *b) {
        return broker_mosquitto_compare(*(char *const *) a, *(char *const *) b);
}

static void free_names(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

static char *directory_of(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, slash - path);
}

static char *join(const char *dir, const char *name) {
        char *s = NULL;
        if (name[0] == '/')
                return strdup(name);
        if (asprintf(&s, "%s/%s", dir, name) < 0)
                return NULL;
        return s;
}

/* ---- Mosquitto ------------------------------------------------------------------------------- */

typedef struct MosquittoState {
        const BrokerFiles *files;
        BrokerListeners *ls;
        const char *main_path;
        ssize_t default_listener;
        char **error;
} MosquittoState;

static int mosquitto_file(MosquittoState *st, const char *path, char *text, bool main_file);

/* NOLINTNEXTLINE(misc-no-recursion): include_dir is read in the main file only: one level */
static int mosquitto_include_dir(MosquittoState *st, const char *path, unsigned line, const char *value) {
        _cleanup_free_ char *base = directory_of(st->main_path), *dir = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        if (!base || !(dir = join(base, value)))
                return -ENOMEM;
        r = st->files->list(st->files->userdata, dir, &names, &n);
        if (r < 0)
                return error_message(st->error, r, "%s:%u: include_dir %s: %s", path, line, dir,
                                     strerror(-r));
        qsort(names, n, sizeof(char *), compare_names);
        for (size_t i = 0; i < n && r >= 0; i++) {
                size_t m = strlen(names[i]);
                if (m <= 5 || strcmp(names[i] + m - 5, ".conf") != 0)
                        continue; /* mosquitto reads only *.conf */
                _cleanup_free_ char *file = join(dir, names[i]), *text = NULL;
                if (!file) {
                        r = -ENOMEM;
                        break;
                }
                r = st->files->read(st->files->userdata, file, &text);
                if (r < 0)
                        r = error_message(st->error, r, "%s:%u: include_dir: %s: %s", path, line, file,
                                          strerror(-r));
                else
                        r = mosquitto_file(st, file, text, false);
        }
        free_names(names, n);
        return r;
}

/* A file's lines: "listener PORT [ADDRESS]" opens a block that the TLS settings after it belong to;
 * before any, they belong to the default listener ("port"). Each file starts with the default. */
/* NOLINTNEXTLINE(misc-no-recursion): include_dir is read in the main file only: one level */
static int mosquitto_file(MosquittoState *st, const char *path, char *text, bool main_file) {
        ssize_t current = st->default_listener;
        unsigned line = 0;
        char source[BROKER_PATH_MAX + 16];
        int r;

        for (char *next = text, *s; next;) {
                s = next;
                next = strchr(s, '\n');
                if (next)
                        *next++ = '\0';
                line++;
                s = trim(s);
                if (*s == '#' || !*s)
                        continue;
                char *key = s, *value = s + strcspn(s, " \t");
                if (*value)
                        *value++ = '\0';
                value = trim(value);
                snprintf(source, sizeof(source), "%s:%u", path, line);

                if (strcmp(key, "listener") == 0 || strcmp(key, "port") == 0) {
                        char *address = value + strcspn(value, " \t");
                        if (*address)
                                *address++ = '\0';
                        address = trim(address);
                        char *end = NULL;
                        unsigned long port = strtoul(value, &end, 10);
                        if (!isdigit((unsigned char) *value) || *end || port > 65535)
                                return error_message(st->error, -EINVAL, "%s: %s: \"%s\" is not a port",
                                                     source, key, value);
                        BrokerListener *l = listener_add(st->ls, "mqtts", source);
                        if (!l)
                                return error_message(st->error, -E2BIG, "%s: more than %u listeners", source,
                                                     BROKER_LISTENERS_MAX);
                        l->port = (unsigned) port;
                        copy(l->host, sizeof(l->host), is_wildcard(address) ? "" : address);
                        current = (ssize_t) st->ls->n - 1;
                        if (strcmp(key, "port") == 0)
                                st->default_listener = current;
                        continue;
                }
                if (strcmp(key, "include_dir") == 0) {
                        if (!main_file)
                                continue; /* mosquitto reads include_dir in the main file only */
                        r = mosquitto_include_dir(st, path, line, value);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (current < 0)
                        continue;
                BrokerListener *l = &st->ls->items[current];
                if (strcmp(key, "bind_address") == 0 && current == st->default_listener)
                        copy(l->host, sizeof(l->host), is_wildcard(value) ? "" : value);
                else if (strcmp(key, "certfile") == 0)
                        copy(l->certfile, sizeof(l->certfile), value);
                else if (strcmp(key, "keyfile") == 0)
                        copy(l->keyfile, sizeof(l->keyfile), value);
                else if (strcmp(key, "cafile") == 0)
                        copy(l->cacertfile, sizeof(l->cacertfile), value);
                else if (strcmp(key, "require_certificate") == 0)
                        l->client_certificate_required = truthy(value);
                else if (strcmp(key, "protocol") == 0) {
                        bool ws = strcmp(value, "websockets") == 0;
                        copy(l->role, sizeof(l->role), ws ? "wss" : "mqtts");
                        copy(l->protocol, sizeof(l->protocol), ws ? "wss" : "mqtt");
                }
        }
        return 0;
}

static int read_mosquitto(const char *path, const BrokerFiles *files, BrokerListeners *ls,
                          char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t first = ls->n;
        int r;

        r = files->read(files->userdata, path, &text);
        if (r < 0)
                return error_message(ret_error, r, "%s: %s", path, strerror(-r));
        MosquittoState st = {
                .files = files, .ls = ls, .main_path = path, .default_listener = -1, .error = ret_error
        };
        r = mosquitto_file(&st, path, text, true);
        for (size_t i = first; r >= 0 && i < ls->n; i++) {
                BrokerListener *l = &ls->items[i];
                snprintf(l->name, sizeof(l->name), "mosquitto-%s-%u", l->role, l->port);
        }
        return r;
}

/* ---- EMQX ------------------------------------------------------------------------------------ */

typedef struct EmqxState {
        const BrokerFiles *files;
        const char *etc_dir;
        char *root; /* the parent of an etc directory: what relative paths start from */
} EmqxState;

static int emqx_include(void *userdata, const char *including_file, const char *name, char **ret_path,
                        char **ret_text) {
        EmqxState *st = userdata;
        _cleanup_free_ char *dir = directory_of(including_file), *path = NULL;
        int r;

        if (!dir || !(path = join(dir, name)))
                return -ENOMEM;
        r = st->files->read(st->files->userdata, path, ret_text);
        if (r == -ENOENT && name[0] != '/' && strcmp(dir, st->etc_dir) != 0) {
                /* EMQX also looks in its etc directory. */
                free(path);
                if (!(path = join(st->etc_dir, name)))
                        return -ENOMEM;
                r = st->files->read(st->files->userdata, path, ret_text);
        }
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* ${EMQX_ETC_DIR}, ${?X} and ${X} naming a path of the document: resolved; a relative path starts at
 * EMQX's root. Anything unresolved is left for broker_format() to comment out. */
static void emqx_path(const EmqxState *st, const HoconDocument *doc, const char *value, char *out,
                      size_t size) {
        char buffer[BROKER_PATH_MAX] = "";
        size_t n = 0;

        for (const char *p = value; *p && n + 1 < sizeof(buffer);) {
                if (p[0] == '$' && p[1] == '{' && strchr(p, '}')) {
                        const char *close = strchr(p, '}');
                        const char *name = p + 2 + (p[2] == '?');
                        char var[256];
                        snprintf(var, sizeof(var), "%.*s", (int) (close - name), name);
                        const char *v = strcmp(var, "EMQX_ETC_DIR") == 0 ? st->etc_dir
                                        : doc                            ? hocon_get_value(doc, var)
                                                                         : NULL;
                        if (v)
                                n += snprintf(buffer + n, sizeof(buffer) - n, "%s", v);
                        else
                                n += snprintf(buffer + n, sizeof(buffer) - n, "%.*s", (int) (close + 1 - p),
                                              p);
                        p = close + 1;
                } else
                        buffer[n++] = *p++;
                n = MIN(n, sizeof(buffer) - 1);
        }
        buffer[n] = '\0';
        if (buffer[0] && buffer[0] != '/' && !strstr(buffer, "${") && st->root)
                snprintf(out, size, "%s/%s", st->root, buffer);
        else
                snprintf(out, size, "%s", buffer);
}

typedef struct EmqxKeys {
        const char *prefix; /* "listeners.ssl." (then a name) or "dashboard.listeners.https" */
        const char *role;
        const char *ssl; /* where the files are below the listener: "ssl_options." or "" */
} EmqxKeys;

static int emqx_listeners(const EmqxState *st, const HoconDocument *doc, const EmqxKeys *k, bool emqx5,
                          BrokerListeners *ls, char **ret_error) {
        size_t n = strlen(k->prefix);
        bool named = k->prefix[n - 1] == '.';

        for (size_t i = 0; i < doc->n_entries; i++) {
                const HoconEntry *e = &doc->entries[i];
                if (strncmp(e->path, k->prefix, n) != 0 || (!named && e->path[n] && e->path[n] != '.'))
                        continue;
                char base[HOCON_PATH_MAX], name[128], key[HOCON_PATH_MAX + 64];
                size_t m = named ? strcspn(e->path + n, ".") : 0;
                if (named && m == 0)
                        continue;
                snprintf(base, sizeof(base), "%.*s", (int) (n + m), e->path);
                snprintf(name, sizeof(name), "%.*s", (int) MIN(m, 100), e->path + n);
                /* Once per listener: at its first entry. */
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = strncmp(doc->entries[j].path, base, strlen(base)) == 0 &&
                               strchr(".", doc->entries[j].path[strlen(base)]) != NULL;
                if (seen)
                        continue;

#define GET(leaf) (snprintf(key, sizeof(key), "%s.%s", base, leaf), hocon_get_value(doc, key))
                const char *bind = emqx5 ? GET("bind") : hocon_get_value(doc, base);
                const HoconEntry *at = hocon_get(doc, base);
                if (!at && emqx5) {
                        snprintf(key, sizeof(key), "%s.bind", base);
                        at = hocon_get(doc, key);
                }
                BrokerListener *l = listener_add(ls, k->role, at ? at->source : e->source);
                if (!l)
                        return error_message(ret_error, -E2BIG, "%s: more than %u listeners", e->source,
                                             BROKER_LISTENERS_MAX);
                snprintf(l->name, sizeof(l->name), "emqx-%.15s-%.100s", k->role, named ? name : "dashboard");
                l->disabled = (GET("enabled") && !truthy(GET("enabled"))) ||
                              (GET("enable") && !truthy(GET("enable")));
                if (!bind || !parse_bind(bind, l))
                        l->port = 0;

                char ssl[HOCON_PATH_MAX];
                const char *files[] = { "certfile", "keyfile", "cacertfile" };
                char *dest[] = { l->certfile, l->keyfile, l->cacertfile };
                for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                        snprintf(ssl, sizeof(ssl), "%s%s", k->ssl, files[f]);
                        const char *v = GET(ssl);
                        if (!v && emqx5 &&
                            *k->ssl) /* EMQX 5.0's dashboard has its files without ssl_options */
                                v = GET(files[f]);
                        if (v)
                                emqx_path(st, doc, v, dest[f], BROKER_PATH_MAX);
                }
                snprintf(ssl, sizeof(ssl), "%sverify", k->ssl);
                const char *verify = GET(ssl);
                snprintf(ssl, sizeof(ssl), "%sfail_if_no_peer_cert", k->ssl);
                l->client_certificate_required = verify && strcmp(verify, "verify_peer") == 0 &&
                                                 truthy(GET(ssl));
                if (strcmp(k->role, "wss") == 0) {
                        const char *p = emqx5 ? GET("websocket.mqtt_path") : GET("mqtt_path");
                        copy(l->path, sizeof(l->path), p ?: "/mqtt");
                }
#undef GET
        }
        return 0;
}

static int parse_layer(EmqxState *st, HoconDocument *doc, const char *path, bool cuttlefish, bool optional,
                       char **ret_error) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = st->files->read(st->files->userdata, path, &text);
        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return error_message(ret_error, r, "%s: %s", path, strerror(-r));
        if (!cuttlefish)
                return hocon_parse(doc, text, path, emqx_include, st, ret_error);

        /* EMQX 4's cuttlefish lines: "key = value", the value all that follows the '='. */
        unsigned line = 0;
        for (char *next = text, *s; next;) {
                s = next;
                next = strchr(s, '\n');
                if (next)
                        *next++ = '\0';
                line++;
                s = trim(s);
                char *equals = strchr(s, '=');
                if (*s == '#' || !equals)
                        continue;
                *equals = '\0';
                char source[BROKER_PATH_MAX + 16];
                snprintf(source, sizeof(source), "%s:%u", path, line);
                r = hocon_set(doc, trim(s), trim(equals + 1), source);
                if (r == -E2BIG)
                        return error_message(ret_error, r, "%s: too many keys", source);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* EMQX 5 opens ssl:default and wss:default unless told otherwise, with the certificates it ships. */
static int emqx5_defaults(HoconDocument *doc) {
        static const char *const defaults[][2] = {
                { "listeners.ssl.default.bind", "0.0.0.0:8883" },
                { "listeners.ssl.default.ssl_options.certfile", "${EMQX_ETC_DIR}/certs/cert.pem" },
                { "listeners.ssl.default.ssl_options.keyfile", "${EMQX_ETC_DIR}/certs/key.pem" },
                { "listeners.ssl.default.ssl_options.cacertfile", "${EMQX_ETC_DIR}/certs/cacert.pem" },
                { "listeners.wss.default.bind", "0.0.0.0:8084" },
                { "listeners.wss.default.ssl_options.certfile", "${EMQX_ETC_DIR}/certs/cert.pem" },
                { "listeners.wss.default.ssl_options.keyfile", "${EMQX_ETC_DIR}/certs/key.pem" },
                { "listeners.wss.default.ssl_options.cacertfile", "${EMQX_ETC_DIR}/certs/cacert.pem" },
        };
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                int r = hocon_set(doc, defaults[i][0], defaults[i][1], "EMQX's built-in default");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_emqx(BrokerKind kind, const char *path, const BrokerFiles *files, const BrokerOptions *o,
                     BrokerListeners *ls, char **ret_error) {
        _cleanup_free_ char *etc = o && o->etc_dir ? strdup(o->etc_dir) : directory_of(path);
        HoconDocument doc = {};
        EmqxState st = { .files = files };
        int r;

        if (!etc)
                return -ENOMEM;
        st.etc_dir = etc;
        size_t n = strlen(etc);
        if (n >= 4 && strcmp(etc + n - 4, "/etc") == 0)
                st.root = strndup(etc, n - 4);
        else if (strcmp(etc, "etc") == 0)
                st.root = strdup(".");

        if (kind == BROKER_EMQX4) {
                r = parse_layer(&st, &doc, path, true, false, ret_error);
                if (r >= 0) {
                        /* The dashboard's listener lives in its plugin's file. */
                        char plugins[BROKER_PATH_MAX], dashboard[BROKER_PATH_MAX + 32];
                        const char *dir = hocon_get_value(&doc, "plugins.etc_dir");
                        if (dir)
                                emqx_path(&st, NULL, dir, plugins, sizeof(plugins));
                        else
                                snprintf(plugins, sizeof(plugins), "%s/plugins", etc);
                        size_t m = strlen(plugins);
                        while (m > 1 && plugins[m - 1] == '/')
                                plugins[--m] = '\0';
                        snprintf(dashboard, sizeof(dashboard), "%s/emqx_dashboard.conf", plugins);
                        r = parse_layer(&st, &doc, dashboard, true, true, ret_error);
                }
                static const EmqxKeys keys4[] = {
                        { "listener.ssl.", "mqtts", "" },
                        { "listener.wss.", "wss", "" },
                        { "dashboard.listener.https", "https", "" },
                };
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(keys4); i++)
                        r = emqx_listeners(&st, &doc, &keys4[i], false, ls, ret_error);
                goto finish;
        }

        /* Where cluster.hocon is: the data directory emqx.conf names, relative to the root. */
        char data[BROKER_PATH_MAX] = "";
        if (o && o->data_dir)
                copy(data, sizeof(data), o->data_dir);
        else {
                HoconDocument main = {};
                _cleanup_free_ char *error = NULL;
                if (parse_layer(&st, &main, path, false, false, &error) >= 0 &&
                    hocon_get_value(&main, "node.data_dir"))
                        emqx_path(&st, &main, hocon_get_value(&main, "node.data_dir"), data, sizeof(data));
                hocon_document_done(&main);
        }

        char layer[BROKER_PATH_MAX + 64];
        r = emqx5_defaults(&doc);
        if (r >= 0) {
                snprintf(layer, sizeof(layer), "%s/base.hocon", etc);
                r = parse_layer(&st, &doc, layer, false, true, ret_error);
        }
        if (r >= 0 && data[0] == '/') {
                snprintf(layer, sizeof(layer), "%s/configs/cluster.hocon", data);
                r = parse_layer(&st, &doc, layer, false, true, ret_error);
        }
        if (r >= 0)
                r = parse_layer(&st, &doc, path, false, false, ret_error);
        /* Before 5.0.23 the cluster's changes were kept on top of emqx.conf. */
        static const char *const legacy[] = { "cluster-override.conf", "local-override.conf" };
        for (size_t i = 0; r >= 0 && data[0] == '/' && i < ELEMENTSOF(legacy); i++) {
                snprintf(layer, sizeof(layer), "%s/configs/%s", data, legacy[i]);
                r = parse_layer(&st, &doc, layer, false, true, ret_error);
        }
        static const EmqxKeys keys5[] = {
                { "listeners.ssl.", "mqtts", "ssl_options." },
                { "listeners.wss.", "wss", "ssl_options." },
                { "dashboard.listeners.https", "https", "ssl_options." },
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(keys5); i++)
                r = emqx_listeners(&st, &doc, &keys5[i], true, ls, ret_error);
finish:
        free(st.root);
        hocon_document_done(&doc);
        return r;
}

int broker_read(BrokerKind kind, const char *path, const BrokerFiles *files, const BrokerOptions *options,
                BrokerListeners *ls, char **ret_error) {
        *ret_error = NULL;
        if (kind == BROKER_MOSQUITTO)
                return read_mosquitto(path, files, ls, ret_error);
        return read_emqx(kind, path, files, options, ls, ret_error);
}

/* ---- output ---------------------------------------------------------------------------------- */

void broker_listeners_name(BrokerListeners *ls) {
        for (size_t i = 0; i < ls->n; i++) {
                char *name = ls->items[i].name;
                /* A target's name: letters, digits and - _ . : @ (tlswatch.conf(5)). */
                for (char *c = name; *c; c++)
                        if (!isalnum((unsigned char) *c) && !strchr("-_.:@", *c))
                                *c = '-';
                name[128 - 8] = '\0';
                unsigned copies = 1;
                for (size_t j = 0; j < i; j++)
                        if (strncmp(ls->items[j].name, name, strlen(name)) == 0 &&
                            (ls->items[j].name[strlen(name)] == '\0' ||
                             ls->items[j].name[strlen(name)] == '-'))
                                copies++;
                if (copies > 1) {
                        size_t m = strlen(name);
                        snprintf(name + m, sizeof(ls->items[i].name) - m, "-%u", copies);
                }
        }
}

static bool usable_path(const char *p) {
        return p[0] == '/' && !strstr(p, "${");
}

static void print_file(FILE *out, const char *key, const char *path) {
        if (usable_path(path))
                fprintf(out, "%s=%s\n", key, path);
        else
                fprintf(out, "# %s=%s  (%s: give the absolute path)\n", key, path,
                        strstr(path, "${") ? "a variable discover could not resolve"
                                           : "relative to the broker");
}

size_t broker_format(const BrokerListeners *ls, const char *host, FILE *out) {
        size_t printed = 0;

        for (size_t i = 0; i < ls->n; i++) {
                const BrokerListener *l = &ls->items[i];
                if (!l->certfile[0])
                        continue; /* not TLS */
                if (l->disabled || l->port == 0) {
                        fprintf(out, "# left out: %s at %s (%s)\n\n", l->name, l->source,
                                l->disabled ? "enabled = false" : "no TCP port");
                        continue;
                }
                const char *h = l->host[0] ? l->host : host;
                fprintf(out, "# %s listener at %s\n[Target %s]\n", l->role, l->source, l->name);
                if (!l->host[0])
                        fprintf(out, "# bound to every address: probed as %s\n", host);
                fprintf(out, strchr(h, ':') ? "Address=[%s]:%u\n" : "Address=%s:%u\n", h, l->port);
                fprintf(out, "Protocol=%s\n", l->protocol);
                if (l->path[0])
                        fprintf(out, "Path=%s\n", l->path);
                print_file(out, "CertFile", l->certfile);
                if (l->keyfile[0])
                        print_file(out, "KeyFile", l->keyfile);
                if (l->cacertfile[0]) {
                        print_file(out, "CACertFile", l->cacertfile);
                        if (l->ca_hint == BROKER_CA_SERVES && usable_path(l->cacertfile))
                                fprintf(out,
                                        "# the listener's cacertfile issued its certificate: it serves as "
                                        "the trust anchor\nCAFile=%s\n",
                                        l->cacertfile);
                        else if (l->ca_hint == BROKER_CA_DOES_NOT_SERVE)
                                fprintf(out, "# the listener's cacertfile did not issue its certificate: "
                                             "set CAFile= to the CA its clients trust\n");
                        else
                                fprintf(out,
                                        "# CAFile=%s  (if it holds the CA that issued the listener's "
                                        "certificate%s%s)\n",
                                        l->cacertfile, l->ca_hint_reason[0] ? "; " : "", l->ca_hint_reason);
                }
                if (l->client_certificate_required)
                        fprintf(out, "# two-way TLS: the listener requires a client certificate; add "
                                     "ClientCertificate= and ClientKey=\n");
                fputc('\n', out);
                printed++;
        }
        return printed;
}

void broker_listeners_done(BrokerListeners *ls) {
        free(ls->items);
        *ls = (BrokerListeners){};
}
