//! [`UnixTime`]: whole seconds since the unix epoch, the one time type the revocation layer
//! speaks.

use std::fmt;

use time::{Duration, OffsetDateTime};

/// A point in time as whole seconds since the unix epoch (1970-01-01T00:00:00Z).
///
/// Cookies carry their times at this precision, and revocation stores keep deadlines in it.
/// Times before the epoch count as the epoch; arithmetic saturates instead of overflowing, so
/// no configured timeout can make a deadline wrap around.
///
/// ```
/// use sealed_session::codec::UnixTime;
/// use time::OffsetDateTime;
///
/// let t = UnixTime::from(OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1));
/// assert_eq!(t.secs(), 3_600);
/// assert_eq!(UnixTime::MAX.saturating_add_secs(10), UnixTime::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: Self = Self(0);
    /// The latest representable time; deadlines saturate to it.
    pub const MAX: Self = Self(u64::MAX);

    /// The time `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn secs(self) -> u64 {
        self.0
    }

    /// `self` plus `secs` seconds, or [`UnixTime::MAX`] past it.
    #[must_use]
    pub const fn saturating_add_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// `self` minus `secs` seconds, or the epoch before it.
    #[must_use]
    pub const fn saturating_sub_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    /// As a date, clamped to what [`OffsetDateTime`] can hold.
    pub fn to_datetime(self) -> OffsetDateTime {
        i64::try_from(self.0)
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .unwrap_or(MAX_DATETIME)
    }
}

/// 9999-12-31T23:59:59Z, the latest date `time` holds without its `large-dates` feature.
const MAX_DATETIME: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

impl From<OffsetDateTime> for UnixTime {
    fn from(t: OffsetDateTime) -> Self {
        Self(u64::try_from(t.unix_timestamp()).unwrap_or(0))
    }
}

impl fmt::Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixTime({})", self.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `secs` whole seconds as a [`Duration`], saturating at `i64::MAX` seconds: how settings held
/// in seconds (the codec's timeouts, a configuration file's) become durations again.
pub(crate) fn duration_from_secs(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_clamp_instead_of_failing() {
        assert_eq!(
            UnixTime::from(OffsetDateTime::UNIX_EPOCH - time::Duration::DAY),
            UnixTime::EPOCH
        );
        assert_eq!(UnixTime::MAX.to_datetime(), MAX_DATETIME);
        assert_eq!(
            UnixTime::from_secs(86_400).to_datetime().unix_timestamp(),
            86_400
        );
        assert_eq!(UnixTime::EPOCH.saturating_sub_secs(5), UnixTime::EPOCH);
    }
}
