/* SPDX-License-Identifier: MIT */
/* The walkers over a field table. Strings are the only owned kind; everything else is bytes that a
 * copy duplicates and a comparison compares, which is why pointers may only point into static tables. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "field-table.h"

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
int field_copy(const Field *field, void *to, const void *from) {
        void *t = (uint8_t *) to + field->offset;
        const void *f = (const uint8_t *) from + field->offset;

        assert(field);
        assert(to);
        assert(from);

        if (field->kind == FIELD_PLAIN) {
                memcpy(t, f, field->size);
                return 0;
        }
        if (field->kind == FIELD_NESTED)
                return field_table_copy(field->fields, field->n_fields, t, f);
        const char *value = *(char *const *) f;
        char *copy = NULL;
        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*(char **) t);
        *(char **) t = copy;
        return 0;
}

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
bool field_equal(const Field *field, const void *a, const void *b) {
        const void *x = (const uint8_t *) a + field->offset;
        const void *y = (const uint8_t *) b + field->offset;

        assert(field);
        assert(a);
        assert(b);

        if (field->kind == FIELD_PLAIN)
                return memcmp(x, y, field->size) == 0;
        if (field->kind == FIELD_NESTED)
                return field_table_equal(field->fields, field->n_fields, x, y);
        const char *s = *(char *const *) x, *u = *(char *const *) y;
        return (!s && !u) || (s && u && strcmp(s, u) == 0);
}

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
int field_table_copy(const Field *fields, size_t n, void *to, const void *from) {
        int r;

        assert(fields || n == 0);
        for (size_t i = 0; i < n; i++) {
                if (fields[i].bookkeeping)
                        continue;
                r = field_copy(&fields[i], to, from);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
void field_table_clear(const Field *fields, size_t n, void *object) {
        assert(fields || n == 0);
        assert(object);

        for (size_t i = 0; i < n; i++) {
                void *p = (uint8_t *) object + fields[i].offset;
                if (fields[i].kind == FIELD_STRING)
                        free(*(char **) p);
                else if (fields[i].kind == FIELD_NESTED)
                        field_table_clear(fields[i].fields, fields[i].n_fields, p);
                memset(p, 0, fields[i].size);
        }
}

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
bool field_table_equal(const Field *fields, size_t n, const void *a, const void *b) {
        assert(fields || n == 0);

        for (size_t i = 0; i < n; i++)
                if (!fields[i].bookkeeping && !field_equal(&fields[i], a, b))
                        return false;
        return true;
}

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
const Field *field_table_find(const Field *fields, size_t n, size_t offset, size_t *ret_base) {
        assert(fields || n == 0);
        assert(ret_base);

        for (size_t i = 0; i < n; i++) {
                const Field *f = &fields[i];
                if (f->kind == FIELD_NESTED && offset >= f->offset && offset < f->offset + f->size) {
                        const Field *inner = field_table_find(f->fields, f->n_fields, offset - f->offset,
                                                              ret_base);
                        if (inner)
                                *ret_base += f->offset;
                        return inner;
                }
                if (f->offset == offset) {
                        *ret_base = 0;
                        return f;
                }
        }
        return NULL;
}

/* A gap before a field may only be the padding that aligns it; a scalar's alignment is at most its
 * size and at most 8 on the ABIs we build for. */
static size_t alignment_of(size_t size) {
        size_t a = 1;

        while (a < size && a < 8)
                a *= 2;
        return a;
}

/* A nested table recurses once per level of nesting, which the static tables fix (two levels). */
/* NOLINTNEXTLINE(misc-no-recursion) */
bool field_table_covers(const Field *fields, size_t n, size_t size) {
        size_t end = 0;

        for (;;) {
                const Field *next = NULL;

                /* The field that starts first at or after `end`; tables need not be in struct order. */
                for (size_t i = 0; i < n; i++)
                        if (fields[i].offset >= end && (!next || fields[i].offset < next->offset))
                                next = &fields[i];
                if (!next)
                        break;
                if (next->offset - end >= alignment_of(next->kind == FIELD_NESTED ? 8 : next->size))
                        return false;
                if (next->kind == FIELD_NESTED &&
                    !field_table_covers(next->fields, next->n_fields, next->size))
                        return false;
                end = next->offset + next->size;
        }
        /* Tail padding rounds the struct up to its alignment (at most 8). */
        return end <= size && size - end < 8;
}
