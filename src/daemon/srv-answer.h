/* SPDX-License-Identifier: MIT */
/* The SRV records of a DNS answer (RFC 2782), as the targets a [Target NAME] with SRV= expands to. Pure:
 * bytes in, a sorted list of distinct host:port out, so the parser is unit-tested and fuzzed apart from
 * the lookup (srv-source.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More records than this in one answer are ignored: a name that lists thousands of brokers belongs in a
 * TargetsFile=. */
#define SRV_ANSWER_RECORDS_MAX 256
/* A host name: 253 characters at most (RFC 1035), and the NUL. */
#define SRV_HOST_MAX 254

typedef struct SrvRecord {
        char host[SRV_HOST_MAX]; /* lower case, without the trailing dot */
        uint16_t port;
        uint16_t priority;
        uint16_t weight;
} SrvRecord;

typedef struct SrvAnswer {
        SrvRecord *records; /* sorted by host, then port; each host:port once */
        size_t n;
        size_t skipped;   /* records ignored: beyond the limit, or a host that is no plain host name */
        bool unavailable; /* the answer's only record is ".": the service is decidedly not offered here */
} SrvAnswer;

/* Parses a DNS response message (as res_nquery() returns it). Returns 0 and the records in *ret (n may
 * be 0 only with `unavailable`), -ENODATA when the answer holds no SRV record, -EBADMSG when it is no
 * DNS message, -ENOMEM. */
int srv_answer_parse(const uint8_t *message, size_t size, SrvAnswer *ret);

/* True when both hold the same host:port pairs (priority and weight aside: every record is probed). */
bool srv_answer_same_targets(const SrvAnswer *a, const SrvAnswer *b);

void srv_answer_clear(SrvAnswer *a);
