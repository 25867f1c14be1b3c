/* SPDX-License-Identifier: MIT */
/* When each target probes next: one sd-event timer for the whole fleet, armed at the earliest due
 * time of a binary heap of entries that the targets embed. An sd-event time source costs some 360 bytes
 * (3.5 MiB at 10,000 targets); a heap slot costs 8, and the entry 16 inside its owner. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

/* What an owner embeds to be scheduled. Zero-initialise it (or schedule_entry_init()); it belongs to
 * the owner, the heap only points at it, so the owner removes it before it frees itself. */
typedef struct ScheduleEntry {
        usec_t due_usec; /* CLOCK_MONOTONIC */
        size_t index;    /* its slot in the heap plus one; 0: not scheduled */
} ScheduleEntry;

typedef struct Schedule Schedule;

/* Called from the loop for each entry that came due, after it was taken off the heap: the handler may
 * schedule it again, or any other entry. */
typedef void (*schedule_handler_t)(ScheduleEntry *entry, void *userdata);

/* Entries due within `accuracy_usec` of each other run in one wake-up (sd-event's coalescing, kept). */
int schedule_new(sd_event *event, usec_t accuracy_usec, schedule_handler_t handler, void *userdata,
                 Schedule **ret);
Schedule *schedule_free(Schedule *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Schedule *, schedule_free);

/* Schedules `entry` `delay_usec` from now, or moves it there if it was scheduled. The addition
 * saturates: an enormous delay means "never", not a time in the past. Returns 0 or -ENOMEM. */
int schedule_add(Schedule *s, ScheduleEntry *entry, usec_t delay_usec);

/* Takes `entry` off the schedule; nothing happens if it was not on it. */
void schedule_remove(Schedule *s, ScheduleEntry *entry);

static inline bool schedule_entry_is_scheduled(const ScheduleEntry *entry) {
        return entry->index > 0;
}

size_t schedule_size(const Schedule *s);

/* The earliest entry, or NULL when the schedule is empty. For tests and for status. */
const ScheduleEntry *schedule_peek(const Schedule *s);

