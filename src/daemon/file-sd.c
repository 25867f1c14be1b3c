/* SPDX-License-Identifier: MIT */
/* file_sd files into targets. JSON is read by jansson; YAML by libyaml into the same jansson tree (every
 * scalar a string, as file_sd's values are), so one walk checks both and maps the labels. Bounded: the
 * file's size, the nodes a YAML document may expand to (aliases), the targets, a label's length. */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "file-sd.h"
#include "macro.h"

/* A YAML document's aliases may repeat a node many times over: the tree built from it is capped. */
#define YAML_NODES_MAX (4 * FILE_SD_TARGETS_MAX)
#define LABEL_VALUE_MAX 4096

FileSdFormat file_sd_format_from_path(const char *path) {
        size_t n = strlen(path);

        if (n > 5 && strcmp(path + n - 5, ".json") == 0)
                return FILE_SD_JSON;
        if ((n > 4 && strcmp(path + n - 4, ".yml") == 0) || (n > 5 && strcmp(path + n - 5, ".yaml") == 0))
                return FILE_SD_YAML;
        return _FILE_SD_FORMAT_INVALID;
}

static int sd_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int sd_error(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* --- YAML into a jansson tree ------------------------------------------------------------------- */

typedef struct YamlLoad {
        yaml_document_t *document;
        size_t nodes;          /* converted so far, aliases counted each time */
        unsigned *group_lines; /* the top sequence's items' lines (1-based) */
        size_t n_group_lines;
} YamlLoad;

/* Recursive, and bounded: at most 64 levels deep, at most YAML_NODES_MAX calls in all. */
/* NOLINTNEXTLINE(misc-no-recursion) */
static json_t *yaml_node_to_json(YamlLoad *load, yaml_node_t *node, unsigned depth) {
        json_t *result = NULL;

        if (!node || depth > 64 || ++load->nodes > YAML_NODES_MAX)
                return NULL;
        switch (node->type) {
        case YAML_SCALAR_NODE:
                return json_stringn((const char *) node->data.scalar.value, node->data.scalar.length);
        case YAML_SEQUENCE_NODE:
                result = json_array();
                for (yaml_node_item_t *item = node->data.sequence.items.start;
                     result && item < node->data.sequence.items.top; item++) {
                        json_t *value = yaml_node_to_json(
                                load, yaml_document_get_node(load->document, *item), depth + 1);
                        if (!value || json_array_append_new(result, value) < 0)
                                result = (json_decref(result), NULL);
                }
                return result;
        case YAML_MAPPING_NODE:
                result = json_object();
                for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
                     result && pair < node->data.mapping.pairs.top; pair++) {
                        yaml_node_t *key = yaml_document_get_node(load->document, pair->key);
                        json_t *value = NULL;
                        if (key && key->type == YAML_SCALAR_NODE)
                                value = yaml_node_to_json(
                                        load, yaml_document_get_node(load->document, pair->value),
                                        depth + 1);
                        /* NUL-free keys only: jansson's objects are keyed by C strings. */
                        if (!value || memchr(key->data.scalar.value, 0, key->data.scalar.length) ||
                            json_object_set_new(result, (const char *) key->data.scalar.value, value) < 0) {
                                json_decref(value);
                                result = (json_decref(result), NULL);
                        }
                }
                return result;
        default:
                return NULL;
        }
}

static int parse_yaml(const char *path, const char *text, size_t size, json_t **ret, unsigned **ret_lines,
                      char **ret_error) {
        yaml_parser_t parser;
        yaml_document_t document;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, size);
        if (!yaml_parser_load(&parser, &document)) {
                r = parser.error == YAML_MEMORY_ERROR
                            ? -ENOMEM
                            : sd_error(ret_error, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1,
                                       parser.problem_mark.column + 1, parser.problem ?: "not YAML",
                                       parser.context ? " " : "", parser.context ?: "");
                yaml_parser_delete(&parser);
                return r;
        }
        yaml_parser_delete(&parser);

        yaml_node_t *root = yaml_document_get_root_node(&document);
        if (!root) { /* an empty file: no groups, as Prometheus reads it */
                yaml_document_delete(&document);
                *ret = json_array();
                *ret_lines = NULL;
                return *ret ? 0 : -ENOMEM;
        }
        YamlLoad load = { .document = &document };
        if (root->type == YAML_SEQUENCE_NODE) {
                size_t n = (size_t) (root->data.sequence.items.top - root->data.sequence.items.start);
                load.group_lines = calloc(n ?: 1, sizeof(unsigned));
                if (!load.group_lines) {
                        yaml_document_delete(&document);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++) {
                        yaml_node_t *item = yaml_document_get_node(&document,
                                                                   root->data.sequence.items.start[i]);
                        load.group_lines[i] = item ? (unsigned) item->start_mark.line + 1 : 0;
                }
        }
        json_t *tree = yaml_node_to_json(&load, root, 0);
        if (!tree)
                r = load.nodes > YAML_NODES_MAX
                            ? sd_error(ret_error, "%s: the document expands to more than %d nodes", path,
                                       YAML_NODES_MAX)
                            : sd_error(ret_error,
                                       "%s:%zu:%zu: a mapping key that is not a string, "
                                       "or out of memory",
                                       path, root->start_mark.line + 1, root->start_mark.column + 1);
        yaml_document_delete(&document);
        if (r < 0) {
                free(load.group_lines);
                return r;
        }
        *ret = tree;
        *ret_lines = load.group_lines;
        return 0;
}

/* --- the groups into targets ------------------------------------------------------------------- */

static void target_clear(FileSdTarget *t) {
        free(t->name);
        for (size_t i = 0; i < t->n_settings; i++) {
                free((char *) t->settings[i].key);
                free((char *) t->settings[i].value);
        }
        free(t->settings);
        *t = (FileSdTarget){};
}

void file_sd_list_clear(FileSdList *list) {
        for (size_t i = 0; i < list->n; i++)
                target_clear(&list->targets[i]);
        free(list->targets);
        *list = (FileSdList){};
}

/* The [Target] key a __tlswatch_ label sets: the rest of its name, underscores dropped, is the key's
 * name in any case ("__tlswatch_ca_file" -> CAFile). NULL if none. */
static const char *label_key(const char *suffix) {
        const char *keys[128];
        size_t n = MIN(config_target_keys(keys, ELEMENTSOF(keys)), ELEMENTSOF(keys));
        char folded[128];
        size_t m = 0;

        for (const char *c = suffix; *c && m < sizeof(folded) - 1; c++)
                if (*c != '_')
                        folded[m++] = *c;
        folded[m] = '\0';
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(keys[i], folded) == 0)
                        return keys[i];
        return NULL;
}

static int add_setting(FileSdTarget *t, const char *key, const char *value) {
        ConfigSetting *settings = reallocarray(t->settings, t->n_settings + 1, sizeof(ConfigSetting));
        if (!settings)
                return -ENOMEM;
        t->settings = settings;
        char *k = strdup(key), *v = strdup(value);
        if (!k || !v) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        t->settings[t->n_settings++] = (ConfigSetting){ .key = k, .value = v };
        return 0;
}

static int group_where(char *buffer, size_t size, const char *path, size_t group, unsigned line) {
        if (line > 0)
                return snprintf(buffer, size, "%s:%u: group %zu", path, line, group);
        return snprintf(buffer, size, "%s: group %zu", path, group);
}

static int parse_group(const char *path, json_t *group, size_t index, unsigned line, FileSdList *list,
                       char **ret_error) {
        char where[4200];
        json_t *targets, *labels, *value;
        const char *key, *name = NULL;
        int r;

        (void) group_where(where, sizeof(where), path, index, line);
        if (!json_is_object(group))
                return sd_error(ret_error, "%s: not an object with \"targets\" and \"labels\"", where);
        json_object_foreach(group, key,
                            value) if (strcmp(key, "targets") != 0 &&
                                       strcmp(key, "labels") !=
                                               0) return sd_error(ret_error,
                                                                  "%s: unknown member \"%s\" (a group has "
                                                                  "\"targets\" and \"labels\")",
                                                                  where, key);
        targets = json_object_get(group, "targets");
        labels = json_object_get(group, "labels");
        if (!json_is_array(targets))
                return sd_error(ret_error, "%s: \"targets\" is missing or not a list of \"host:port\"",
                                where);
        if (labels && !json_is_object(labels) && !json_is_null(labels))
                return sd_error(ret_error, "%s: \"labels\" is not an object of names and strings", where);
        json_object_foreach(labels, key, value) {
                if (!json_is_string(value) || json_string_length(value) > LABEL_VALUE_MAX ||
                    strlen(json_string_value(value)) != json_string_length(value))
                        return sd_error(ret_error,
                                        "%s: label \"%s\": the value is not a string of at most %d bytes",
                                        where, key, LABEL_VALUE_MAX);
                if (strncmp(key, FILE_SD_LABEL_PREFIX, strlen(FILE_SD_LABEL_PREFIX)) != 0)
                        continue; /* a plain label, or another tool's __ label: not ours */
                const char *suffix = key + strlen(FILE_SD_LABEL_PREFIX);
                if (strcmp(suffix, "name") == 0) {
                        name = json_string_value(value);
                        continue;
                }
                const char *k = label_key(suffix);
                if (!k)
                        return sd_error(ret_error, "%s: label \"%s\" names no [Target] key", where, key);
                if (strcmp(k, "Address") == 0)
                        return sd_error(ret_error, "%s: label \"%s\": the address is the target itself",
                                        where, key);
        }
        if (name && json_array_size(targets) != 1)
                return sd_error(ret_error,
                                "%s: label \"" FILE_SD_LABEL_PREFIX "name\" names one target, and the "
                                "group lists %zu",
                                where, json_array_size(targets));

        size_t i;
        json_array_foreach(targets, i, value) {
                if (!json_is_string(value) || json_string_length(value) == 0 ||
                    json_string_length(value) > 300 ||
                    strlen(json_string_value(value)) != json_string_length(value))
                        return sd_error(ret_error, "%s: target %zu is not a \"host:port\" string", where,
                                        i + 1);
                if (list->n >= FILE_SD_TARGETS_MAX)
                        return sd_error(ret_error, "%s: more than %d targets", path, FILE_SD_TARGETS_MAX);
                FileSdTarget *items = reallocarray(list->targets, list->n + 1, sizeof(FileSdTarget));
                if (!items)
                        return -ENOMEM;
                list->targets = items;
                FileSdTarget *t = &list->targets[list->n++];
                *t = (FileSdTarget){ .line = line, .group = index };

                const char *address = json_string_value(value);
                if (name)
                        t->name = strdup(name);
                else if ((t->name = malloc(strlen(address) + 1))) {
                        /* "[::1]:8883" -> "::1:8883": brackets are no name's characters. */
                        char *o = t->name;
                        for (const char *c = address; *c; c++)
                                if (*c != '[' && *c != ']')
                                        *o++ = *c;
                        *o = '\0';
                }
                if (!t->name)
                        return -ENOMEM;
                r = add_setting(t, "Address", address);
                if (r < 0)
                        return r;
                json_t *label;
                json_object_foreach(labels, key, label) {
                        if (strncmp(key, FILE_SD_LABEL_PREFIX, strlen(FILE_SD_LABEL_PREFIX)) != 0 ||
                            strcmp(key + strlen(FILE_SD_LABEL_PREFIX), "name") == 0)
                                continue;
                        r = add_setting(t, label_key(key + strlen(FILE_SD_LABEL_PREFIX)),
                                        json_string_value(label));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int file_sd_parse(const char *path, FileSdFormat format, const char *text, size_t size, FileSdList *ret,
                  char **ret_error) {
        _cleanup_free_ unsigned *lines = NULL;
        FileSdList list = {};
        json_t *tree = NULL;
        int r = 0;

        assert(path && text && ret && ret_error);
        *ret_error = NULL;
        if (size > FILE_SD_FILE_MAX)
                return sd_error(ret_error, "%s: larger than %d bytes", path, FILE_SD_FILE_MAX);
        if (format == FILE_SD_JSON) {
                json_error_t error;
                tree = json_loadb(text, size, JSON_REJECT_DUPLICATES, &error);
                if (!tree)
                        return sd_error(ret_error, "%s:%d:%d: %s", path, error.line, error.column,
                                        error.text);
        } else if (format == FILE_SD_YAML) {
                r = parse_yaml(path, text, size, &tree, &lines, ret_error);
                if (r < 0)
                        return r;
        } else
                return sd_error(ret_error, "%s: neither .json nor .yml/.yaml", path);

        if (!json_is_array(tree))
                r = sd_error(ret_error,
                             "%s: not a list of groups ([{\"targets\": [...], \"labels\": {...}}])", path);
        size_t i;
        json_t *group;
        json_array_foreach(tree, i, group) {
                if (r < 0)
                        break;
                r = parse_group(path, group, i + 1, lines ? lines[i] : 0, &list, ret_error);
        }
        json_decref(tree);
        if (r < 0) {
                file_sd_list_clear(&list);
                return r;
        }
        *ret = list;
        return 0;
}
