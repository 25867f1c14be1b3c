/* SPDX-License-Identifier: MIT */
/* When a certificate's remaining validity deserves a warning or a page: the lifetime-relative default
 * policy (renewal overdue past the point an ACME client renews, critical below the time a renewal
 * needs) and the fixed WarnDays=/CritDays= thresholds when they are given. Pure: no clock of its own. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

/* Today's fixed thresholds: what WarnDays=/CritDays= default to when only one of them is given, and what
 * long-lived (non-ACME) certificates and CA certificates are judged by. */
#define EXPIRY_DEFAULT_WARN_DAYS 30
#define EXPIRY_DEFAULT_CRIT_DAYS 7
/* Above the longest lifetime public CAs ever issued (398 days, CA/B Forum 2020), a certificate is not
 * renewed by an ACME client: the default policy keeps the fixed 30/7 days for it. */
#define EXPIRY_LONG_LIVED_SECONDS (398LL * 86400)
/* Lifetimes under this renew at half of their life (certbot, lego), longer ones at two thirds. */
#define EXPIRY_SHORT_LIVED_SECONDS (10LL * 86400)
/* The default renewal floor is a sixth of the lifetime, at most a week. */
#define EXPIRY_FLOOR_MAX_SECONDS (7LL * 86400)

typedef struct ExpiryPolicy {
        bool days_set;      /* WarnDays=/CritDays= given: judge by them, as before lifetimes */
        unsigned warn_days; /* meaningful only with days_set */
        unsigned crit_days;
        unsigned warn_lifetime; /* percent of the lifetime left below which renewal is overdue; 0: default */
        unsigned crit_lifetime; /* percent of the lifetime left below which it is critical; 0: unset */
        usec_t renewal_floor_usec; /* critical below this much time left; 0: default (lifetime/6, <= 7 d) */
} ExpiryPolicy;

typedef enum ExpiryVerdict {
        EXPIRY_OK,
        EXPIRY_RENEWAL_OVERDUE, /* warning: past the point where its ACME client renews */
        EXPIRY_EXPIRES_SOON,    /* warning: fewer than WarnDays (or 30 days, long-lived) left */
        EXPIRY_CRITICAL,        /* less time left than a renewal needs, or fewer than CritDays */
} ExpiryVerdict;

typedef struct ExpiryAssessment {
        ExpiryVerdict verdict;
        bool by_days;          /* the verdict comes from the fixed day thresholds */
        int64_t lifetime;      /* seconds, notAfter - notBefore */
        int64_t left;          /* seconds to notAfter; negative once expired */
        double left_fraction;  /* left / lifetime, within 0..1 */
        int64_t renew_at;      /* Unix time its ACME client should have renewed it by (lifetime rules) */
        double renew_fraction; /* the fraction of the lifetime left at renew_at */
        int64_t floor;         /* seconds left below which it is critical (lifetime rules) */
} ExpiryAssessment;

/* True when the lifetime rules apply: by default, and whenever a lifetime setting is given. */
bool expiry_policy_lifetime_active(const ExpiryPolicy *p);

/* Judges a leaf certificate valid from `not_before` to `not_after` at `now` (Unix seconds). Expiry and
 * not-yet-valid are the caller's findings; a certificate past its notAfter is judged critical here. */
void expiry_assess(const ExpiryPolicy *p, int64_t not_before, int64_t not_after, int64_t now,
                   ExpiryAssessment *ret);

/* Lifetime and fraction left alone, for reports: lifetime 0 and fraction 0 for a degenerate validity. */
double expiry_left_fraction(int64_t not_before, int64_t not_after, int64_t now);

/* "6.7 days" or "20.0 hours": a span of seconds as an operator reads it. */
const char *expiry_format_span(int64_t seconds, char *buffer, size_t size);
