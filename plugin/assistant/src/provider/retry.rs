//! Pure building blocks of the retry policy (the router decides when to use them): reading a
//! server's `Retry-After`, and capped exponential backoff with jitter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First backoff step (attempt 0), before jitter.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest backoff step, before jitter: past this a musician would rather see the embedded
/// engine's answer than wait.
pub const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// How long to wait before retry number `attempt` (0 for the first retry): the step
/// `min(BACKOFF_CAP, BACKOFF_BASE · 2^attempt)`, half of it fixed and half of it random
/// ("equal jitter", AWS Architecture Blog, "Exponential Backoff And Jitter", 2015). The fixed
/// half keeps a retry from hitting a struggling server at once; the random half keeps several
/// plugin instances from retrying in step.
pub fn backoff(attempt: u32, rng: &mut Jitter) -> Duration {
    let step = BACKOFF_BASE.saturating_mul(1u32 << attempt.min(16)).min(BACKOFF_CAP);
    step / 2 + step.div_f64(2.0).mul_f64(rng.unit())
}

/// A small seedable random source for jitter (SplitMix64, Steele, Lea & Flood, "Fast
/// splittable pseudorandom number generators", OOPSLA 2014). Not for anything secret.
#[derive(Clone, Debug)]
pub struct Jitter(u64);

impl Jitter {
    /// A fixed sequence, for tests.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter(seed)
    }

    /// Seeded from the clock and the process id, so instances differ.
    pub fn from_clock() -> Jitter {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Jitter(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// The next number, uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Reads a `Retry-After` value (RFC 9110 §10.2.3): a number of seconds, or an HTTP date
/// (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`). A date in the past means now. `None` when
/// the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        // Not in the RFC, but some servers send fractions.
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Reads OpenAI's `retry-after-ms` (milliseconds, possibly fractional).
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let ms = value.trim().parse::<f64>().ok()?;
    Duration::try_from_secs_f64(ms / 1000.0).ok()
}

/// An IMF-fixdate (RFC 9110 §5.6.7) as a time: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(text: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (_weekday, rest) = text.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *s > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`,
/// "chrono-Compatible Low-Level Date Algorithms").
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0.5 ", now), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", UNIX_EPOCH), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Thu, 29 Feb 2024 12:00:00 GMT", UNIX_EPOCH),
            Some(Duration::from_secs(1_709_208_000))
        );
        for bad in ["", "soon", "-3", "1e400", "NaN", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 32 Nov 1994 08:49:37 GMT"]
        {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
        assert_eq!(parse_retry_after_ms("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after_ms("-1"), None);
    }

    #[test]
    fn backoff_doubles_to_a_cap_with_bounded_jitter() {
        let mut rng = Jitter::seeded(42);
        for attempt in 0..40 {
            let step = (BACKOFF_BASE.as_secs_f64() * 2f64.powi(attempt.min(16) as i32)).min(BACKOFF_CAP.as_secs_f64());
            for _ in 0..50 {
                let d = backoff(attempt, &mut rng).as_secs_f64();
                assert!(d >= step / 2.0 - 1e-9 && d < step + 1e-9, "attempt {attempt}: {d} s for a {step} s step");
            }
        }
        // The jitter is spread, not constant: 1000 draws of attempt 3 (4 s step) cover 2..4 s.
        let draws: Vec<f64> = (0..1000).map(|_| backoff(3, &mut rng).as_secs_f64()).collect();
        let (lo, hi) = draws.iter().fold((f64::MAX, f64::MIN), |(l, h), &d| (l.min(d), h.max(d)));
        assert!(lo < 2.05 && hi > 3.95, "{lo}..{hi}");
        let mean = draws.iter().sum::<f64>() / 1000.0;
        assert!((mean - 3.0).abs() < 0.1, "{mean}");
        // Seeded sequences repeat.
        assert_eq!(Jitter::seeded(7).unit(), Jitter::seeded(7).unit());
    }
}
