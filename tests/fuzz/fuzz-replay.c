/* SPDX-License-Identifier: MIT */
/* A stand-in for libFuzzer's main() in builds without --enable-fuzzing: runs the target once on each
 * file named on the command line (directories: each file inside), as `./fuzz-x corpus/` does with
 * libFuzzer, so the seed corpora are replayed under every compiler and sanitizer `make check` uses. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file-util.h"
#include "fuzz.h"
#include "macro.h"

/* Seeds are small; a larger file in a corpus directory is a mistake, not an input. */
#define SEED_MAX (1024 * 1024)

static int replay_file(const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        FILE *f;
        size_t size;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        data = malloc(SEED_MAX);
        size = data ? fread(data, 1, SEED_MAX, f) : 0;
        fclose(f);
        if (!data)
                return -ENOMEM;
        /* A fresh copy of exactly `size` bytes, so ASan sees a read past the end of the input. */
        _cleanup_free_ uint8_t *input = malloc(size ? size : 1);
        if (!input)
                return -ENOMEM;
        memcpy(input, data, size);
        (void) LLVMFuzzerTestOneInput(input, size);
        return 0;
}

static int replay_directory(const char *path, unsigned *n_files) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(path, &entries, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                struct stat st;

                if (r >= 0 && entries[i]->d_name[0] != '.' &&
                    asprintf(&file, "%s/%s", path, entries[i]->d_name) >= 0 && stat(file, &st) >= 0 &&
                    S_ISREG(st.st_mode)) {
                        r = replay_file(file);
                        (*n_files)++;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned n_files = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (argv[i][0] == '-')
                        continue; /* libFuzzer's options, e.g. -runs=0, mean nothing here */
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                if (S_ISDIR(st.st_mode))
                        r = replay_directory(argv[i], &n_files);
                else {
                        r = replay_file(argv[i]);
                        n_files++;
                }
                if (r < 0)
                        return EXIT_FAILURE;
        }
        printf("%s: replayed %u inputs\n", argv[0], n_files);
        return EXIT_SUCCESS;
}
