//! `--expires` and `--since`: a duration from now (90m, 12h, 30d, 2w) or a UTC date or time.

use plgov_shared::domain::hour::parse_utc;

/// Epoch seconds `value` stands for, counting durations from `now` forwards (`sign` 1) or
/// backwards (`sign` -1).
pub fn parse_instant(value: &str, now: i64, sign: i64) -> Result<i64, String> {
    let value = value.trim();
    let fail = || {
        format!(
            "{value:?} is neither a duration (90m, 12h, 30d, 2w) nor a UTC date (2026-12-31) or time (2026-12-31T18:00:00Z)"
        )
    };
    if let Some(unit) = value.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let number = &value[..value.len() - 1];
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = number.parse().map_err(|_| fail())?;
            let seconds = match unit {
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(fail()),
            };
            if n == 0 {
                return Err(format!("{value:?}: a duration must be more than zero"));
            }
            return n
                .checked_mul(seconds)
                .and_then(|d| now.checked_add(sign * d))
                .ok_or_else(fail);
        }
    }
    if value.len() == 10 {
        return parse_utc(&format!("{value}T00:00:00Z")).map_err(|_| fail());
    }
    parse_utc(value).map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dates() {
        assert_eq!(parse_instant("90m", 1000, 1), Ok(1000 + 5400));
        assert_eq!(parse_instant("30d", 0, 1), Ok(30 * 86_400));
        assert_eq!(parse_instant("7d", 700_000, -1), Ok(700_000 - 7 * 86_400));
        assert_eq!(parse_instant("2026-11-27", 0, 1), Ok(1_795_737_600));
        assert_eq!(
            parse_instant("2026-11-27T08:00:00Z", 0, 1),
            Ok(1_795_766_400)
        );
    }

    #[test]
    fn nonsense_is_named() {
        for bad in ["", "soon", "10y", "0d", "-5d", "2026-13-01", "d"] {
            let err = parse_instant(bad, 0, 1).unwrap_err();
            assert!(err.contains(&format!("{:?}", bad.trim())), "{err}");
        }
    }
}
