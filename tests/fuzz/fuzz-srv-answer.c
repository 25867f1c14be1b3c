/* SPDX-License-Identifier: MIT */
/* Fuzzes the SRV answer parser with whatever a name server (or someone on its path) may send: it must
 * never read beyond the message, and what it returns must be sorted, distinct, bounded and made of
 * plain host names with a port. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "srv-answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SrvAnswer answer;

        if (srv_answer_parse(data, size, &answer) < 0)
                return 0;
        if (answer.n > SRV_ANSWER_RECORDS_MAX || (answer.n == 0 && !answer.unavailable))
                abort();
        for (size_t i = 0; i < answer.n; i++) {
                const SrvRecord *r = &answer.records[i];
                if (r->port == 0 || !r->host[0] || strlen(r->host) >= SRV_HOST_MAX)
                        abort();
                if (i > 0) {
                        int c = strcmp(answer.records[i - 1].host, r->host);
                        if (c > 0 || (c == 0 && answer.records[i - 1].port >= r->port))
                                abort();
                }
        }
        if (!srv_answer_same_targets(&answer, &answer))
                abort();
        srv_answer_clear(&answer);
        return 0;
}
