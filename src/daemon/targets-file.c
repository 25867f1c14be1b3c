/* SPDX-License-Identifier: MIT */
/* The TargetsFile= source: at each load every file the globs match is read again and its targets added,
 * or, while it does not parse or its targets do not check, the last targets it gave that did. A file that
 * goes away takes its targets with it. The globs' directories are watched (not the files: a rename into
 * place replaces the inode), and a change to a matching name asks the sources for a reload. */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "file-sd.h"
#include "file-util.h"
#include "log.h"
#include "targets-file.h"

typedef struct TargetsFile {
        char *path;
        FileSdList good; /* the targets it last gave that were added */
        bool has_good;
        char *last_error; /* said once until it changes */
} TargetsFile;

typedef struct Watch {
        struct TargetsFileSource *owner;
        char *directory;
        char *pattern; /* the glob's last part */
        sd_event_source *source;
} Watch;

typedef struct TargetsFileSource {
        TargetSources *sources;
        TargetsFile *files;
        size_t n_files;
        Watch *watches;
        size_t n_watches;
} TargetsFileSource;

static void targets_file_clear(TargetsFile *f) {
        free(f->path);
        file_sd_list_clear(&f->good);
        free(f->last_error);
}

static void watches_clear(TargetsFileSource *s) {
        for (size_t i = 0; i < s->n_watches; i++) {
                sd_event_source_disable_unref(s->watches[i].source);
                free(s->watches[i].directory);
                free(s->watches[i].pattern);
        }
        s->watches = mfree(s->watches);
        s->n_watches = 0;
}

static void source_free(void *userdata) {
        TargetsFileSource *s = userdata;

        if (!s)
                return;
        for (size_t i = 0; i < s->n_files; i++)
                targets_file_clear(&s->files[i]);
        free(s->files);
        watches_clear(s);
        free(s);
}

int targets_file_source_new(TargetSources *sources, void **ret) {
        TargetsFileSource *s = calloc(1, sizeof(TargetsFileSource));

        if (!s)
                return -ENOMEM;
        s->sources = sources;
        *ret = s;
        return 0;
}

static int on_directory_event(sd_event_source *source, const struct inotify_event *event, void *userdata) {
        Watch *w = userdata;

        /* The watch itself went (the directory was removed): the next reload sets it up again. */
        if ((event->mask & IN_IGNORED) || event->len == 0 ||
            fnmatch(w->pattern, event->name, FNM_PERIOD) == 0)
                target_sources_changed(w->owner->sources);
        return 0;
}

/* Watches each glob's directory. Set up again at each load, since the globs may have changed. */
static void update_watches(TargetsFileSource *s, const StringList *globs) {
        sd_event *event = target_sources_event(s->sources);

        watches_clear(s);
        if (!event || globs->n == 0)
                return;
        s->watches = calloc(globs->n, sizeof(Watch));
        if (!s->watches) {
                log_warning(
                        "TargetsFile=: out of memory; the files are not watched, run tlswatchctl reload");
                return;
        }
        for (size_t i = 0; i < globs->n; i++) {
                const char *glob = globs->items[i], *slash = strrchr(glob, '/');
                Watch *w = &s->watches[s->n_watches];
                int r;

                *w = (Watch){ .owner = s };
                w->directory = slash == glob ? strdup("/") : strndup(glob, (size_t) (slash - glob));
                w->pattern = strdup(slash + 1);
                r = w->directory && w->pattern ? 0 : -ENOMEM;
                if (r >= 0)
                        r = sd_event_add_inotify(event, &w->source, w->directory,
                                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                                         IN_ONLYDIR,
                                                 on_directory_event, w);
                if (r < 0) {
                        log_warning_errno(
                                r,
                                "TargetsFile=%s: cannot watch %s: %m; its changes need tlswatchctl "
                                "reload",
                                glob, w->directory ?: "the directory");
                        free(w->directory);
                        free(w->pattern);
                        continue;
                }
                s->n_watches++;
        }
}

static bool not_from(const TargetConfig *t, void *userdata) {
        return strcmp(t->file, userdata) != 0;
}

/* Adds `list`'s targets, all or none: on failure the ones added are taken out again. */
static int add_list(Config *config, const char *path, const FileSdList *list, char **ret_error) {
        int r = 0;

        for (size_t i = 0; i < list->n && r >= 0; i++) {
                const FileSdTarget *t = &list->targets[i];
                r = config_add_target(config, t->name, path, t->line, t->settings, t->n_settings, ret_error);
        }
        /* Only this file's targets name it as theirs: [Target] sections come from .conf files. */
        if (r < 0)
                (void) config_keep_targets(config, not_from, (void *) path);
        return r;
}

static void say_once(TargetsFile *f, const char *error, size_t n_good) {
        if (f->last_error && strcmp(f->last_error, error) == 0)
                return;
        free(f->last_error);
        f->last_error = strdup(error);
        if (f->has_good)
                log_warning("%s; keeping the file's last good %zu targets", error, n_good);
        else
                log_warning("%s; the file gives no targets until it is fixed", error);
}

static void apply_file(Config *config, TargetsFile *f) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        FileSdList list = {};
        int r;

        FileSdFormat format = file_sd_format_from_path(f->path);
        if (format < 0) {
                r = -EINVAL;
                if (asprintf(&error, "%s: the name ends neither in .json nor in .yml/.yaml", f->path) < 0)
                        error = NULL;
        } else {
                r = read_full_file(f->path, FILE_SD_FILE_MAX, &text);
                if (r == -ENOENT)
                        return; /* gone between the glob and now: as if not matched */
                if (r < 0 && asprintf(&error, "%s: cannot read: %s", f->path,
                                      r == -EBADMSG ? "it holds a NUL byte" : strerror(-r)) < 0)
                        error = NULL;
                if (r >= 0)
                        r = file_sd_parse(f->path, format, text, strlen(text), &list, &error);
        }
        if (r >= 0) {
                r = add_list(config, f->path, &list, &error);
                if (r >= 0) {
                        file_sd_list_clear(&f->good);
                        f->good = list;
                        f->has_good = true;
                        if (f->last_error)
                                log_info("%s: read again, %zu targets", f->path, list.n);
                        f->last_error = mfree(f->last_error);
                        return;
                }
                file_sd_list_clear(&list);
        }
        say_once(f, error ?: strerror(-r), f->good.n);
        error = mfree(error); /* config_add_target() sets it afresh */
        if (f->has_good && add_list(config, f->path, &f->good, &error) < 0)
                /* [Defaults] changed under them, or a section took a name: none of the file's targets. */
                log_warning("%s: its last good targets no longer check either (%s); the file gives none",
                            f->path, error ?: "out of memory");
}

static int source_apply(void *userdata, Config *config, char **ret_error) {
        TargetsFileSource *s = userdata;
        TargetsFile *files = NULL;
        size_t n_files = 0;

        update_watches(s, &config->targets_files);
        for (size_t i = 0; i < config->targets_files.n; i++) {
                glob_t matches = {};
                int r = glob(config->targets_files.items[i], 0, NULL, &matches);
                if (r != 0 && r != GLOB_NOMATCH)
                        log_warning("TargetsFile=%s: cannot list the files (%s)",
                                    config->targets_files.items[i],
                                    r == GLOB_NOSPACE ? "out of memory" : "a read error");
                for (size_t j = 0; r == 0 && j < matches.gl_pathc; j++) {
                        const char *path = matches.gl_pathv[j];
                        bool seen = false;
                        for (size_t k = 0; k < n_files && !seen; k++)
                                seen = strcmp(files[k].path, path) == 0;
                        if (seen)
                                continue;
                        TargetsFile *grown = reallocarray(files, n_files + 1, sizeof(TargetsFile));
                        char *copy = strdup(path);
                        if (!grown || !copy) {
                                free(copy);
                                if (grown)
                                        files = grown;
                                globfree(&matches);
                                for (size_t k = 0; k < n_files; k++)
                                        targets_file_clear(&files[k]);
                                free(files);
                                return -ENOMEM;
                        }
                        files = grown;
                        files[n_files] = (TargetsFile){ .path = copy };
                        /* A file read before keeps its last good targets and what was said of it. */
                        for (size_t k = 0; k < s->n_files; k++)
                                if (s->files[k].path && strcmp(s->files[k].path, path) == 0) {
                                        files[n_files].good = s->files[k].good;
                                        files[n_files].has_good = s->files[k].has_good;
                                        files[n_files].last_error = s->files[k].last_error;
                                        s->files[k].good = (FileSdList){};
                                        s->files[k].last_error = NULL;
                                }
                        n_files++;
                }
                globfree(&matches);
        }
        for (size_t k = 0; k < s->n_files; k++)
                targets_file_clear(&s->files[k]);
        free(s->files);
        s->files = files;
        s->n_files = n_files;

        for (size_t i = 0; i < s->n_files; i++)
                apply_file(config, &s->files[i]);
        return 0;
}

const TargetSourceType targets_file_source = {
        .name = "file",
        .apply = source_apply,
        .free = source_free,
};
