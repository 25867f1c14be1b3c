/* SPDX-License-Identifier: MIT */
/* SRV records out of a DNS response, with libresolv's message parser (ns_initparse, ns_parserr) and
 * dn_expand() for the compressed target names: what the stack does is not hand-rolled. Every record is
 * checked against the message's bounds before it is read (RFC 2782: priority, weight, port, target). */
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

/* <sys/param.h>, through <arpa/nameser.h>, has MIN and MAX of its own; macro.h's are used. */
#undef MIN
#undef MAX

#include "macro.h"
#include "srv-answer.h"

/* Names become part of target names, journal fields and label values: a plain host name only (letters,
 * digits, '-', '_' as some zones use, dots between labels). dn_expand() writes any other byte as an
 * escape, which this refuses too. */
static bool host_valid(const char *host) {
        size_t n = strlen(host);

        if (n == 0 || n > SRV_HOST_MAX - 1 || host[0] == '.' || strstr(host, ".."))
                return false;
        for (const char *c = host; *c; c++)
                if (!(('a' <= *c && *c <= 'z') || ('0' <= *c && *c <= '9') || strchr("-_.", *c)))
                        return false;
        return true;
}

static int compare_records(const void *a, const void *b) {
        const SrvRecord *x = a, *y = b;
        int r = strcmp(x->host, y->host);

        return r != 0 ? r : (int) x->port - (int) y->port;
}

int srv_answer_parse(const uint8_t *message, size_t size, SrvAnswer *ret) {
        SrvAnswer answer = {};
        bool dot = false;
        ns_msg handle;
        int n_srv = 0;

        *ret = (SrvAnswer){};
        if (size > 65535 || ns_initparse(message, (int) size, &handle) < 0)
                return -EBADMSG;

        int count = ns_msg_count(handle, ns_s_an);
        for (int i = 0; i < count; i++) {
                ns_rr rr;
                char host[NS_MAXDNAME];

                if (ns_parserr(&handle, ns_s_an, i, &rr) < 0) {
                        srv_answer_clear(&answer);
                        return -EBADMSG;
                }
                /* CNAMEs the server followed come first; only SRV of class IN counts. */
                if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in)
                        continue;
                n_srv++;
                const uint8_t *rdata = ns_rr_rdata(rr);
                if (ns_rr_rdlen(rr) < 7) {
                        answer.skipped++;
                        continue;
                }
                if (dn_expand(message, message + size, rdata + 6, host, sizeof(host)) < 0) {
                        answer.skipped++;
                        continue;
                }
                if (strcmp(host, "") == 0 || strcmp(host, ".") == 0) {
                        dot = true;
                        continue;
                }
                for (char *c = host; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                size_t length = strlen(host);
                if (length > 0 && host[length - 1] == '.')
                        host[--length] = '\0';
                uint16_t port = ns_get16(rdata + 4);
                if (port == 0 || !host_valid(host) || answer.n >= SRV_ANSWER_RECORDS_MAX) {
                        answer.skipped++;
                        continue;
                }
                if (answer.n % 16 == 0) {
                        SrvRecord *records = reallocarray(answer.records, answer.n + 16, sizeof(SrvRecord));
                        if (!records) {
                                srv_answer_clear(&answer);
                                return -ENOMEM;
                        }
                        answer.records = records;
                }
                SrvRecord *record = &answer.records[answer.n++];
                *record = (SrvRecord){ .port = port,
                                       .priority = ns_get16(rdata),
                                       .weight = ns_get16(rdata + 2) };
                memcpy(record->host, host, length + 1);
        }
        if (n_srv == 0)
                return -ENODATA;

        /* The same host:port twice (at two priorities, say) is one target. */
        if (answer.n > 0)
                qsort(answer.records, answer.n, sizeof(SrvRecord), compare_records);
        size_t kept = 0;
        for (size_t i = 0; i < answer.n; i++)
                if (kept == 0 || compare_records(&answer.records[kept - 1], &answer.records[i]) != 0)
                        answer.records[kept++] = answer.records[i];
        answer.n = kept;
        /* RFC 2782: a lone "." target says the service is not available at this domain. */
        answer.unavailable = dot && answer.n == 0 && answer.skipped == 0;
        if (answer.n == 0 && !answer.unavailable)
                return -ENODATA;
        *ret = answer;
        return 0;
}

bool srv_answer_same_targets(const SrvAnswer *a, const SrvAnswer *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (compare_records(&a->records[i], &b->records[i]) != 0)
                        return false;
        return true;
}

void srv_answer_clear(SrvAnswer *a) {
        free(a->records);
        *a = (SrvAnswer){};
}
