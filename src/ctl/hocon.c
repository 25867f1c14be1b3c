/* SPDX-License-Identifier: MIT */
/* The HOCON subset reader (see hocon.h): a recursive descent over the text, bounded in nesting, include
 * depth, value size and entry count, that records each scalar under its full path. Every error names
 * the file and line, since an operator fixes it there. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hocon.h"
#include "macro.h"
#include "string-util.h"

#define HOCON_VALUE_MAX (64 * 1024)
#define HOCON_INCLUDES_MAX 64

typedef struct Buffer {
        char *data;
        size_t size, allocated;
} Buffer;

typedef struct Parser {
        const char *p, *end;
        const char *file;
        unsigned line;
        unsigned include_depth;
        HoconDocument *doc;
        HoconIncludeFn include;
        void *userdata;
        char **error;
} Parser;

static void buffer_done(Buffer *b) {
        free(b->data);
        *b = (Buffer){};
}

static int buffer_append(Buffer *b, const char *data, size_t n) {
        if (b->size + n + 1 > HOCON_VALUE_MAX)
                return -E2BIG;
        if (!b->data || b->size + n + 1 > b->allocated) {
                size_t allocated = MAX(b->allocated * 2, b->size + n + 64);
                char *d = realloc(b->data, allocated);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->allocated = allocated;
        }
        if (n > 0)
                memcpy(b->data + b->size, data, n);
        b->size += n;
        b->data[b->size] = '\0';
        return 0;
}

static int buffer_append_char(Buffer *b, char c) {
        return buffer_append(b, &c, 1);
}

_printf_(3, 4) static int fail(Parser *ps, unsigned line, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, format);
        int r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return error_message(ps->error, -EINVAL, "%s:%u: %s", ps->file, line, message);
}

/* A failed append is either memory or a value past the bound; the latter is the file's fault. */
static int append_failed(Parser *ps, int r) {
        if (r == -E2BIG)
                return fail(ps, ps->line, "a value longer than %u bytes", HOCON_VALUE_MAX);
        return r;
}

static bool at(const Parser *ps, const char *s) {
        size_t n = strlen(s);
        return (size_t) (ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static bool at_comment(const Parser *ps) {
        return ps->p < ps->end && (*ps->p == '#' || at(ps, "//"));
}

static void skip_to_line_end(Parser *ps) {
        while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
}

/* Blanks and comments; with `newlines`, line ends too; with `commas`, the commas between fields. */
static void skip_space(Parser *ps, bool newlines, bool commas) {
        while (ps->p < ps->end) {
                char c = *ps->p;
                if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || (c == ',' && commas))
                        ps->p++;
                else if (at_comment(ps))
                        skip_to_line_end(ps);
                else if (c == '\n' && newlines) {
                        ps->line++;
                        ps->p++;
                } else
                        break;
        }
}

static int append_utf8(Buffer *b, unsigned cp) {
        char out[3];
        if (cp < 0x80)
                return buffer_append_char(b, (char) cp);
        if (cp < 0x800) {
                out[0] = (char) (0xc0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3f));
                return buffer_append(b, out, 2);
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
                return buffer_append_char(b, '?'); /* half of a surrogate pair: not text on its own */
        out[0] = (char) (0xe0 | (cp >> 12));
        out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char) (0x80 | (cp & 0x3f));
        return buffer_append(b, out, 3);
}

/* "..." with JSON's escapes, or """...""" taken as it stands (it may span lines). */
static int parse_quoted(Parser *ps, Buffer *b) {
        unsigned start = ps->line;
        int r;

        if (at(ps, "\"\"\"")) {
                ps->p += 3;
                while (!at(ps, "\"\"\"")) {
                        if (ps->p >= ps->end)
                                return fail(ps, start, "a \"\"\" string is not closed");
                        if (*ps->p == '\n')
                                ps->line++;
                        r = buffer_append_char(b, *ps->p++);
                        if (r < 0)
                                return append_failed(ps, r);
                }
                ps->p += 3;
                return 0;
        }

        ps->p++;
        for (;;) {
                if (ps->p >= ps->end || *ps->p == '\n')
                        return fail(ps, start, "a quoted string is not closed on its line");
                char c = *ps->p++;
                if (c == '"')
                        return 0;
                if (c == '\\') {
                        if (ps->p >= ps->end)
                                return fail(ps, start, "a quoted string is not closed on its line");
                        char e = *ps->p++;
                        switch (e) {
                        case '"':
                        case '\\':
                        case '/':
                                c = e;
                                break;
                        case 'b':
                                c = '\b';
                                break;
                        case 'f':
                                c = '\f';
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 'r':
                                c = '\r';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'u': {
                                unsigned cp = 0;
                                for (int i = 0; i < 4; i++, ps->p++) {
                                        static const char hex[] = "0123456789abcdef";
                                        const char *v = ps->p < ps->end && *ps->p
                                                                ? strchr(hex,
                                                                         tolower((unsigned char) *ps->p))
                                                                : NULL;
                                        if (!v)
                                                return fail(ps, ps->line,
                                                            "\\u needs four hexadecimal digits");
                                        cp = cp * 16 + (unsigned) (v - hex);
                                }
                                r = append_utf8(b, cp);
                                if (r < 0)
                                        return append_failed(ps, r);
                                continue;
                        }
                        default:
                                return fail(ps, ps->line, "\"\\%c\" is not an escape HOCON knows", e);
                        }
                }
                r = buffer_append_char(b, c);
                if (r < 0)
                        return append_failed(ps, r);
        }
}

/* Characters that end a bare key segment. */
static bool key_stop(const Parser *ps) {
        return strchr(" \t\r\n\f\v.=:{}[],#\"+$", *ps->p) || at(ps, "//");
}

static int parse_key(Parser *ps, char *key, size_t size) {
        Buffer b = {};
        int r = 0;

        for (;;) {
                size_t before = b.size;
                if (ps->p < ps->end && *ps->p == '"') {
                        r = parse_quoted(ps, &b);
                        if (r < 0)
                                goto finish;
                } else {
                        const char *start = ps->p;
                        while (ps->p < ps->end && !key_stop(ps))
                                ps->p++;
                        if (ps->p == start) {
                                if (ps->p >= ps->end)
                                        r = fail(ps, ps->line,
                                                 "a key was expected before the end of the file");
                                else
                                        r = fail(ps, ps->line, "a key was expected, not '%c'", *ps->p);
                                goto finish;
                        }
                        r = buffer_append(&b, start, ps->p - start);
                        if (r < 0) {
                                r = append_failed(ps, r);
                                goto finish;
                        }
                }
                if (b.size == before && before > 0) {
                        r = fail(ps, ps->line, "an empty key segment");
                        goto finish;
                }
                if (ps->p < ps->end && *ps->p == '.') {
                        ps->p++;
                        r = buffer_append_char(&b, '.');
                        if (r < 0) {
                                r = append_failed(ps, r);
                                goto finish;
                        }
                        continue;
                }
                break;
        }
        if (b.size >= size)
                r = fail(ps, ps->line, "a key longer than %zu bytes", size - 1);
        else
                memcpy(key, b.data ?: "", b.size + 1);
finish:
        buffer_done(&b);
        return r;
}

/* A value that is not an object or an array: pieces (quoted, bare, ${...}) up to the end of the line,
 * a comma or a closing brace, concatenated as HOCON does, the blanks between them kept. */
static int parse_scalar(Parser *ps, Buffer *b, bool *ret_null) {
        bool only_bare = true;
        size_t keep = 0; /* the length without trailing blanks */
        int r;

        while (ps->p < ps->end && !strchr("\n,}]", *ps->p) && !at_comment(ps)) {
                char c = *ps->p;
                if (c == '"') {
                        r = parse_quoted(ps, b);
                        if (r < 0)
                                return r;
                        only_bare = false;
                        keep = b->size;
                } else if (at(ps, "${")) {
                        const char *close = memchr(ps->p, '}', ps->end - ps->p);
                        const char *newline = memchr(ps->p, '\n', ps->end - ps->p);
                        if (!close || (newline && newline < close))
                                return fail(ps, ps->line, "a ${ substitution is not closed on its line");
                        r = buffer_append(b, ps->p, close + 1 - ps->p);
                        if (r < 0)
                                return append_failed(ps, r);
                        ps->p = close + 1;
                        only_bare = false;
                        keep = b->size;
                } else if (c == '{' || c == '[')
                        return fail(ps, ps->line,
                                    "joining a value with an object or an array is not supported");
                else {
                        r = buffer_append_char(b, c);
                        if (r < 0)
                                return append_failed(ps, r);
                        ps->p++;
                        if (!strchr(" \t\r\f\v", c))
                                keep = b->size;
                }
        }
        if (b->data)
                b->data[b->size = keep] = '\0';
        if (b->size == 0 && only_bare)
                return fail(ps, ps->line, "a value was expected");
        *ret_null = only_bare && strcmp(b->data, "null") == 0;
        return 0;
}

/* [ ... ]: skipped, strings and nesting respected, bounded like objects. */
static int skip_array(Parser *ps) {
        unsigned start = ps->line, depth = 0;
        Buffer dummy = {};
        int r = 0;

        while (ps->p < ps->end) {
                char c = *ps->p;
                if (c == '[' || c == '{') {
                        if (++depth > HOCON_DEPTH_MAX) {
                                r = fail(ps, ps->line, "nested deeper than %u", HOCON_DEPTH_MAX);
                                goto finish;
                        }
                        ps->p++;
                } else if (c == ']' || c == '}') {
                        ps->p++;
                        if (--depth == 0)
                                goto finish;
                } else if (c == '"') {
                        r = parse_quoted(ps, &dummy);
                        if (r < 0)
                                goto finish;
                        dummy.size = 0;
                } else if (at_comment(ps))
                        skip_to_line_end(ps);
                else {
                        if (c == '\n')
                                ps->line++;
                        ps->p++;
                }
        }
        r = fail(ps, start, "'[' is not closed");
finish:
        buffer_done(&dummy);
        return r;
}

static void entry_done(HoconEntry *e) {
        free(e->path);
        free(e->value);
        free(e->source);
}

/* Drops `path`, everything below it when `children`, and any scalar at a path above it (a.b = 1 after
 * a = 1 makes a an object). */
static void unset(HoconDocument *doc, const char *path, bool children, bool above_too) {
        size_t n = strlen(path), kept = 0;

        for (size_t i = 0; i < doc->n_entries; i++) {
                HoconEntry *e = &doc->entries[i];
                size_t m = strlen(e->path);
                bool same = strcmp(e->path, path) == 0;
                bool below = children && m > n && strncmp(e->path, path, n) == 0 && e->path[n] == '.';
                bool above = above_too && m < n && strncmp(e->path, path, m) == 0 && path[m] == '.';
                if (same || below || above)
                        entry_done(e);
                else
                        doc->entries[kept++] = *e;
        }
        doc->n_entries = kept;
}

static int document_set(HoconDocument *doc, const char *path, const char *value, bool null, bool flat,
                        const char *source) {
        HoconEntry e = { .null = null };

        unset(doc, path, !flat, !flat);
        if (doc->n_entries >= HOCON_ENTRIES_MAX)
                return -E2BIG;
        if (doc->n_entries >= doc->n_allocated) {
                size_t allocated = MAX(doc->n_allocated * 2, 64u);
                HoconEntry *entries = reallocarray(doc->entries, allocated, sizeof(HoconEntry));
                if (!entries)
                        return -ENOMEM;
                doc->entries = entries;
                doc->n_allocated = allocated;
        }
        e.path = strdup(path);
        e.value = strdup(value ?: "");
        e.source = strdup(source);
        if (!e.path || !e.value || !e.source) {
                entry_done(&e);
                return -ENOMEM;
        }
        doc->entries[doc->n_entries++] = e;
        return 0;
}

int hocon_set(HoconDocument *doc, const char *path, const char *value, const char *source) {
        return document_set(doc, path, value, false, true, source);
}

static int set_scalar(Parser *ps, const char *path, const char *value, bool null, unsigned line) {
        char source[HOCON_PATH_MAX + 16];

        snprintf(source, sizeof(source), "%s:%u", ps->file, line);
        int r = document_set(ps->doc, path, value, null, false, source);
        if (r == -E2BIG)
                return fail(ps, line, "more than %u values", HOCON_ENTRIES_MAX);
        return r;
}

static int parse_object_body(Parser *ps, const char *prefix, bool braced, unsigned depth,
                             unsigned open_line);

static int join_path(Parser *ps, const char *prefix, const char *key, char *path, size_t size) {
        int n = snprintf(path, size, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (n < 0 || (size_t) n >= size)
                return fail(ps, ps->line, "a key path longer than %zu bytes", size - 1);
        return 0;
}

static bool at_include(const Parser *ps) {
        if (!at(ps, "include"))
                return false;
        const char *q = ps->p + 7;
        if (q >= ps->end || (*q != ' ' && *q != '\t'))
                return false;
        while (q < ps->end && (*q == ' ' || *q == '\t'))
                q++;
        return q < ps->end && (*q == '"' || strchr("frcu", *q));
}

static int expect_close(Parser *ps, const char *what) {
        skip_space(ps, false, false);
        if (ps->p >= ps->end || *ps->p != ')')
                return fail(ps, ps->line, "include %s(: ')' expected", what);
        ps->p++;
        return 0;
}

static int parse_root(Parser *ps, const char *prefix, unsigned depth);

/* include "name", include file("name"), include required(file("name")) or required("name"). */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by HOCON_DEPTH_MAX and HOCON_INCLUDE_DEPTH_MAX */
static int parse_include(Parser *ps, const char *prefix, unsigned depth) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        bool required = false, file = false;
        unsigned line = ps->line;
        Buffer name = {};
        int r;

        ps->p += 7;
        skip_space(ps, false, false);
        if (at(ps, "required(")) {
                required = true;
                ps->p += 9;
                skip_space(ps, false, false);
        }
        if (at(ps, "file(")) {
                file = true;
                ps->p += 5;
                skip_space(ps, false, false);
        } else if (at(ps, "url(") || at(ps, "classpath("))
                return fail(ps, line, "include url() and classpath() are not supported: only files");
        if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, line, "include: a quoted file name expected");
        r = parse_quoted(ps, &name);
        if (r >= 0 && file)
                r = expect_close(ps, "file");
        if (r >= 0 && required)
                r = expect_close(ps, "required");
        if (r < 0)
                goto finish;
        if (!ps->include) {
                r = fail(ps, line, "include \"%s\": includes are not read here", name.data ?: "");
                goto finish;
        }
        if (ps->include_depth >= HOCON_INCLUDE_DEPTH_MAX || ps->doc->n_includes >= HOCON_INCLUDES_MAX) {
                r = fail(ps, line, "include \"%s\": more than %u includes, or nested deeper than %u",
                         name.data ?: "", HOCON_INCLUDES_MAX, HOCON_INCLUDE_DEPTH_MAX);
                goto finish;
        }
        ps->doc->n_includes++;
        r = ps->include(ps->userdata, ps->file, name.data ?: "", &path, &text);
        if (r == -ENOENT && !required) {
                r = 0; /* HOCON ignores a missing file unless it is required() */
                goto finish;
        }
        if (r == -ENOMEM)
                goto finish;
        if (r < 0) {
                r = fail(ps, line, "include \"%s\": %s", name.data ?: "", strerror(-r));
                goto finish;
        }

        Parser child = {
                .p = text,
                .end = text + strlen(text),
                .file = path,
                .line = 1,
                .include_depth = ps->include_depth + 1,
                .doc = ps->doc,
                .include = ps->include,
                .userdata = ps->userdata,
                .error = ps->error,
        };
        r = parse_root(&child, prefix, depth);
finish:
        buffer_done(&name);
        return r;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by HOCON_DEPTH_MAX and HOCON_INCLUDE_DEPTH_MAX */
static int parse_field(Parser *ps, const char *prefix, unsigned depth) {
        char key[HOCON_PATH_MAX], path[HOCON_PATH_MAX];
        unsigned line;
        bool append = false;
        int r;

        r = parse_key(ps, key, sizeof(key));
        if (r < 0)
                return r;
        r = join_path(ps, prefix, key, path, sizeof(path));
        if (r < 0)
                return r;
        skip_space(ps, false, false);
        line = ps->line;
        if (ps->p < ps->end && (*ps->p == '=' || *ps->p == ':')) {
                ps->p++;
                skip_space(ps, true, false);
        } else if (at(ps, "+=")) {
                append = true; /* an element added to an array: skipped with the array */
                ps->p += 2;
                skip_space(ps, true, false);
        } else if (ps->p >= ps->end || *ps->p != '{')
                return fail(ps, line, "\"%s\": '=', ':' or '{' expected", key);

        if (ps->p >= ps->end)
                return fail(ps, line, "\"%s\": a value was expected", key);
        if (*ps->p == '{') {
                if (depth + 1 > HOCON_DEPTH_MAX)
                        return fail(ps, ps->line, "nested deeper than %u", HOCON_DEPTH_MAX);
                line = ps->line;
                ps->p++;
                if (!append)
                        unset(ps->doc, path, false,
                              true); /* an object replaces a scalar and merges with an object */
                r = parse_object_body(ps, append ? "\x01" : path, true, depth + 1, line);
                if (append && r >= 0)
                        unset(ps->doc, "\x01", true, true);
        } else if (*ps->p == '[') {
                r = skip_array(ps);
                if (r >= 0 && !append)
                        unset(ps->doc, path, true, true);
        } else {
                Buffer value = {};
                bool null = false;
                r = parse_scalar(ps, &value, &null);
                if (r >= 0 && !append)
                        r = set_scalar(ps, path, value.data, null, line);
                buffer_done(&value);
        }
        if (r < 0)
                return r;

        skip_space(ps, false, false);
        if (ps->p < ps->end && !strchr("\n,}", *ps->p))
                return fail(ps, ps->line, "\"%s\": unexpected '%c' after the value", key, *ps->p);
        return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by HOCON_DEPTH_MAX and HOCON_INCLUDE_DEPTH_MAX */
static int parse_object_body(Parser *ps, const char *prefix, bool braced, unsigned depth,
                             unsigned open_line) {
        int r;

        for (;;) {
                skip_space(ps, true, true);
                if (ps->p >= ps->end) {
                        if (braced)
                                return fail(ps, open_line, "'{' is not closed");
                        return 0;
                }
                if (*ps->p == '}') {
                        if (!braced)
                                return fail(ps, ps->line, "'}' without a '{'");
                        ps->p++;
                        return 0;
                }
                if (at_include(ps))
                        r = parse_include(ps, prefix, depth);
                else
                        r = parse_field(ps, prefix, depth);
                if (r < 0)
                        return r;
        }
}

/* A file is an object's body, or the object in braces. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by HOCON_DEPTH_MAX and HOCON_INCLUDE_DEPTH_MAX */
static int parse_root(Parser *ps, const char *prefix, unsigned depth) {
        int r;

        if (at(ps, "\xef\xbb\xbf"))
                ps->p += 3; /* a UTF-8 byte order mark */
        skip_space(ps, true, false);
        if (ps->p < ps->end && *ps->p == '{') {
                unsigned line = ps->line;
                ps->p++;
                r = parse_object_body(ps, prefix, true, depth + 1, line);
                if (r < 0)
                        return r;
                skip_space(ps, true, false);
                if (ps->p < ps->end)
                        return fail(ps, ps->line, "unexpected '%c' after the closing '}'", *ps->p);
                return 0;
        }
        return parse_object_body(ps, prefix, false, depth, 0);
}

int hocon_parse(HoconDocument *doc, const char *text, const char *file, HoconIncludeFn include,
                void *userdata, char **ret_error) {
        Parser ps = {
                .p = text,
                .end = text + strlen(text),
                .file = file,
                .line = 1,
                .doc = doc,
                .include = include,
                .userdata = userdata,
                .error = ret_error,
        };

        *ret_error = NULL;
        return parse_root(&ps, "", 0);
}

const HoconEntry *hocon_get(const HoconDocument *doc, const char *path) {
        for (size_t i = 0; i < doc->n_entries; i++)
                if (strcmp(doc->entries[i].path, path) == 0)
                        return &doc->entries[i];
        return NULL;
}

const char *hocon_get_value(const HoconDocument *doc, const char *path) {
        const HoconEntry *e = hocon_get(doc, path);
        return e && !e->null ? e->value : NULL;
}

void hocon_document_done(HoconDocument *doc) {
        for (size_t i = 0; i < doc->n_entries; i++)
                entry_done(&doc->entries[i]);
        free(doc->entries);
        *doc = (HoconDocument){};
}
