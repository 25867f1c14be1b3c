/* SPDX-License-Identifier: MIT */
/* The expiry policy: the lifetime rules (renew point, renewal floor, WarnLifetime=/CritLifetime=) and
 * the fixed day thresholds, each a verdict, the worse of them the result. */
#include <assert.h>
#include <stddef.h>
#include <stdio.h>

#include "expiry-policy.h"

bool expiry_policy_lifetime_active(const ExpiryPolicy *p) {
        assert(p);
        return !p->days_set || p->warn_lifetime > 0 || p->crit_lifetime > 0 || p->renewal_floor_usec > 0;
}

double expiry_left_fraction(int64_t not_before, int64_t not_after, int64_t now) {
        int64_t lifetime = not_after - not_before;

        if (lifetime <= 0 || now >= not_after)
                return 0;
        if (now <= not_before)
                return 1;
        return (double) (not_after - now) / (double) lifetime;
}

const char *expiry_format_span(int64_t seconds, char *buffer, size_t size) {
        if (seconds >= 2 * 86400 || seconds <= -2 * 86400)
                snprintf(buffer, size, "%.1f days", (double) seconds / 86400.0);
        else
                snprintf(buffer, size, "%.1f hours", (double) seconds / 3600.0);
        return buffer;
}

static ExpiryVerdict by_days(int64_t left, unsigned warn_days, unsigned crit_days) {
        if (left < (int64_t) crit_days * 86400)
                return EXPIRY_CRITICAL;
        if (left < (int64_t) warn_days * 86400)
                return EXPIRY_EXPIRES_SOON;
        return EXPIRY_OK;
}

void expiry_assess(const ExpiryPolicy *p, int64_t not_before, int64_t not_after, int64_t now,
                   ExpiryAssessment *ret) {
        assert(p);
        assert(ret);

        int64_t lifetime = not_after - not_before;
        if (lifetime < 0)
                lifetime = 0;
        *ret = (ExpiryAssessment){
                .lifetime = lifetime,
                .left = not_after - now,
                .left_fraction = expiry_left_fraction(not_before, not_after, now),
        };

        /* The renew point: the fraction of its life left at which an ACME client renews it (certbot's
         * and lego's rule: a third, half for lifetimes under 10 days), unless WarnLifetime= says. */
        if (p->warn_lifetime > 0)
                ret->renew_fraction = p->warn_lifetime / 100.0;
        else if (lifetime < EXPIRY_SHORT_LIVED_SECONDS)
                ret->renew_fraction = 0.5;
        else
                ret->renew_fraction = 1.0 / 3.0;
        ret->renew_at = not_after - (int64_t) ((double) lifetime * ret->renew_fraction);

        /* The floor: by default a sixth of the lifetime (half of the renewal window of a 90-day
         * certificate, a third of a 6-day one's), at most a week, which is what a human needs to notice
         * a failed renewal, fix DNS or the firewall and reload. Either explicit setting replaces it; both:
         * the larger. */
        int64_t floor = 0;
        if (p->renewal_floor_usec > 0)
                floor = (int64_t) (p->renewal_floor_usec / USEC_PER_SEC);
        if (p->crit_lifetime > 0) {
                int64_t f = (int64_t) ((double) lifetime * p->crit_lifetime / 100.0);
                if (f > floor)
                        floor = f;
        }
        if (p->renewal_floor_usec == 0 && p->crit_lifetime == 0) {
                floor = lifetime / 6;
                if (floor > EXPIRY_FLOOR_MAX_SECONDS)
                        floor = EXPIRY_FLOOR_MAX_SECONDS;
        }
        ret->floor = floor;

        ExpiryVerdict lifetime_verdict = EXPIRY_OK, days_verdict = EXPIRY_OK;
        if (expiry_policy_lifetime_active(p)) {
                bool long_lived = lifetime > EXPIRY_LONG_LIVED_SECONDS;

                /* A long-lived certificate keeps the fixed thresholds for whatever part of the lifetime
                 * policy is not set explicitly: its third of life left would be years. */
                if (long_lived && p->warn_lifetime == 0) {
                        if (by_days(ret->left, EXPIRY_DEFAULT_WARN_DAYS, 0) != EXPIRY_OK)
                                lifetime_verdict = EXPIRY_EXPIRES_SOON;
                } else if (ret->left < (int64_t) ((double) lifetime * ret->renew_fraction))
                        lifetime_verdict = EXPIRY_RENEWAL_OVERDUE;

                if (long_lived && p->warn_lifetime == 0) {
                        ret->renew_fraction = (double) EXPIRY_DEFAULT_WARN_DAYS * 86400 / (double) lifetime;
                        ret->renew_at = not_after - (int64_t) EXPIRY_DEFAULT_WARN_DAYS * 86400;
                }
                if (long_lived && p->renewal_floor_usec == 0 && p->crit_lifetime == 0) {
                        ret->floor = (int64_t) EXPIRY_DEFAULT_CRIT_DAYS * 86400;
                        if (ret->left < ret->floor)
                                lifetime_verdict = EXPIRY_CRITICAL;
                } else if (ret->left < ret->floor)
                        lifetime_verdict = EXPIRY_CRITICAL;
        }
        if (p->days_set)
                days_verdict = by_days(ret->left, p->warn_days, p->crit_days);

        /* The worse; of two warnings the lifetime one, which says more. */
        if (days_verdict == EXPIRY_CRITICAL && lifetime_verdict != EXPIRY_CRITICAL) {
                ret->verdict = EXPIRY_CRITICAL;
                ret->by_days = true;
        } else if (lifetime_verdict != EXPIRY_OK) {
                ret->verdict = lifetime_verdict;
                ret->by_days = false;
        } else {
                ret->verdict = days_verdict;
                ret->by_days = days_verdict != EXPIRY_OK;
        }
}
