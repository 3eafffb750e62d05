//! UTC hours as epoch seconds, and their ISO-8601 form, without a date library.

use std::fmt;

/// The start of a UTC hour, in epoch seconds (always a multiple of 3600).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hour {value:?}: {problem}")]
pub struct HourError {
    pub value: String,
    pub problem: &'static str,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    days_from_civil(
        if month == 12 { year + 1 } else { year },
        if month == 12 { 1 } else { month + 1 },
        1,
    ) - days_from_civil(year, month, 1)
}

impl Hour {
    /// The hour that contains epoch second `secs`.
    pub fn containing(secs: i64) -> Self {
        Self(secs.div_euclid(3600) * 3600)
    }

    /// The last full hour before epoch second `secs`.
    pub fn last_full_before(secs: i64) -> Self {
        Self(Self::containing(secs).0 - 3600)
    }

    pub fn start(self) -> i64 {
        self.0
    }

    pub fn end(self) -> i64 {
        self.0 + 3600
    }

    /// The hour `n` hours later (earlier when negative).
    pub fn plus(self, n: i64) -> Self {
        Self(self.0 + n * 3600)
    }

    /// Hours since the epoch: which turn of an every-N-hours rhythm it is.
    pub fn index(self) -> i64 {
        self.0.div_euclid(3600)
    }

    /// The first hour of its month.
    pub fn month_start(self) -> Self {
        let (y, m, _) = civil_from_days(self.0.div_euclid(86_400));
        Self(days_from_civil(y, m, 1) * 86_400)
    }

    /// The month it falls in, as `YYYY-MM`.
    pub fn month(self) -> String {
        let (y, m, _) = civil_from_days(self.0.div_euclid(86_400));
        format!("{y:04}-{m:02}")
    }

    /// Parses `YYYY-MM-DDTHH:00:00Z` (minutes and seconds must be zero; `+00:00` is accepted for `Z`).
    pub fn parse(value: &str) -> Result<Self, HourError> {
        let secs = parse_utc(value)?;
        if secs % 3600 != 0 {
            return Err(HourError {
                value: value.to_owned(),
                problem: "an hour starts at minute 0 and second 0",
            });
        }
        Ok(Self(secs))
    }
}

/// How far back CloudWatch takes data points: two weeks.
pub const OLDEST_ACCEPTED_SECS: i64 = 14 * 86_400;

/// Whether `hour` can be priced at epoch second `now`: it has ended, and CloudWatch still takes
/// data points for it. Checked before anything is written.
pub fn check_priceable(hour: Hour, now: i64) -> Result<(), String> {
    if hour.end() > now {
        return Err(format!(
            "hour {hour} has not ended yet (now is {}): only a full hour can be priced",
            format_utc(now)
        ));
    }
    if hour.start() < now - OLDEST_ACCEPTED_SECS {
        return Err(format!(
            "hour {hour} is more than two weeks old: CloudWatch no longer accepts data points for it"
        ));
    }
    Ok(())
}

/// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Parses a UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` into epoch seconds
/// (a fraction is dropped).
pub fn parse_utc(value: &str) -> Result<i64, HourError> {
    let fail = |problem| HourError {
        value: value.to_owned(),
        problem,
    };
    let body = value
        .strip_suffix('Z')
        .or_else(|| value.strip_suffix("+00:00"))
        .ok_or(fail("expected a UTC time ending in `Z`"))?;
    let body = match body.split_once('.') {
        Some((whole, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|c| c.is_ascii_digit()) =>
        {
            whole
        }
        Some(_) => return Err(fail("expected digits after the decimal point")),
        None => body,
    };
    let b = body.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(fail("expected YYYY-MM-DDTHH:MM:SSZ"));
    }
    let num = |range: std::ops::Range<usize>| {
        body.get(range)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or(fail("expected digits in YYYY-MM-DDTHH:MM:SSZ"))
    };
    let (year, month, day, hour, minute, second) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(fail("no such date or time"));
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400));
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:00:00Z",
            self.0.rem_euclid(86_400) / 3600
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_hours() {
        let h = Hour::parse("2026-11-27T08:00:00Z").unwrap();
        assert_eq!(h.start(), 1_795_766_400); // date -u -d @1795766400
        assert_eq!(h.to_string(), "2026-11-27T08:00:00Z");
        assert_eq!(h.month(), "2026-11");
        assert_eq!(
            Hour::parse("2024-02-29T23:00:00+00:00")
                .unwrap()
                .to_string(),
            "2024-02-29T23:00:00Z"
        );
        assert_eq!(Hour::parse("1970-01-01T00:00:00Z").unwrap().start(), 0);
    }

    #[test]
    fn refuses_what_is_not_an_hour() {
        for bad in [
            "",
            "2026-11-27T08:30:00Z",
            "2026-11-27T08:00:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-27 08:00:00Z",
            "2026-11-27T24:00:00Z",
            "yesterday",
        ] {
            let err = Hour::parse(bad).unwrap_err();
            assert_eq!(err.value, bad);
        }
    }

    #[test]
    fn parses_event_times() {
        assert_eq!(parse_utc("2026-11-27T08:00:12Z").unwrap(), 1_795_766_412);
        assert_eq!(
            parse_utc("2026-11-27T08:00:12.345Z").unwrap(),
            1_795_766_412
        );
        assert!(parse_utc("2026-11-27T08:00:12.Z").is_err());
        assert!(parse_utc("2026-11-27T08:60:00Z").is_err());
        assert_eq!(format_utc(1_795_766_412), "2026-11-27T08:00:12Z");
    }

    #[test]
    fn hour_arithmetic() {
        let h = Hour::parse("2026-12-01T02:00:00Z").unwrap();
        assert_eq!(h.plus(-3).to_string(), "2026-11-30T23:00:00Z");
        assert_eq!(h.month_start().to_string(), "2026-12-01T00:00:00Z");
        assert_eq!(h.plus(-3).month_start().to_string(), "2026-11-01T00:00:00Z");
        assert_eq!(h.index() % 24, 2);
    }

    #[test]
    fn only_ended_hours_within_two_weeks_are_priceable() {
        let h = Hour::parse("2026-11-27T08:00:00Z").unwrap();
        assert!(check_priceable(h, h.end()).is_ok());
        assert!(check_priceable(h, h.start() + OLDEST_ACCEPTED_SECS).is_ok());
        let future = check_priceable(h, h.end() - 1).unwrap_err();
        assert!(future.contains("has not ended"), "{future}");
        let old = check_priceable(h, h.start() + OLDEST_ACCEPTED_SECS + 1).unwrap_err();
        assert!(old.contains("more than two weeks old"), "{old}");
    }

    #[test]
    fn last_full_hour() {
        let now = Hour::parse("2026-11-27T08:00:00Z").unwrap().start() + 1799;
        assert_eq!(
            Hour::last_full_before(now).to_string(),
            "2026-11-27T07:00:00Z"
        );
        assert_eq!(
            Hour::last_full_before(Hour::parse("2026-12-01T00:00:00Z").unwrap().start()).month(),
            "2026-11"
        );
    }

    #[test]
    fn round_trips_every_hour_of_a_leap_year() {
        let start = Hour::parse("2028-01-01T00:00:00Z").unwrap().start();
        for i in 0..(366 * 24) {
            let h = Hour(start + i * 3600);
            assert_eq!(Hour::parse(&h.to_string()).unwrap(), h);
        }
    }
}
