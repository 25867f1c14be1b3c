/* SPDX-License-Identifier: MIT */
/* The fleet's schedule on a real sd-event loop: entries come due in order whatever the order they were
 * added, moved and removed in; a delay near usec_t's limit means never, not now; a handler that
 * schedules again for "now" cannot spin inside one wake-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "schedule.h"

#define N_ENTRIES 500

/* A fixed sequence of delays, the same in every run (a linear congruential generator). */
static unsigned next_delay_step(void) {
        static uint32_t x = 14;
        x = x * 1103515245u + 12345u;
        return (x >> 16) % 200;
}

typedef struct Item {
        ScheduleEntry entry; /* first, so an entry is its item */
        int id;
        bool removed;
        unsigned fired;
} Item;

typedef struct Recorder {
        Item *order[N_ENTRIES];
        size_t n;
        Schedule *schedule;
        unsigned again; /* how many more times the handler schedules its entry again, at once */
} Recorder;

static void on_due(ScheduleEntry *entry, void *userdata) {
        Recorder *recorder = userdata;
        Item *item = (Item *) entry;

        assert_false(schedule_entry_is_scheduled(entry));
        item->fired++;
        if (recorder->n < N_ENTRIES)
                recorder->order[recorder->n++] = item;
        if (recorder->again > 0) {
                recorder->again--;
                assert_int_equal(schedule_add(recorder->schedule, entry, 0), 0);
        }
}

/* Runs the loop until `done` holds or the bound is spent; returns whether it held. */
static bool run_until(sd_event *event, bool (*done)(const Recorder *), const Recorder *recorder) {
        for (unsigned i = 0; i < 10000 && !done(recorder); i++)
                assert_true(sd_event_run(event, 100 * USEC_PER_MSEC) >= 0);
        return done(recorder);
}

static size_t expected_fired;
static bool all_fired(const Recorder *recorder) {
        return recorder->n >= expected_fired;
}

static void test_order(void **state) {
        sd_event *event = NULL;
        Recorder recorder = {};
        static Item items[N_ENTRIES];
        size_t live = N_ENTRIES;

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(schedule_new(event, 0, on_due, &recorder, &recorder.schedule), 0);
        for (int i = 0; i < N_ENTRIES; i++) {
                items[i] = (Item) { .id = i };
                assert_int_equal(schedule_add(recorder.schedule, &items[i].entry,
                                              (usec_t) next_delay_step() * USEC_PER_MSEC / 10),
                                 0);
        }
        /* Move a third of them (earlier and later), remove a tenth. */
        for (int i = 0; i < N_ENTRIES; i += 3)
                assert_int_equal(schedule_add(recorder.schedule, &items[i].entry,
                                              (usec_t) next_delay_step() * USEC_PER_MSEC / 10),
                                 0);
        for (int i = 0; i < N_ENTRIES; i += 10) {
                schedule_remove(recorder.schedule, &items[i].entry);
                schedule_remove(recorder.schedule, &items[i].entry); /* twice: harmless */
                items[i].removed = true;
                live--;
        }
        assert_int_equal(schedule_size(recorder.schedule), live);
        const ScheduleEntry *head = schedule_peek(recorder.schedule);
        for (int i = 0; i < N_ENTRIES; i++)
                if (!items[i].removed)
                        assert_true(head->due_usec <= items[i].entry.due_usec);

        expected_fired = live;
        assert_true(run_until(event, all_fired, &recorder));
        assert_int_equal(recorder.n, live);
        for (size_t i = 1; i < recorder.n; i++)
                assert_true(recorder.order[i - 1]->entry.due_usec <= recorder.order[i]->entry.due_usec);
        for (int i = 0; i < N_ENTRIES; i++)
                assert_int_equal(items[i].fired, items[i].removed ? 0 : 1);
        assert_int_equal(schedule_size(recorder.schedule), 0);
        assert_null(schedule_peek(recorder.schedule));

        schedule_free(recorder.schedule);
        sd_event_unref(event);
}

static void test_huge_delay_is_never(void **state) {
        sd_event *event = NULL;
        Recorder recorder = {};
        Item never = { .id = 1 }, soon = { .id = 2 };

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(schedule_new(event, 0, on_due, &recorder, &recorder.schedule), 0);
        assert_int_equal(schedule_add(recorder.schedule, &never.entry, UINT64_MAX - 1), 0);
        assert_int_equal(never.entry.due_usec, UINT64_MAX);
        assert_int_equal(schedule_add(recorder.schedule, &soon.entry, USEC_PER_MSEC), 0);

        expected_fired = 1;
        assert_true(run_until(event, all_fired, &recorder));
        /* A few more iterations: the saturated entry must not come due. */
        for (int i = 0; i < 5; i++)
                assert_true(sd_event_run(event, 10 * USEC_PER_MSEC) >= 0);
        assert_int_equal(recorder.n, 1);
        assert_ptr_equal(recorder.order[0], &soon);
        assert_int_equal(never.fired, 0);
        assert_true(schedule_entry_is_scheduled(&never.entry));

        /* Freeing the schedule leaves its owners' entries unscheduled, not dangling. */
        schedule_free(recorder.schedule);
        assert_false(schedule_entry_is_scheduled(&never.entry));
        sd_event_unref(event);
}

static void test_rescheduled_now_runs_next_wakeup(void **state) {
        sd_event *event = NULL;
        Recorder recorder = { .again = 20 };
        Item item = { .id = 1 };

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(schedule_new(event, 0, on_due, &recorder, &recorder.schedule), 0);
        assert_int_equal(schedule_add(recorder.schedule, &item.entry, 0), 0);

        /* One iteration, one run: the entry scheduled again for now waits for the next wake-up. */
        assert_true(sd_event_run(event, 100 * USEC_PER_MSEC) > 0);
        assert_int_equal(item.fired, 1);
        expected_fired = 21;
        assert_true(run_until(event, all_fired, &recorder));
        assert_int_equal(item.fired, 21);
        assert_false(schedule_entry_is_scheduled(&item.entry));

        schedule_free(recorder.schedule);
        sd_event_unref(event);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_huge_delay_is_never),
                cmocka_unit_test(test_rescheduled_now_runs_next_wakeup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
