//! What this instance believes of what it reads from Redis.
//!
//! Anyone who can write to Redis can append entries to the stream. Two defences, both on the
//! read side, so that no entry can do more than a genuine instance could have:
//!
//! - **Bounds**, always: an entry is refused if no instance of this fleet could have written it
//!   at `now` ([`TrustBounds`]): a generation ahead of any clock within
//!   [`MAX_CLOCK_SKEW`] of ours, a deadline past the longest session
//!   ([`MAX_TIMEOUT`]) plus the skews, a subject longer than [`MAX_SUBJECT_LEN`]. Without them,
//!   one `XADD` of a `u64::MAX` generation would refuse every session of a subject and make
//!   its "log out everywhere" saturate, for good.
//! - **Authentication**, when enabled ([`RedisStoreBuilder::authenticate_with`], or the session
//!   key ring a session builder starts the store with): every value carries an HMAC-SHA256
//!   tag (the key ring's [`RevocationMac`]) bound to the name it is under; anything else is
//!   refused. The format is in `keys.rs`.
//!
//! No freshness is needed: an entry appended again (a captured copy, or a write-back) is the
//! same revocation, and merging it changes nothing.
//!
//! A refused entry is skipped and counted ([`LinkHealth::refused`]); the count is
//! logged at `warn` when it reaches a power of two (1, 2, 4, ...), so that a flood of forgeries
//! can't flood the logs as well.
//!
//! [`MAX_CLOCK_SKEW`]: sealed_session::codec::MAX_CLOCK_SKEW
//! [`MAX_TIMEOUT`]: sealed_session::codec::MAX_TIMEOUT
//! [`MAX_SUBJECT_LEN`]: crate::keys::MAX_SUBJECT_LEN
//! [`RedisStoreBuilder::authenticate_with`]: crate::RedisStoreBuilder::authenticate_with
//! [`RevocationMac`]: sealed_session::revocation::RevocationMac
//! [`LinkHealth::refused`]: crate::LinkHealth::refused

use std::sync::atomic::{AtomicU64, Ordering};

use sealed_session::codec::{MAX_CLOCK_SKEW, MAX_TIMEOUT, UnixTime};
use sealed_session::revocation::Generation;

use crate::LOG_TARGET;

/// The latest deadline an entry may carry (2106): the memory store keeps 32-bit deadlines,
/// saturating to "forever".
pub(crate) const MAX_UNTIL: u64 = u32::MAX as u64;

/// [`MAX_CLOCK_SKEW`] in seconds. The core caps every codec's clock skew allowance there, and
/// this crate assumes the fleet's clocks agree that well.
const SKEW_SECS: u64 = MAX_CLOCK_SKEW.whole_seconds().unsigned_abs();
/// [`MAX_TIMEOUT`] in seconds: no session outlives it (the core refuses longer timeouts).
const TIMEOUT_SECS: u64 = MAX_TIMEOUT.whole_seconds().unsigned_abs();
// Both come from positive `Duration` constants; were one ever zero or negative, bounds would
// refuse every genuine entry.
const _: () = assert!(SKEW_SECS > 0 && TIMEOUT_SECS > SKEW_SECS);

/// Room above the clock for generations raised step by step faster than time moves (see
/// [`TrustBounds`]'s `max_generation`), in seconds of [`Generation::at`].
pub(crate) const STEPS_SECS: u64 = 3_600;

/// The largest generation and the latest deadline an instance of the fleet can write at a given
/// `now` of ours; what is beyond is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrustBounds {
    /// A generation is twice a time in microseconds ([`Generation::at`]): an authentication's
    /// time (raised one step above the cutoff when the clock is behind it), or a
    /// log-out-everywhere's plus the clock skew allowance, then [`Generation::clearing`]'s 2^24
    /// steps above the cutoff it knew. So at most [`Generation::at`] of `now + 2 *
    /// MAX_CLOCK_SKEW` (a clock up to [`MAX_CLOCK_SKEW`] ahead of ours, its allowance at most as
    /// much again), plus an hour's worth of steps ([`STEPS_SECS`]: 7.2 x 10^9, some 430
    /// log-out-everywheres of one subject at one instant to use it up; each second of the
    /// clock gives two million back). Generations written before stamps were times
    /// (`base * 2 + kind`) are below it too.
    max_generation: Generation,
    /// A deadline is the writer's `now + absolute timeout + clock skew allowance` (the
    /// lifecycle's horizon), each at most [`MAX_TIMEOUT`] and [`MAX_CLOCK_SKEW`], with the
    /// writer's clock up to [`MAX_CLOCK_SKEW`] ahead of ours. Never past [`MAX_UNTIL`].
    max_until: UnixTime,
}

impl TrustBounds {
    /// The bounds at `now`, the store's clock.
    pub(crate) fn at(now: UnixTime) -> Self {
        Self {
            max_generation: Generation::at(
                now.saturating_add_secs(2 * SKEW_SECS + STEPS_SECS)
                    .to_datetime(),
            ),
            max_until: UnixTime::from_secs(
                now.saturating_add_secs(TIMEOUT_SECS + 2 * SKEW_SECS)
                    .secs()
                    .min(MAX_UNTIL),
            ),
        }
    }

    /// The largest generation accepted.
    pub(crate) fn max_generation(&self) -> Generation {
        self.max_generation
    }

    /// The latest deadline accepted.
    pub(crate) fn max_until(&self) -> UnixTime {
        self.max_until
    }

    /// `until`, or the latest deadline accepted if it is later: what this instance writes, so
    /// that every other instance accepts it (an entry kept longer than any session can live
    /// refuses nothing more).
    pub(crate) fn clamp(&self, until: UnixTime) -> UnixTime {
        until.min(self.max_until)
    }
}

/// Why an entry read from Redis was refused. Each is what no genuine instance
/// writes: something else wrote to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A generation beyond [`TrustBounds`].
    GenerationAhead,
    /// A deadline beyond [`TrustBounds`].
    DeadlineAhead,
    /// A subject longer than the longest Redis entries carry (`keys::MAX_SUBJECT_LEN`).
    SubjectTooLong,
    /// Authentication is on and the tag is missing or wrong (forged, altered, moved to another
    /// name, or tagged with a key this ring does not hold).
    Unauthenticated,
}

impl Refusal {
    /// The `reason` field of the log event.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::GenerationAhead => "generation_ahead",
            Self::DeadlineAhead => "deadline_ahead",
            Self::SubjectTooLong => "subject_too_long",
            Self::Unauthenticated => "unauthenticated",
        }
    }
}

/// Where a refused value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The stream.
    Stream,
    /// A line of the pending file, at start.
    PendingFile,
}

/// Counts refusals and logs them, rate-limited: at the 1st, 2nd, 4th, 8th, ... refusal, with
/// the total so far, so a flood of a million forgeries logs 21 lines.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    count: AtomicU64,
}

impl Refusals {
    /// Counts one refusal, and logs it if the count reached a power of two.
    pub(crate) fn record(&self, refusal: Refusal, source: Source) {
        let total = self.count.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if total.is_power_of_two() {
            tracing::warn!(
                target: LOG_TARGET,
                event = "refused",
                reason = refusal.as_str(),
                source = match source {
                    Source::Stream => "stream",
                    Source::PendingFile => "pending_file",
                },
                total,
                "ignored a revocation read from Redis that no instance of this application \
                 wrote: something else writes to Redis (restrict who can, and turn on \
                 `authenticate_with`); logged again when the total doubles"
            );
        }
    }

    /// How many so far.
    pub(crate) fn total(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    #[test]
    fn clamping_makes_any_deadline_acceptable() {
        let bounds = TrustBounds::at(NOW);
        let clamped = bounds.clamp(UnixTime::MAX);
        assert_eq!(clamped, NOW.saturating_add_secs(402 * 86_400));
        assert_eq!(clamped, bounds.max_until(), "what `check` accepts");
        assert_eq!(bounds.clamp(NOW), NOW);
        // Near the end of 32-bit time, the bound is the 32-bit limit itself.
        let late = TrustBounds::at(UnixTime::from_secs(MAX_UNTIL - 10));
        assert_eq!(late.clamp(UnixTime::MAX), UnixTime::from_secs(MAX_UNTIL));
    }
}
