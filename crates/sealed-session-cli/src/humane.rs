//! Durations as people write and read them: `90m`, `1h30m`, `2d` (parsed by `humantime`);
//! "42m ago", "in 23h 5m" (written here: humantime's `1day 2h` is not the form `inspect` shows).

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 24 * 60 * 60),
    ('d', 24 * 60 * 60),
    ('h', 60 * 60),
    ('m', 60),
    ('s', 1),
];

/// Parses whole seconds (`3600`) or what `humantime` reads (`1h30m`, `1h 30m`, `2d`, `45s`,
/// `1week`) into seconds. `None` if the text is neither, is not a whole number of seconds
/// (`1500ms`), or overflows.
pub(crate) fn parse(text: &str) -> Option<u64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let duration = humantime::parse_duration(text).ok()?;
    (duration.subsec_nanos() == 0).then_some(duration.as_secs())
}

/// Every non-zero unit, largest first, weeks shown as days: `1d 2h 3m 4s`, `1h`, `0s`.
pub(crate) fn exact(seconds: u64) -> String {
    let mut left = seconds;
    let mut parts = Vec::new();
    for (unit, scale) in UNITS.iter().skip(1) {
        let n = left / scale;
        left %= scale;
        if n > 0 {
            parts.push(format!("{n}{unit}"));
        }
    }
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Rounded down to what matters at a glance: `2d 3h`, `5h 12m`, `42m`, `17s`.
pub(crate) fn approx(seconds: u64) -> String {
    const DAY: u64 = 24 * 60 * 60;
    const HOUR: u64 = 60 * 60;
    let (major, minor) = match seconds {
        s if s >= DAY => ((s / DAY, 'd'), Some((s % DAY / HOUR, 'h'))),
        s if s >= HOUR => ((s / HOUR, 'h'), Some((s % HOUR / 60, 'm'))),
        s if s >= 60 => ((s / 60, 'm'), None),
        s => ((s, 's'), None),
    };
    match minor {
        Some((n, unit)) if n > 0 => format!("{}{} {n}{unit}", major.0, major.1),
        _ => format!("{}{}", major.0, major.1),
    }
}

/// `in 5m`, `3h 2m ago` or `now`, for a time `delta` seconds after now (negative: before).
pub(crate) fn relative(delta: i64) -> String {
    match delta {
        0 => "now".to_owned(),
        d if d > 0 => format!("in {}", approx(d.unsigned_abs())),
        d => format!("{} ago", approx(d.unsigned_abs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seconds_and_humane_forms() {
        assert_eq!(parse("3600"), Some(3600));
        assert_eq!(parse("90m"), Some(5400));
        assert_eq!(parse("1h30m"), Some(5400));
        assert_eq!(parse(" 1h 30m "), Some(5400));
        assert_eq!(parse("2d"), Some(172_800));
        assert_eq!(parse("1w"), Some(604_800));
        assert_eq!(parse("45s"), Some(45));
        // humantime reads fractions; whole seconds are all that count.
        assert_eq!(parse("1.5h"), Some(5400));
        for bad in [
            "",
            "h",
            "1x",
            "-1h",
            "1h-",
            "1500ms",
            "99999999999999999999",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse(&format!("{}w", u64::MAX)), None);
    }

    #[test]
    fn formats_exactly_and_at_a_glance() {
        assert_eq!(exact(0), "0s");
        assert_eq!(exact(3600), "1h");
        assert_eq!(exact(86_400), "1d");
        assert_eq!(exact(93_784), "1d 2h 3m 4s");
        assert_eq!(approx(17), "17s");
        assert_eq!(approx(42 * 60 + 59), "42m");
        assert_eq!(approx(5 * 3600 + 12 * 60 + 5), "5h 12m");
        assert_eq!(approx(2 * 86_400 + 3 * 3600), "2d 3h");
        assert_eq!(approx(86_400 + 59 * 60), "1d");
        assert_eq!(relative(0), "now");
        assert_eq!(relative(300), "in 5m");
        assert_eq!(relative(-180), "3m ago");
    }
}
