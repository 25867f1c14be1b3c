/* SPDX-License-Identifier: MIT */
/* Fuzzes the configuration loader with whole files on disk, drop-ins included: the input is split at
 * lines holding only "%%" into the main file and conf.d/00.conf, 01.conf, ... in a private temporary
 * directory, then loaded exactly as tlswatchd loads /etc/tlswatch. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define SEPARATOR "\n%%\n"
#define DROP_INS_MAX 8

static char directory[PATH_MAX];
static unsigned n_written;

static void remove_directory(void) {
        char path[PATH_MAX + 32];

        for (unsigned i = 0; i < DROP_INS_MAX; i++) {
                snprintf(path, sizeof(path), "%s/conf.d/%02u.conf", directory, i);
                (void) unlink(path);
        }
        snprintf(path, sizeof(path), "%s/conf.d", directory);
        (void) rmdir(path);
        snprintf(path, sizeof(path), "%s/tlswatch.conf", directory);
        (void) unlink(path);
        (void) rmdir(directory);
}

static void setup_directory(void) {
        char path[PATH_MAX + 32];
        const char *tmp = getenv("TMPDIR");

        snprintf(directory, sizeof(directory), "%s/tlswatch-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        /* No place to write the files: nothing can be fuzzed. */
        if (!mkdtemp(directory))
                abort();
        snprintf(path, sizeof(path), "%s/conf.d", directory);
        if (mkdir(path, 0700) < 0 || atexit(remove_directory) != 0)
                abort();
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, data, size) != (ssize_t) size)
                abort();
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[PATH_MAX + 32], main_file[PATH_MAX + 32];
        Config *config = NULL;
        char *error = NULL;
        unsigned n = 0;

        if (!directory[0])
                setup_directory();

        /* The main file up to the first separator, then one drop-in per part. */
        const uint8_t *end = data + size, *part = data;
        snprintf(main_file, sizeof(main_file), "%s/tlswatch.conf", directory);
        for (;;) {
                const uint8_t *separator = n < DROP_INS_MAX ? memmem(part, end - part, SEPARATOR, strlen(SEPARATOR)) : NULL;
                const uint8_t *part_end = separator ? separator + 1 : end;

                if (n == 0)
                        snprintf(path, sizeof(path), "%s", main_file);
                else
                        snprintf(path, sizeof(path), "%s/conf.d/%02u.conf", directory, n - 1);
                write_file(path, part, part_end - part);
                n++;
                if (!separator)
                        break;
                part = separator + strlen(SEPARATOR);
        }
        /* Drop-ins of the previous input that this one does not have. */
        for (unsigned i = n; i < n_written; i++) {
                snprintf(path, sizeof(path), "%s/conf.d/%02u.conf", directory, i - 1);
                (void) unlink(path);
        }
        n_written = n;

        if (config_load(main_file, &config, &error) >= 0) {
                for (size_t i = 0; i < config->n_targets; i++) {
                        if (config_find_target(config, config->targets[i].name) == NULL)
                                abort(); /* a loaded target that cannot be found by its name */
                        if (!target_config_equal(&config->targets[i], &config->targets[i]))
                                abort();
                }
                config_free(config);
        } else if (error)
                (void) strlen(error);
        free(error);
        return 0;
}
