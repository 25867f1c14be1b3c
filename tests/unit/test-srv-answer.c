/* SPDX-License-Identifier: MIT */
/* srv_answer_parse() on DNS responses built here byte by byte: records sorted and made distinct, target
 * names compressed or not, a lone "." (service unavailable), CNAMEs before the SRV records, and what must
 * be refused or skipped (no SRV at all, a cut message, a name that is no plain host name, port 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "srv-answer.h"

#define QNAME "_secure-mqtt._tcp.example.test"

typedef struct Message {
        uint8_t bytes[16384];
        size_t n;
        uint16_t n_answers;
} Message;

static void put8(Message *m, uint8_t b) {
        assert_true(m->n < sizeof(m->bytes));
        m->bytes[m->n++] = b;
}

static void put16(Message *m, uint16_t v) {
        put8(m, (uint8_t) (v >> 8));
        put8(m, (uint8_t) v);
}

/* A name as labels; "" is the root. */
static void put_name(Message *m, const char *name) {
        while (*name) {
                size_t n = strcspn(name, ".");
                put8(m, (uint8_t) n);
                for (size_t i = 0; i < n; i++)
                        put8(m, (uint8_t) name[i]);
                name += n;
                if (*name == '.')
                        name++;
        }
        put8(m, 0);
}

/* The header (answers counted later) and the question for QNAME SRV IN. */
static void begin(Message *m) {
        *m = (Message){};
        put16(m, 0x1234);
        put16(m, 0x8180); /* a response, recursion desired and available, NOERROR */
        put16(m, 1);
        put16(m, 0);
        put16(m, 0);
        put16(m, 0);
        put_name(m, QNAME);
        put16(m, 33);
        put16(m, 1);
}

/* One SRV answer for the question's name (a compression pointer to offset 12); `compressed`: the
 * target's "example.test" points into the question too. */
static void add_srv(Message *m, uint16_t priority, uint16_t weight, uint16_t port, const char *target,
                    bool compressed) {
        put16(m, 0xc00c);
        put16(m, 33);
        put16(m, 1);
        put16(m, 0);
        put16(m, 60);
        size_t rdlength_at = m->n;
        put16(m, 0);
        put16(m, priority);
        put16(m, weight);
        put16(m, port);
        if (compressed) {
                /* "node" then a pointer to "example.test" in the question (after _secure-mqtt._tcp). */
                put8(m, (uint8_t) strlen(target));
                for (const char *c = target; *c; c++)
                        put8(m, (uint8_t) *c);
                put16(m, (uint16_t) (0xc000 | (12 + 1 + strlen("_secure-mqtt") + 1 + strlen("_tcp"))));
        } else
                put_name(m, target);
        uint16_t rdlength = (uint16_t) (m->n - rdlength_at - 2);
        m->bytes[rdlength_at] = (uint8_t) (rdlength >> 8);
        m->bytes[rdlength_at + 1] = (uint8_t) rdlength;
        m->n_answers++;
}

static void add_cname(Message *m, const char *target) {
        put16(m, 0xc00c);
        put16(m, 5);
        put16(m, 1);
        put16(m, 0);
        put16(m, 60);
        size_t rdlength_at = m->n;
        put16(m, 0);
        put_name(m, target);
        uint16_t rdlength = (uint16_t) (m->n - rdlength_at - 2);
        m->bytes[rdlength_at] = (uint8_t) (rdlength >> 8);
        m->bytes[rdlength_at + 1] = (uint8_t) rdlength;
        m->n_answers++;
}

static void end(Message *m) {
        m->bytes[6] = (uint8_t) (m->n_answers >> 8);
        m->bytes[7] = (uint8_t) m->n_answers;
}

static void test_sorted_distinct(void **unused) {
        Message m;
        SrvAnswer a;

        begin(&m);
        add_srv(&m, 10, 5, 8883, "node2.example.test", false);
        add_srv(&m, 10, 5, 8883, "Node1.Example.Test.", false);
        add_srv(&m, 20, 0, 8883, "node1.example.test", false); /* the same host:port at another priority */
        add_srv(&m, 10, 5, 8884, "node1", true);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), 0);
        assert_int_equal(a.n, 3);
        assert_string_equal(a.records[0].host, "node1.example.test");
        assert_int_equal(a.records[0].port, 8883);
        assert_string_equal(a.records[1].host, "node1.example.test");
        assert_int_equal(a.records[1].port, 8884);
        assert_string_equal(a.records[2].host, "node2.example.test");
        assert_int_equal(a.skipped, 0);
        assert_false(a.unavailable);

        /* The same targets in another order, at other priorities: the same expansion. */
        SrvAnswer b;
        begin(&m);
        add_srv(&m, 1, 1, 8884, "node1.example.test", false);
        add_srv(&m, 1, 1, 8883, "node2.example.test", false);
        add_srv(&m, 1, 1, 8883, "node1.example.test", false);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &b), 0);
        assert_true(srv_answer_same_targets(&a, &b));
        b.records[2].port = 1;
        assert_false(srv_answer_same_targets(&a, &b));
        srv_answer_clear(&a);
        srv_answer_clear(&b);
}

static void test_cname_first(void **unused) {
        Message m;
        SrvAnswer a;

        begin(&m);
        add_cname(&m, "alias.example.test");
        add_srv(&m, 0, 0, 443, "web.example.test", false);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), 0);
        assert_int_equal(a.n, 1);
        assert_string_equal(a.records[0].host, "web.example.test");
        srv_answer_clear(&a);
}

static void test_unavailable(void **unused) {
        Message m;
        SrvAnswer a;

        begin(&m);
        add_srv(&m, 0, 0, 0, "", false);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), 0);
        assert_int_equal(a.n, 0);
        assert_true(a.unavailable);
        srv_answer_clear(&a);
}

static void test_refused(void **unused) {
        Message m;
        SrvAnswer a;

        /* No answer at all, and only a CNAME: no SRV data, the last good answer stays. */
        begin(&m);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), -ENODATA);
        begin(&m);
        add_cname(&m, "alias.example.test");
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), -ENODATA);

        /* Records that cannot be targets are skipped; if none is left, that is no data either. */
        begin(&m);
        add_srv(&m, 0, 0, 0, "node.example.test", false);
        add_srv(&m, 0, 0, 8883, "bad\"name.example.test", false);
        add_srv(&m, 0, 0, 8883, "sp ace.example.test", false);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), -ENODATA);
        begin(&m);
        add_srv(&m, 0, 0, 0, "node.example.test", false);
        add_srv(&m, 0, 0, 8883, "good.example.test", false);
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), 0);
        assert_int_equal(a.n, 1);
        assert_int_equal(a.skipped, 1);
        srv_answer_clear(&a);

        /* Every cut of a good message is refused or parsed, never read beyond. */
        begin(&m);
        add_srv(&m, 10, 5, 8883, "node1.example.test", false);
        add_srv(&m, 10, 5, 8884, "node1", true);
        end(&m);
        for (size_t n = 0; n < m.n; n++) {
                int r = srv_answer_parse(m.bytes, n, &a);
                assert_true(r == -EBADMSG || r == -ENODATA || r == 0);
                srv_answer_clear(&a);
        }
        assert_int_equal(srv_answer_parse((const uint8_t *) "", 0, &a), -EBADMSG);
}

static void test_limit(void **unused) {
        static Message m;
        SrvAnswer a;
        char host[32];

        begin(&m);
        for (unsigned i = 0; i < SRV_ANSWER_RECORDS_MAX + 10; i++) {
                snprintf(host, sizeof(host), "n%u", i);
                add_srv(&m, 0, 0, 8883, host, true);
        }
        end(&m);
        assert_int_equal(srv_answer_parse(m.bytes, m.n, &a), 0);
        assert_int_equal(a.n, SRV_ANSWER_RECORDS_MAX);
        assert_int_equal(a.skipped, 10);
        srv_answer_clear(&a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sorted_distinct), cmocka_unit_test(test_cname_first),
                cmocka_unit_test(test_unavailable),     cmocka_unit_test(test_refused),
                cmocka_unit_test(test_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
