//! The one duration grammar of every command-line flag in the workspace.
//!
//! A duration is [humantime]'s (`500ms`, `30s`, `2m`, `1h30m`, `1d`, `2m 30s`, `0.5s`) or a bare
//! number of seconds (`30`, `1.5`). Every CLI parses its duration flags with [`parse`] (or
//! [`parse_positive`] where zero makes no sense), so a value that works for one works for all:
//!
//! ```
//! use std::time::Duration;
//! assert_eq!(duration_flag::parse("1h30m"), Ok(Duration::from_secs(5400)));
//! assert_eq!(duration_flag::parse("1.5"), Ok(Duration::from_millis(1500)));
//! assert!(duration_flag::parse_positive("0s").is_err());
//! ```
//!
//! With clap: `#[arg(long, value_parser = duration_flag::parse)]`.

use std::fmt;
use std::time::Duration;

/// The grammar, as every error states it.
pub const GRAMMAR: &str = "use a number with a unit, like 500ms, 30s, 2m, 1h30m, 1d, or bare seconds like 1.5";

/// Parses a duration: humantime's grammar, or bare (possibly fractional) seconds. Zero is a
/// duration (`0s`, `0`); negative numbers, `inf`, `NaN` and empty text are not.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError { text: text.to_owned(), reason: Reason::Empty });
    }
    // Bare seconds go through humantime too, so `1.5` is exactly 1.5 s (no floating point).
    let bare = trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let parsed =
        if bare { humantime::parse_duration(&format!("{trimmed}s")) } else { humantime::parse_duration(trimmed) };
    parsed.map_err(|error| DurationError { text: text.to_owned(), reason: Reason::Syntax(describe(trimmed, &error)) })
}

/// [`parse`], refusing zero: for flags such as a poll interval, where zero means nothing useful.
pub fn parse_positive(text: &str) -> Result<Duration, DurationError> {
    match parse(text)? {
        Duration::ZERO => Err(DurationError { text: text.to_owned(), reason: Reason::Zero }),
        duration => Ok(duration),
    }
}

/// Why a duration was refused; its message quotes the text and states the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    text: String,
    reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reason {
    Empty,
    Syntax(String),
    Zero,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Reason::Empty => write!(f, "empty duration: {GRAMMAR}"),
            Reason::Syntax(why) => write!(f, "invalid duration {:?}: {why}; {GRAMMAR}", self.text),
            Reason::Zero => write!(f, "invalid duration {:?}: must be more than zero", self.text),
        }
    }
}

impl std::error::Error for DurationError {}

/// humantime's error in a few words (its own messages list every unit alias).
fn describe(text: &str, error: &humantime::DurationError) -> String {
    use humantime::DurationError as E;
    let rest = |at: usize| text.get(at..).unwrap_or_default();
    match error {
        E::InvalidCharacter(at) => match rest(*at).chars().next() {
            Some(c) => format!("unexpected {c:?}"),
            None => "it ends too early".to_owned(),
        },
        E::NumberExpected(at) => format!("expected a number at {:?}", rest(*at)),
        E::UnknownUnit { unit, value, .. } if unit.is_empty() => format!("no unit after {value}"),
        E::UnknownUnit { unit, .. } => format!("unknown unit {unit:?}"),
        E::NumberOverflow => "too large, or finer than a nanosecond".to_owned(),
        E::Empty => "empty".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: u64 = 3600;

    #[test]
    fn units_and_their_sums() {
        let ok = |text: &str, expected: Duration| assert_eq!(parse(text), Ok(expected), "{text}");
        ok("500ms", Duration::from_millis(500));
        ok("30s", Duration::from_secs(30));
        ok("2m", Duration::from_secs(120));
        ok("8h", Duration::from_secs(8 * HOUR));
        ok("1d", Duration::from_secs(24 * HOUR));
        ok("1h30m", Duration::from_secs(5400));
        ok("1m30s", Duration::from_secs(90));
        ok("2m 30s", Duration::from_secs(150));
        ok("0.5s", Duration::from_millis(500));
        ok("1.5h", Duration::from_secs(5400));
        ok("250us", Duration::from_micros(250));
        ok("8 hours", Duration::from_secs(8 * HOUR));
        ok("  5s ", Duration::from_secs(5));
    }

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0.001"), Ok(Duration::from_millis(1)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn zero_is_a_duration_unless_the_flag_needs_positive() {
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_positive("1ms"), Ok(Duration::from_millis(1)));
        for zero in ["0", "0s", "0ms", "0h0m"] {
            let error = parse_positive(zero).unwrap_err().to_string();
            assert_eq!(error, format!("invalid duration {zero:?}: must be more than zero"));
        }
    }

    #[test]
    fn refusals_quote_the_text_and_state_the_grammar() {
        for bad in ["", "  ", "-1s", "-1", "+5s", "inf", "NaN", "1e3", "5x", "s", "m", "1.", ".5", "1..5", "5 s x"] {
            let error = parse(bad).expect_err(bad).to_string();
            assert!(error.ends_with(GRAMMAR), "{bad:?}: {error}");
        }
        assert_eq!(
            parse("30q").unwrap_err().to_string(),
            format!("invalid duration \"30q\": unknown unit \"q\"; {GRAMMAR}")
        );
        assert_eq!(parse("").unwrap_err().to_string(), format!("empty duration: {GRAMMAR}"));
        assert!(parse("-1s").unwrap_err().to_string().contains("expected a number at \"-1s\""));
        assert!(parse("99999999999999999999s").unwrap_err().to_string().contains("too large"));
    }

    proptest! {
        // Default config: PROPTEST_CASES sets the depth (`cargo xtask fuzz` runs these deep).
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_duration_flag_any_text(text in any::<String>()) {
            // Either a duration or an error that quotes the grammar; never a panic.
            if let Err(error) = parse(&text) {
                prop_assert!(error.to_string().contains(GRAMMAR) || error.to_string().contains("too large"), "{}", error);
            }
            let _ = parse_positive(&text);
        }

        #[test]
        fn fuzz_duration_flag_near_misses(text in "[0-9.a-zM µ+-]{0,16}") {
            let parsed = parse(&text);
            prop_assert_eq!(parse_positive(&text).is_ok(), parsed.as_ref().is_ok_and(|d| !d.is_zero()));
        }

        #[test]
        fn humantime_output_round_trips(secs in 0u64..10_000_000_000, nanos in 0u32..1_000_000_000) {
            let duration = Duration::new(secs, nanos);
            let text = humantime::format_duration(duration).to_string();
            prop_assert_eq!(parse(&text), Ok(duration), "{}", text);
        }

        #[test]
        fn bare_seconds_round_trip(secs in 0u64..1_000_000_000, millis in 0u32..1000) {
            prop_assert_eq!(parse(&secs.to_string()), Ok(Duration::from_secs(secs)));
            let text = format!("{secs}.{millis:03}");
            prop_assert_eq!(parse(&text), Ok(Duration::new(secs, millis * 1_000_000)), "{}", text);
        }
    }
}
