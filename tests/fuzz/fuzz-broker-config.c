/* SPDX-License-Identifier: MIT */
/* Fuzzes discover's broker configuration readers and the HOCON reader under them. The input is split
 * at lines holding only "%%" into a main file and the files of an in-memory tree (conf.d/0.conf, ...,
 * each also reachable by include "N.hocon"), then read as mosquitto.conf, EMQX 4 and EMQX 5: any error
 * must come with a message, and whatever is read must format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-config.h"
#include "fuzz.h"

#define SEPARATOR "\n%%\n"
#define PARTS_MAX 8

static char *parts[PARTS_MAX];
static size_t n_parts;

/* /etc/b/main.conf is part 0; /etc/b/conf.d/N.conf and /etc/b/N.hocon are part N + 1. */
static int part_of(const char *path) {
        const char *digits = NULL, *suffix = NULL;
        char *end = NULL;

        if (strcmp(path, "/etc/b/main.conf") == 0)
                return 0;
        if (strncmp(path, "/etc/b/conf.d/", 14) == 0) {
                digits = path + 14;
                suffix = ".conf";
        } else if (strncmp(path, "/etc/b/", 7) == 0) {
                digits = path + 7;
                suffix = ".hocon";
        }
        if (!digits || *digits < '0' || *digits > '9')
                return -1;
        unsigned long n = strtoul(digits, &end, 10);
        if (strcmp(end, suffix) != 0 || n + 1 >= n_parts)
                return -1;
        return (int) n + 1;
}

static int fs_read(void *userdata, const char *path, char **ret) {
        int i = part_of(path);
        (void) userdata;
        if (i < 0)
                return -ENOENT;
        *ret = strdup(parts[i]);
        return *ret ? 0 : -ENOMEM;
}

static int fs_list(void *userdata, const char *dir, char ***ret, size_t *ret_n) {
        char **names = calloc(PARTS_MAX, sizeof(char *));
        size_t n = 0;
        (void) userdata;
        if (!names)
                return -ENOMEM;
        if (strcmp(dir, "/etc/b/conf.d") != 0) {
                free(names);
                return -ENOENT;
        }
        for (size_t i = 1; i < n_parts; i++)
                if (asprintf(&names[n], "%zu.conf", i - 1) >= 0)
                        n++;
        *ret = names;
        *ret_n = n;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const BrokerFiles files = { .read = fs_read, .list = fs_list };
        const char *text = (const char *) data, *end = text + size;

        n_parts = 0;
        while (n_parts < PARTS_MAX) {
                const char *separator = n_parts + 1 < PARTS_MAX
                                                ? memmem(text, end - text, SEPARATOR, strlen(SEPARATOR))
                                                : NULL;
                const char *part_end = separator ? separator + 1 : end;
                parts[n_parts] = strndup(text,
                                         part_end - text); /* a NUL byte ends a part, as it ends a file */
                if (!parts[n_parts])
                        abort();
                n_parts++;
                if (!separator)
                        break;
                text = separator + strlen(SEPARATOR);
        }

        for (BrokerKind kind = 0; kind < _BROKER_KIND_MAX; kind++) {
                BrokerListeners ls = {};
                char *error = NULL, *out = NULL;
                size_t out_size = 0;
                int r = broker_read(kind, "/etc/b/main.conf", &files, NULL, &ls, &error);
                if (r < 0 && r != -ENOMEM && !error)
                        abort(); /* an error the operator is not told about */
                if (r >= 0) {
                        FILE *f = open_memstream(&out, &out_size);
                        if (!f)
                                abort();
                        broker_listeners_name(&ls);
                        (void) broker_format(&ls, "localhost", f);
                        fclose(f);
                        free(out);
                }
                free(error);
                broker_listeners_done(&ls);
        }
        for (size_t i = 0; i < n_parts; i++)
                free(parts[i]);
        return 0;
}
