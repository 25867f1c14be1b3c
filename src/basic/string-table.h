/* SPDX-License-Identifier: MIT */
/* Enum <-> string tables: every enum that leaves the process (JSON, journal, exit output) has exactly
 * one table of its documented names, and these two macros define its lookups. */
#pragma once

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#define DEFINE_STRING_TABLE_LOOKUP(name, type, max)                                      \
        const char *name##_to_string(type value) {                                       \
                if ((int) value < 0 || (int) value >= (int) (max))                       \
                        return NULL;                                                     \
                return name##_table[value];                                              \
        }                                                                                \
        type name##_from_string(const char *s) {                                         \
                if (!s)                                                                  \
                        return (type) -EINVAL;                                           \
                for (int i = 0; i < (int) (max); i++)                                    \
                        if (name##_table[i] && strcmp(name##_table[i], s) == 0)          \
                                return (type) i;                                         \
                return (type) -EINVAL;                                                   \
        }
