/* SPDX-License-Identifier: MIT */
/* Reporting target events: structured entries in the systemd journal, with a MESSAGE_ID per problem
 * code that tlswatch.catalog explains, or one line each on stderr when there is no journal. */
#pragma once

#include <stdbool.h>

#include "sink.h"
#include "target.h"

/* True when the journal's socket is there to write to. */
bool journal_available(void);

const char *journal_message_id(const TargetEvent *event);

/* Logs one event, to the journal when `use_journal`, else (or when the journal refuses it) as a line
 * on stderr; `vantage` (Vantage=, NULL: none) goes into TLSWATCH_VANTAGE. Returns 1 when the journal
 * took it, 0 or a negative errno when the line went to stderr; callers need not care: a lost log line
 * is not worth stopping the monitor for. */
int journal_log_event(const TargetConfig *config, const TargetState *state, const TargetEvent *event,
                      const char *vantage, bool use_journal);

/* The sink: every event, as a journal entry (or a line on stderr when there is no journal). */
extern const SinkType sink_journal;
