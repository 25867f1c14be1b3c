/* SPDX-License-Identifier: MIT */
/* A struct described as a table of its fields (offset, size, kind), so that copying, clearing and
 * comparing it are derived from one list instead of being written out field by field: a field the
 * table forgets is caught by field_table_covers() in the struct's unit test, not by a broken reload. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum FieldKind {
        FIELD_STRING, /* char *, owned: strdup()ed on copy, freed on clear, compared with strcmp() */
        FIELD_PLAIN,  /* a scalar, enum or pointer into a static table: copied and compared bytewise */
        FIELD_NESTED, /* an embedded struct with a table of its own */
} FieldKind;

typedef struct Field {
        const char *name; /* for messages and tests */
        FieldKind kind;
        size_t offset;
        size_t size;
        const struct Field *fields; /* FIELD_NESTED: the embedded struct's table */
        size_t n_fields;
} Field;

#define FIELD_STRING_OF(type, member) \
        { #member, FIELD_STRING, offsetof(type, member), sizeof(((type *) 0)->member), NULL, 0 }
#define FIELD_PLAIN_OF(type, member) \
        { #member, FIELD_PLAIN, offsetof(type, member), sizeof(((type *) 0)->member), NULL, 0 }
#define FIELD_NESTED_OF(type, member, table, n) \
        { #member, FIELD_NESTED, offsetof(type, member), sizeof(((type *) 0)->member), table, n }

/* Copies every field of `from` into the zeroed or cleared `to`; on -ENOMEM, `to` holds what was
 * copied so far and must still be cleared. */
int field_table_copy(const Field *fields, size_t n, void *to, const void *from);
void field_table_clear(const Field *fields, size_t n, void *object);
bool field_table_equal(const Field *fields, size_t n, const void *a, const void *b);

/* One field alone, for callers that walk their own table over the same fields ([Defaults] inheritance). */
int field_copy(const Field *field, void *to, const void *from);
bool field_equal(const Field *field, const void *a, const void *b);

/* For tests: true when the fields cover all of a struct of `size` bytes but alignment padding, so a
 * member added to the struct and not to its table is noticed. */
bool field_table_covers(const Field *fields, size_t n, size_t size);
