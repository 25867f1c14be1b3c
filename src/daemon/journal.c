/* SPDX-License-Identifier: MIT */
/* Journal entries for target events. Every entry carries TLSWATCH_* fields a query can select on and a
 * MESSAGE a person understands at once; the MESSAGE_IDs are stable and documented in tlswatch.catalog.
 * Whether the journal is there is asked per entry: journald may start after us or restart under us. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

/* One per problem code, in ProblemCode order; then recovery and certificate change. Never change. */
static const char *const problem_message_ids[_PROBLEM_CODE_MAX] = {
        [PROBLEM_DNS_FAILED] = "c19c232068167cb306ba2cd7ed4d8321",
        [PROBLEM_CONNECT_FAILED] = "379b929d13ea102a28ad8df22339c352",
        [PROBLEM_TIMEOUT] = "8327f6dfad33d63defc797c120f36885",
        [PROBLEM_TLS_HANDSHAKE_FAILED] = "00745079902ab9dd56b3271f18313e71",
        [PROBLEM_NO_PEER_CERTIFICATE] = "b8e080b639703d863f1b7504dccbef55",
        [PROBLEM_CLIENT_CERTIFICATE_REQUIRED] = "a07e59898eb955c8368331c6fbb41a31",
        [PROBLEM_CHAIN_UNVERIFIED] = "4c0dd38e97ce4f9c8f1f7a3a46cadb4d",
        [PROBLEM_INCOMPLETE_CHAIN] = "448c87004f5eb4ca6e30ecd319a6b585",
        [PROBLEM_HOSTNAME_MISMATCH] = "5ebcab9bc797690323fecd2ca845b408",
        [PROBLEM_EXPIRED] = "329f65428f9c5d7887790a93ce965909",
        [PROBLEM_NOT_YET_VALID] = "e81272e664a54191afab34382109db8b",
        [PROBLEM_EXPIRES_SOON] = "e50beb0193a4227663f341bf7b315bbf",
        [PROBLEM_WEAK_KEY] = "0f7bab7e06b5617d1dbc9577ce789c1c",
        [PROBLEM_WEAK_SIGNATURE] = "0cacd293742cb8dd085d8310de3e5e02",
        [PROBLEM_OLD_TLS_VERSION] = "87acc0a05f7222c267610a2ee81c104e",
        [PROBLEM_PROTOCOL_FAILED] = "a6708cfa83d63369ac5e09cf5ea00ee9",
        [PROBLEM_KEY_MISMATCH] = "b57569903049f89f65a8cf3363ce3020",
        [PROBLEM_CERTFILE_ORDER] = "95f2a599916cea8d58683be2de96d1d8",
        [PROBLEM_ROOT_IN_CERTFILE] = "4993df32d4e719dabc5691ab1649bac3",
        [PROBLEM_CACERTFILE_NOT_CA] = "4e72f5f5599b7f3315da73ef06a3dad0",
        [PROBLEM_CACERTFILE_NOT_ROOT] = "9b507766a171270b9e50751d92a825a5",
        [PROBLEM_KEY_PERMISSIONS] = "8a13e908d1db5bc42c3ab65d28054101",
        [PROBLEM_STALE_CERTIFICATE] = "665dcb6b8c3877135bcd662aba3e4387",
        [PROBLEM_NAME_ONLY_IN_CN] = "4d383d7fad0d44938a755daef7b66737",
        [PROBLEM_RENEWAL_OVERDUE] = "487beb8951c9e6d0a94b8855f9fca79d",
        [PROBLEM_REVOKED] = "1fcf3657435e4415849ee2990a4284fd",
        [PROBLEM_REVOCATION_UNKNOWN] = "9fe98b3f0fe441a3b95f9352fd62d9bc",
        [PROBLEM_PIN_MISMATCH] = "46247474c67fd5b883f4560a3d4ac660",
        [PROBLEM_INTERMEDIATE_CHANGED] = "fdb1ba0cd02eae907f53a8df9b3f6e8d",
        [PROBLEM_CLIENT_AUTH_DROPPED] = "5fa65d6fb5098da84fccbec902d1d0cd",
        [PROBLEM_NODES_DIFFER] = "304cef2d6cb3041dcbf3b5b6a38117f6",
};
#define MESSAGE_ID_RECOVERY "89e4ef42f78985e5beca22c9bba9634d"
#define MESSAGE_ID_CERTIFICATE_CHANGED "f7c9b520ffb343eea44eda492f62d476"

/* The fixed fields, and a certificate change's: one per change and one per SAN added or removed. */
#define FIELDS_MAX (32 + _CERT_CHANGE_KIND_MAX + 2 * CERT_CHANGE_NAMES_MAX)

bool journal_available(void) {
        return access("/run/systemd/journal/socket", W_OK) == 0;
}

const char *journal_message_id(const TargetEvent *event) {
        switch (event->type) {
        case TARGET_EVENT_CERTIFICATE_CHANGED:
                /* A change that breaks devices is found by its code's id; any other by the change's. */
                if (event->problem && event->problem->severity != STATUS_OK)
                        return problem_message_ids[event->problem->code];
                return MESSAGE_ID_CERTIFICATE_CHANGED;
        case TARGET_EVENT_PROBLEM_CLEARED:
                return MESSAGE_ID_RECOVERY;
        case TARGET_EVENT_STATUS_CHANGED:
                if (event->new_status == STATUS_OK || !event->problem)
                        return MESSAGE_ID_RECOVERY;
                _fallthrough_;
        default:
                return event->problem ? problem_message_ids[event->problem->code] : MESSAGE_ID_RECOVERY;
        }
}

static int priority_of(const TargetEvent *event) {
        switch (event->type) {
        case TARGET_EVENT_PROBLEM_APPEARED:
        case TARGET_EVENT_REMINDER:
                return event->problem && event->problem->severity == STATUS_WARNING ? LOG_WARNING : LOG_CRIT;
        case TARGET_EVENT_STATUS_CHANGED:
                if (event->new_status == STATUS_CRITICAL)
                        return LOG_CRIT;
                if (event->new_status == STATUS_WARNING || event->new_status == STATUS_UNKNOWN)
                        return LOG_WARNING;
                return LOG_NOTICE;
        case TARGET_EVENT_CERTIFICATE_CHANGED:
                return event->problem && event->problem->severity != STATUS_OK ? LOG_WARNING : LOG_NOTICE;
        default:
                return LOG_NOTICE;
        }
}

static void format_message(const TargetConfig *config, const TargetState *state, const TargetEvent *event,
                           char *buffer, size_t size) {
        const Problem *p = event->problem;
        const char *code = p ? problem_code_to_string(p->code) : "";

        switch (event->type) {
        case TARGET_EVENT_PROBLEM_APPEARED:
                snprintf(buffer, size, "%s: %s %s: %s", config->name, p ? status_to_string(p->severity) : "?", code,
                         p ? p->message : "");
                break;
        case TARGET_EVENT_PROBLEM_CLEARED:
                snprintf(buffer, size, "%s: %s cleared", config->name, code);
                break;
        case TARGET_EVENT_STATUS_CHANGED:
                if (p)
                        snprintf(buffer, size, "%s: status %s -> %s (%s)", config->name,
                                 status_to_string(event->old_status), status_to_string(event->new_status), code);
                else
                        snprintf(buffer, size, "%s: status %s -> %s", config->name, status_to_string(event->old_status),
                                 status_to_string(event->new_status));
                break;
        case TARGET_EVENT_CERTIFICATE_CHANGED: {
                char changes[2048] = "";
                if (event->diff)
                        cert_diff_describe(event->diff, changes, sizeof(changes));
                snprintf(buffer, size,
                         "%s: the listener serves a new certificate (sha256 %.16s..., not after %s; was "
                         "%.16s..., not after %s)%s%s%s%s%s",
                         config->name, state->sha256, state->not_after, event->old_sha256,
                         event->old_not_after, changes[0] ? ": " : "", changes,
                         !event->diff || event->diff->partial
                                 ? "; the previous certificate is known only by its fingerprint and names "
                                   "(saved "
                                   "state), so key, SANs, EKU and lifetime are not compared"
                                 : "",
                         p ? "; " : "", p ? p->message : "");
                break;
        }
        case TARGET_EVENT_REMINDER:
                snprintf(buffer, size, "%s: still %s: %s: %s", config->name, status_to_string(state->status), code,
                         p ? p->message : "");
                break;
        default:
                snprintf(buffer, size, "%s: event", config->name);
        }
}

int journal_log_event(const TargetConfig *config, const TargetState *state, const TargetEvent *event,
                      const char *vantage, bool use_journal) {
        char message[4096];
        char *fields[FIELDS_MAX];
        size_t n = 0;
        int r;

        format_message(config, state, event, message, sizeof(message));

        if (!use_journal) {
                fprintf(stderr, "<%d>%s\n", priority_of(event), message);
                return 0;
        }

#define FIELD(...)                                                      \
        do {                                                            \
                if (n < FIELDS_MAX && asprintf(&fields[n], __VA_ARGS__) >= 0) \
                        n++;                                            \
        } while (0)

        FIELD("MESSAGE=%s", message);
        FIELD("MESSAGE_ID=%s", journal_message_id(event));
        FIELD("PRIORITY=%d", priority_of(event));
        FIELD("SYSLOG_IDENTIFIER=tlswatchd");
        FIELD("TLSWATCH_EVENT=%s", target_event_type_to_string(event->type));
        FIELD("TLSWATCH_TARGET=%s", config->name);
        FIELD("TLSWATCH_STATUS=%s", status_to_string(event->new_status));
        FIELD("TLSWATCH_OLD_STATUS=%s", status_to_string(event->old_status));
        /* Where the event was seen from: one query over a fleet's journals tells the sites apart. */
        if (vantage)
                FIELD("TLSWATCH_VANTAGE=%s", vantage);
        /* Always HOST:PORT, the address where the problem was seen if one was, else the configured one. */
        const char *host = event->address ?: config->probe.host;
        FIELD("TLSWATCH_ADDRESS=%s%s%s:%u", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
              config->probe.port);
        if (event->problem) {
                FIELD("TLSWATCH_CODE=%s", problem_code_to_string(event->problem->code));
                FIELD("TLSWATCH_SEVERITY=%s", status_to_string(event->problem->severity));
                if (event->problem->verify_code >= 0)
                        FIELD("TLSWATCH_VERIFY_CODE=%d", event->problem->verify_code);
                if (event->problem->depth >= 0)
                        FIELD("TLSWATCH_DEPTH=%d", event->problem->depth);
        }
        if (state->has_days_left)
                FIELD("TLSWATCH_DAYS_LEFT=%.1f", state->days_left);
        if (state->not_after[0])
                FIELD("TLSWATCH_NOT_AFTER=%s", state->not_after);
        if (state->subject)
                FIELD("TLSWATCH_SUBJECT=%s", state->subject);
        if (state->issuer)
                FIELD("TLSWATCH_ISSUER=%s", state->issuer);
        if (state->sha256[0])
                FIELD("TLSWATCH_SHA256=%s", state->sha256);
        if (event->old_sha256)
                FIELD("TLSWATCH_OLD_SHA256=%s", event->old_sha256);
        if (event->diff) {
                char kinds[512] = "";
                size_t used = 0;
                for (size_t i = 0; i < event->diff->n_changes && used < sizeof(kinds); i++) {
                        int k = snprintf(kinds + used, sizeof(kinds) - used, "%s%s", i ? "," : "",
                                         cert_change_kind_to_string(event->diff->changes[i].kind));
                        if (k < 0)
                                break;
                        used += (size_t) k;
                }
                FIELD("TLSWATCH_CHANGES=%s", kinds);
                FIELD("TLSWATCH_DIFF_PARTIAL=%d", event->diff->partial);
                /* One field per change (journalctl -o json shows the repeated field as an array), and
                 * the SANs one by one, so a query can select on a name that disappeared. */
                for (size_t i = 0; i < event->diff->n_changes; i++) {
                        const CertChange *c = &event->diff->changes[i];
                        char clause[2600];
                        cert_change_describe(c, clause, sizeof(clause));
                        FIELD("TLSWATCH_CHANGE=%s: %s", cert_change_kind_to_string(c->kind), clause);
                        for (size_t j = 0; j < c->n_names; j++)
                                FIELD("TLSWATCH_%s=%s",
                                      c->kind == CERT_CHANGE_SAN_ADDED ? "SAN_ADDED" : "SAN_REMOVED",
                                      c->names[j]);
                }
        }
#undef FIELD

        struct iovec iov[FIELDS_MAX];
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        r = sd_journal_sendv(iov, (int) n);
        if (r < 0)
                fprintf(stderr, "<%d>%s\n", priority_of(event), message);
        for (size_t i = 0; i < n; i++)
                free(fields[i]);
        return r < 0 ? r : 1;
}

/* --- the sink ---------------------------------------------------------------------------------- */

typedef struct JournalSink {
        bool service;      /* the daemon, not a command (--once): entries go to the journal when it is there */
        int journal_state; /* what the last entry found: 1 sent to the journal, 0 no journal, -1 none yet */
        const char *vantage;         /* the running configuration's Vantage= */
        const char *pending_vantage; /* the one configure saw, until commit */
} JournalSink;

static int sink_new(const SinkContext *context, void **ret) {
        JournalSink *j = calloc(1, sizeof(JournalSink));

        if (!j)
                return -ENOMEM;
        j->service = !context->once;
        j->journal_state = -1;
        *ret = j;
        return 0;
}

static void *sink_free(void *sink) {
        free(sink);
        return NULL;
}

static void sink_event(void *sink, const TargetConfig *config, const TargetState *state, const TargetEvent *event) {
        JournalSink *j = sink;
        /* Asked each time (one access() per event, and events are rare), so that a journald started
         * after us, or restarted, gets structured entries again without our restart. */
        bool available = j->service && journal_available();
        int state_now = journal_log_event(config, state, event, j->vantage, available) > 0;

        /* Say so once per change, not per entry: where the fields went is what a query needs to know. */
        if (j->service && j->journal_state >= 0 && state_now != j->journal_state) {
                if (state_now)
                        log_info("the journal is reachable again: events are structured journal entries again");
                else
                        log_warning("the journal is not reachable: events go to stderr, without their "
                                    "TLSWATCH_* fields, until it is back");
        }
        j->journal_state = state_now;
}

static int sink_configure(void *sink, const Config *config, char **ret_error) {
        JournalSink *j = sink;

        j->pending_vantage = config->vantage;
        return 0;
}

static void sink_commit(void *sink, bool apply) {
        JournalSink *j = sink;

        if (apply)
                j->vantage = j->pending_vantage;
}

const SinkType sink_journal = {
        .name = "journal",
        .new = sink_new,
        .free = sink_free,
        .configure = sink_configure,
        .commit = sink_commit,
        .event = sink_event,
};
