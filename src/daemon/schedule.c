/* SPDX-License-Identifier: MIT */
/* The fleet's schedule: a binary min-heap of due times with one sd-event timer at its head. Each entry
 * knows its slot, so moving or removing one is O(log n); a wake-up runs every entry due by then, in
 * order, and re-arms the timer once. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "schedule.h"

struct Schedule {
        sd_event *event;
        sd_event_source *timer; /* armed at the head's due time; off while the heap is empty */
        usec_t accuracy_usec;
        schedule_handler_t handler;
        void *userdata;

        ScheduleEntry **heap; /* heap[0] is due first; heap[i]->index == i + 1 */
        size_t n;
        size_t allocated;
};

static usec_t now_usec(Schedule *s) {
        uint64_t now = 0;

        /* The loop's cached time of this iteration: the timer's own clock, so "due" means the same here. */
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        }
        return now;
}

static void heap_place(Schedule *s, size_t i, ScheduleEntry *entry) {
        s->heap[i] = entry;
        entry->index = i + 1;
}

static void sift_up(Schedule *s, size_t i) {
        ScheduleEntry *entry = s->heap[i];

        while (i > 0) {
                size_t parent = (i - 1) / 2;
                if (s->heap[parent]->due_usec <= entry->due_usec)
                        break;
                heap_place(s, i, s->heap[parent]);
                i = parent;
        }
        heap_place(s, i, entry);
}

static void sift_down(Schedule *s, size_t i) {
        ScheduleEntry *entry = s->heap[i];

        for (;;) {
                size_t child = 2 * i + 1;
                if (child >= s->n)
                        break;
                if (child + 1 < s->n && s->heap[child + 1]->due_usec < s->heap[child]->due_usec)
                        child++;
                if (entry->due_usec <= s->heap[child]->due_usec)
                        break;
                heap_place(s, i, s->heap[child]);
                i = child;
        }
        heap_place(s, i, entry);
}

static void heap_remove_at(Schedule *s, size_t i) {
        ScheduleEntry *entry = s->heap[i];

        entry->index = 0;
        s->n--;
        if (i == s->n)
                return;
        heap_place(s, i, s->heap[s->n]);
        /* The entry moved into the hole may belong above it or below it. */
        if (i > 0 && s->heap[i]->due_usec < s->heap[(i - 1) / 2]->due_usec)
                sift_up(s, i);
        else
                sift_down(s, i);
}

/* Points the timer at the head, or turns it off. A failure leaves the timer where it was: it fires,
 * finds what is due and tries again, so a transient error delays probes, never loses them. */
static void arm(Schedule *s) {
        if (s->n == 0) {
                (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_set_time(s->timer, s->heap[0]->due_usec) >= 0)
                (void) sd_event_source_set_enabled(s->timer, SD_EVENT_ON);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Schedule *s = userdata;
        usec_t until = usec_add(now_usec(s), s->accuracy_usec);
        /* Only what is on the heap now: an entry that its handler schedules again for "now" waits for the
         * next wake-up instead of running in a loop here. */
        size_t budget = s->n;

        while (budget-- > 0 && s->n > 0 && s->heap[0]->due_usec <= until) {
                ScheduleEntry *entry = s->heap[0];
                heap_remove_at(s, 0);
                s->handler(entry, s->userdata);
        }
        arm(s);
        return 0;
}

int schedule_new(sd_event *event, usec_t accuracy_usec, schedule_handler_t handler, void *userdata,
                 Schedule **ret) {
        _cleanup_(schedule_freep) Schedule *s = NULL;
        int r;

        assert(event);
        assert(handler);
        assert(ret);

        s = calloc(1, sizeof(Schedule));
        if (!s)
                return -ENOMEM;
        *s = (Schedule) {
                .event = sd_event_ref(event),
                .accuracy_usec = accuracy_usec,
                .handler = handler,
                .userdata = userdata,
        };
        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX, accuracy_usec, on_timer, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->timer, "schedule");
        *ret = TAKE_PTR(s);
        return 0;
}

Schedule *schedule_free(Schedule *s) {
        if (!s)
                return NULL;
        /* The entries belong to their owners, who may outlive the schedule: leave them unscheduled. */
        for (size_t i = 0; i < s->n; i++)
                s->heap[i]->index = 0;
        sd_event_source_disable_unref(s->timer);
        sd_event_unref(s->event);
        free(s->heap);
        free(s);
        return NULL;
}

int schedule_add(Schedule *s, ScheduleEntry *entry, usec_t delay_usec) {
        assert(s);
        assert(entry);
        assert(entry->index <= s->n);

        entry->due_usec = usec_add(now_usec(s), delay_usec);
        if (schedule_entry_is_scheduled(entry)) {
                size_t i = entry->index - 1;
                assert(s->heap[i] == entry);
                if (i > 0 && entry->due_usec < s->heap[(i - 1) / 2]->due_usec)
                        sift_up(s, i);
                else
                        sift_down(s, i);
        } else {
                if (s->n == s->allocated) {
                        size_t allocated = s->allocated ? s->allocated * 2 : 64;
                        ScheduleEntry **heap = reallocarray(s->heap, allocated, sizeof(ScheduleEntry *));
                        if (!heap)
                                return -ENOMEM;
                        s->heap = heap;
                        s->allocated = allocated;
                }
                heap_place(s, s->n, entry);
                s->n++;
                sift_up(s, s->n - 1);
        }
        arm(s);
        return 0;
}

void schedule_remove(Schedule *s, ScheduleEntry *entry) {
        assert(s);
        assert(entry);

        if (!schedule_entry_is_scheduled(entry))
                return;
        assert(entry->index <= s->n && s->heap[entry->index - 1] == entry);
        heap_remove_at(s, entry->index - 1);
        arm(s);
}

size_t schedule_size(const Schedule *s) {
        assert(s);
        return s->n;
}

const ScheduleEntry *schedule_peek(const Schedule *s) {
        assert(s);
        return s->n > 0 ? s->heap[0] : NULL;
}
