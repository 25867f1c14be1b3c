/* SPDX-License-Identifier: MIT */
/* Fuzzes the TargetsFile= parser: the same bytes as JSON and as YAML (libyaml, aliases and all). Every
 * input either gives targets, each with a name and an Address= first, or fails with a message; and what
 * a file gives is added to a Config or refused without leaving half of it behind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "file-sd.h"
#include "fuzz.h"

static void parse(FileSdFormat format, const uint8_t *data, size_t size) {
        FileSdList list = {};
        char *error = NULL;
        Config *config = NULL;

        int r = file_sd_parse(format == FILE_SD_JSON ? "/f.json" : "/f.yml", format, (const char *) data,
                              size, &list, &error);
        if (r < 0) {
                if (r == -EINVAL && !error)
                        abort(); /* a refusal always says why */
                free(error);
                return;
        }
        if (config_new(&config) < 0)
                abort();
        size_t added = 0;
        for (size_t i = 0; i < list.n; i++) {
                const FileSdTarget *t = &list.targets[i];
                if (!t->name || t->n_settings == 0 || strcmp(t->settings[0].key, "Address") != 0)
                        abort();
                if (config_add_target(config, t->name, "/f.json", t->line, t->settings, t->n_settings,
                                      &error) == 0)
                        added++;
                free(error);
                error = NULL;
        }
        if (config->n_targets != added)
                abort(); /* a refused target left something behind */
        config_free(config);
        file_sd_list_clear(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 64 * 1024)
                return 0;
        parse(FILE_SD_JSON, data, size);
        parse(FILE_SD_YAML, data, size);
        return 0;
}
