//! What this instance believes of what it reads from Redis.
//!
//! Anyone who can write to Redis can write entries and publish messages. Two defences, both on
//! the read side, so that no value in Redis can do more than a genuine instance could have:
//!
//! - **Bounds**, always: an entry is refused if no instance of this fleet could have written it
//!   at `now` ([`TrustBounds`]): a generation ahead of any clock within
//!   [`MAX_CLOCK_SKEW`] of ours, a deadline past the longest session
//!   ([`MAX_TIMEOUT`]) plus the skews, a subject longer than [`MAX_SUBJECT_LEN`]. Without them,
//!   one `PUBLISH` of a `u64::MAX` generation would refuse every session of a subject and make
//!   its "log out everywhere" saturate, for good.
//! - **Authentication**, when enabled ([`RedisStoreBuilder::authenticate_with`], or the session
//!   key ring a session builder starts the store with): every value and message carries an
//!   HMAC-SHA256 tag (the key ring's [`RevocationMac`]) bound to the key or channel it is
//!   under; anything else is refused. The format is in `keys.rs`.
//! - **Freshness**, always: a message whose nonce was seen, or sent further than
//!   [`FRESHNESS_SECS`] from our clock, is refused ([`Recent`]). Under a tag, that makes a
//!   captured message useless; without one, it only keeps genuine messages from counting twice.
//!
//! A refused entry or message is skipped and counted ([`LinkHealth::refused`]); the count is
//! logged at `warn` when it reaches a power of two (1, 2, 4, ...), so that a flood of forgeries
//! can't flood the logs as well.
//!
//! [`MAX_CLOCK_SKEW`]: sealed_session::codec::MAX_CLOCK_SKEW
//! [`MAX_TIMEOUT`]: sealed_session::codec::MAX_TIMEOUT
//! [`MAX_SUBJECT_LEN`]: crate::keys::MAX_SUBJECT_LEN
//! [`RedisStoreBuilder::authenticate_with`]: crate::RedisStoreBuilder::authenticate_with
//! [`RevocationMac`]: sealed_session::revocation::RevocationMac
//! [`LinkHealth::refused`]: crate::LinkHealth::refused

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use sealed_session::codec::{MAX_CLOCK_SKEW, MAX_TIMEOUT, UnixTime};
use sealed_session::revocation::Generation;

use crate::LOG_TARGET;

/// The latest deadline an entry may carry (2106): the memory store keeps 32-bit deadlines,
/// saturating to "forever", and `EXAT` takes any of them.
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

/// Why an entry or message read from Redis was refused. Each is what no genuine instance
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
    /// key, or tagged with a key this ring does not hold).
    Unauthenticated,
    /// A message sent longer ago than the freshness window (or stamped that far ahead):
    /// possibly a captured copy played again.
    Stale,
    /// A message sent no later than one [`Recent`] had to forget for room: possibly a copy
    /// played again, possibly a genuine message delayed while more than the room's worth
    /// arrived. The subscriber asks for a full reload (coalesced), which reads its entry.
    Forgotten,
    /// A message whose nonce was seen already: a copy played again.
    Replayed,
}

impl Refusal {
    /// The `reason` field of the log event.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::GenerationAhead => "generation_ahead",
            Self::DeadlineAhead => "deadline_ahead",
            Self::SubjectTooLong => "subject_too_long",
            Self::Unauthenticated => "unauthenticated",
            Self::Stale => "stale",
            Self::Forgotten => "forgotten",
            Self::Replayed => "replayed",
        }
    }
}

/// How far a message's time may be from the receiver's clock: the fleet's clocks agree
/// within a few seconds (NTP), and a message is delivered within milliseconds. Older, it is
/// refused as stale, so a captured copy can't be played again later.
pub(crate) const FRESHNESS_SECS: u64 = 60;

/// The most nonces remembered (some 3 MiB). Past it the oldest is forgotten and every message
/// sent no later than it is refused from then on: memory stays bounded, and a forgotten nonce
/// can never be played again. Up to about 1,090 messages a second across the fleet, the whole
/// [`FRESHNESS_SECS`] window fits; above, the window shrinks (at 10,000 a second, to about 6.5
/// seconds: a message delayed longer is refused, and counted).
const MAX_NONCES: usize = 1 << 16;

/// The messages seen within the freshness window, by sending time and nonce: what refuses a
/// replayed or stale message. Kept by the subscriber across reconnects.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    seen: BTreeSet<(UnixTime, [u8; 16])>,
    /// Messages sent at or before this are refused: the latest time forgotten for room.
    floor: Option<UnixTime>,
}

impl Recent {
    /// Whether a message sent at `sent` with `nonce`, received at `now`, is fresh; if so,
    /// remembers it.
    pub(crate) fn admit(
        &mut self,
        sent: UnixTime,
        nonce: [u8; 16],
        now: UnixTime,
    ) -> Result<(), Refusal> {
        self.admit_bounded(sent, nonce, now, MAX_NONCES)
    }

    fn admit_bounded(
        &mut self,
        sent: UnixTime,
        nonce: [u8; 16],
        now: UnixTime,
        max: usize,
    ) -> Result<(), Refusal> {
        let oldest = UnixTime::from_secs(now.secs().saturating_sub(FRESHNESS_SECS));
        if sent < oldest || sent > now.saturating_add_secs(FRESHNESS_SECS) {
            return Err(Refusal::Stale);
        }
        if self.floor.is_some_and(|floor| sent <= floor) {
            return Err(Refusal::Forgotten);
        }
        // What fell out of the window needs no remembering: its copies are stale.
        while self.seen.first().is_some_and(|(sent, _)| *sent < oldest) {
            self.seen.pop_first();
        }
        if !self.seen.insert((sent, nonce)) {
            return Err(Refusal::Replayed);
        }
        while self.seen.len() > max {
            if let Some((forgotten, _)) = self.seen.pop_first() {
                // Never above our clock: messages stamped in the future (a clock ahead, or a
                // forger) must not make every genuine message of the next minute unreadable.
                let forgotten = forgotten.min(now);
                self.floor = Some(self.floor.map_or(forgotten, |floor| floor.max(forgotten)));
            }
        }
        Ok(())
    }
}

/// Where a refused value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A full load (`SCAN` + `MGET`).
    FullLoad,
    /// A message on the events channel.
    Message,
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
                    Source::FullLoad => "full_load",
                    Source::Message => "message",
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

    fn admit(
        recent: &mut Recent,
        (sent, nonce): (UnixTime, [u8; 16]),
        now: UnixTime,
        max: usize,
    ) -> Result<(), Refusal> {
        recent.admit_bounded(sent, nonce, now, max)
    }

    #[test]
    fn stale_and_replayed_messages_are_refused() {
        let mut recent = Recent::default();
        let stamp = |nonce: u8, sent: u64| (UnixTime::from_secs(sent), [nonce; 16]);
        let now = UnixTime::from_secs(10_000);
        assert_eq!(
            admit(&mut recent, stamp(1, 10_000), now, MAX_NONCES),
            Ok(())
        );
        assert_eq!(
            admit(&mut recent, stamp(1, 10_000), now, MAX_NONCES),
            Err(Refusal::Replayed)
        );
        assert_eq!(
            admit(&mut recent, stamp(2, 10_000), now, MAX_NONCES),
            Ok(()),
            "another nonce"
        );
        assert_eq!(
            admit(&mut recent, stamp(3, 9_940), now, MAX_NONCES),
            Ok(()),
            "as old as allowed"
        );
        assert_eq!(
            admit(&mut recent, stamp(4, 9_939), now, MAX_NONCES),
            Err(Refusal::Stale)
        );
        assert_eq!(
            admit(&mut recent, stamp(5, 10_061), now, MAX_NONCES),
            Err(Refusal::Stale)
        );
        // Later, the first message is stale, and its nonce forgotten.
        let later = UnixTime::from_secs(10_100);
        assert_eq!(
            admit(&mut recent, stamp(1, 10_000), later, MAX_NONCES),
            Err(Refusal::Stale)
        );
        assert_eq!(
            admit(&mut recent, stamp(6, 10_100), later, MAX_NONCES),
            Ok(())
        );
        assert_eq!(recent.seen.len(), 1);
        // Full: the oldest is forgotten, and nothing sent up to it is taken any more.
        let mut full = Recent::default();
        for nonce in 0..3 {
            let sent = 10_000 + u64::from(nonce);
            assert_eq!(admit(&mut full, stamp(nonce, sent), now, 2), Ok(()));
        }
        assert_eq!(full.seen.len(), 2);
        assert_eq!(
            admit(&mut full, stamp(0, 10_000), now, 2),
            Err(Refusal::Forgotten),
            "a forgotten nonce can't be played again"
        );
        assert_eq!(
            admit(&mut full, stamp(9, 10_000), now, 2),
            Err(Refusal::Forgotten)
        );
        assert_eq!(admit(&mut full, stamp(9, 10_003), now, 2), Ok(()));
    }

    #[test]
    fn refusals_are_counted_and_logged_at_powers_of_two() {
        let refusals = Refusals::default();
        for _ in 0..1000 {
            refusals.record(Refusal::Unauthenticated, Source::Message);
        }
        assert_eq!(refusals.total(), 1000);
        assert_eq!((1..=1000u64).filter(|n| n.is_power_of_two()).count(), 10);
    }
}
