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
        size_t offset;
        size_t size;
        const struct Field *fields; /* FIELD_NESTED: the embedded struct's table */
        size_t n_fields;
        FieldKind kind;
        bool bookkeeping; /* not a setting (where it was read, ...): cleared, never copied or compared */
} Field;

/* The member's size, whatever its type (a pointer to a struct is a plain field too). */
#define FIELD_SIZE_OF(type, member) sizeof(((type *) 0)->member) /* NOLINT(bugprone-sizeof-expression) */
#define FIELD_STRING_OF(type, member) \
        { .name = #member, .kind = FIELD_STRING, .offset = offsetof(type, member), \
          .size = FIELD_SIZE_OF(type, member) }
#define FIELD_PLAIN_OF(type, member) \
        { .name = #member, .kind = FIELD_PLAIN, .offset = offsetof(type, member), \
          .size = FIELD_SIZE_OF(type, member) }
#define FIELD_NESTED_OF(type, member, table, n) \
        { .name = #member, .kind = FIELD_NESTED, .offset = offsetof(type, member), \
          .size = FIELD_SIZE_OF(type, member), .fields = (table), .n_fields = (n) }
#define FIELD_BOOKKEEPING_OF(type, kind_, member) \
        { .name = #member, .kind = FIELD_##kind_, .offset = offsetof(type, member), \
          .size = FIELD_SIZE_OF(type, member), .bookkeeping = true }

/* Copies every field of `from` into the zeroed or cleared `to`; on -ENOMEM, `to` holds what was
 * copied so far and must still be cleared. */
int field_table_copy(const Field *fields, size_t n, void *to, const void *from);
void field_table_clear(const Field *fields, size_t n, void *object);
bool field_table_equal(const Field *fields, size_t n, const void *a, const void *b);

/* One field alone, for callers that walk their own table over the same fields ([Defaults] inheritance). */
int field_copy(const Field *field, void *to, const void *from);
bool field_equal(const Field *field, const void *a, const void *b);

/* The field at `offset`, also inside nested structs; *ret_base is the offset of the struct that holds
 * it, to which field_copy() and field_equal() are then applied. NULL if no field starts there. */
const Field *field_table_find(const Field *fields, size_t n, size_t offset, size_t *ret_base);

/* For tests: true when the fields cover all of a struct of `size` bytes but alignment padding, so a
 * member added to the struct and not to its table is noticed. */
bool field_table_covers(const Field *fields, size_t n, size_t size);
