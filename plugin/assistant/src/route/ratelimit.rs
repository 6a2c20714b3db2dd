//! A token bucket per provider (and per server, for OpenAI-compatible ones): at most
//! `requests_per_minute` on average, `burst` at once. It keeps the assistant below the
//! providers' own limits (a 429 costs a round trip and sometimes a penalty) and stops a runaway
//! loop.
//!
//! [`TokenBucket::reserve`] either takes a token now, or books the next one and says how long to
//! wait for it (when that is short enough), or refuses and says when to come back. Time is the
//! caller's monotonic clock, so the bucket is pure and tested without sleeping.

use super::super::llm::{ModelRef, ProviderKind};
use std::collections::HashMap;
use std::time::Duration;

/// One provider's limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketConfig {
    /// Average requests per minute (> 0).
    pub requests_per_minute: f64,
    /// Requests that may go at once after a quiet spell (≥ 1).
    pub burst: u32,
}

/// The limits of every provider, and how long a request may wait for its turn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// OpenAI.
    pub openai: BucketConfig,
    /// Anthropic.
    pub anthropic: BucketConfig,
    /// Each OpenAI-compatible server (one bucket per base URL).
    pub openai_compatible: BucketConfig,
    /// Longest wait for a token; a longer one is refused (the router then tries a cheaper tier
    /// or the embedded engine).
    pub max_wait: Duration,
}

impl Default for RateLimits {
    /// Below the providers' lowest paid tiers (Anthropic's first tier allows 50 requests per
    /// minute; OpenAI's first tier more): one musician never needs more than a request a
    /// second. A local server gets more room.
    fn default() -> Self {
        Self {
            openai: BucketConfig { requests_per_minute: 60.0, burst: 5 },
            anthropic: BucketConfig { requests_per_minute: 50.0, burst: 5 },
            openai_compatible: BucketConfig { requests_per_minute: 120.0, burst: 10 },
            max_wait: Duration::from_secs(5),
        }
    }
}

impl RateLimits {
    /// The bucket settings for a provider; `None` for the embedded engine (no limit).
    pub fn for_provider(&self, provider: ProviderKind) -> Option<BucketConfig> {
        match provider {
            ProviderKind::Openai => Some(self.openai),
            ProviderKind::Anthropic => Some(self.anthropic),
            ProviderKind::OpenaiCompatible => Some(self.openai_compatible),
            ProviderKind::Embedded => None,
        }
    }
}

/// A token bucket. Tokens refill continuously at `requests_per_minute / 60` per second up to
/// `burst`; a request takes one.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Tokens per second.
    rate: f64,
    capacity: f64,
    /// May go below zero: a reservation books a token that has not refilled yet.
    tokens: f64,
    /// When `tokens` was last brought up to date (the caller's monotonic time).
    updated: Duration,
}

impl TokenBucket {
    /// A full bucket at time `now`. Non-finite or non-positive settings are raised to the
    /// smallest sensible ones (one request a minute, a burst of one): a limit, never a panic.
    pub fn new(config: BucketConfig, now: Duration) -> Self {
        let per_minute = if config.requests_per_minute.is_finite() && config.requests_per_minute > 0.0 {
            config.requests_per_minute
        } else {
            1.0
        };
        let capacity = f64::from(config.burst.max(1));
        Self { rate: per_minute / 60.0, capacity, tokens: capacity, updated: now }
    }

    fn refill(&mut self, now: Duration) {
        let dt = now.saturating_sub(self.updated).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.capacity);
        self.updated = self.updated.max(now);
    }

    /// Takes a token at `now`. `Ok(wait)`: the request may go after `wait` (zero when a token
    /// was there; the token is booked either way). `Err(retry_in)`: the wait would exceed
    /// `max_wait`; nothing was taken, and a token will be free in `retry_in`.
    pub fn reserve(&mut self, now: Duration, max_wait: Duration) -> Result<Duration, Duration> {
        self.refill(now);
        let wait = if self.tokens >= 1.0 { Duration::ZERO } else { secs((1.0 - self.tokens) / self.rate) };
        if wait > max_wait {
            return Err(wait);
        }
        self.tokens -= 1.0;
        Ok(wait)
    }
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
}

/// One bucket per provider and server.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: HashMap<(ProviderKind, Option<String>), TokenBucket>,
}

impl RateLimiter {
    /// Buckets for these limits, created full on first use.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, buckets: HashMap::new() }
    }

    /// [`TokenBucket::reserve`] on `model`'s bucket, waiting at most `max_wait` (the caller
    /// passes the smaller of the configured wait and the time left before its deadline). The
    /// embedded engine is never limited.
    pub fn reserve(&mut self, model: &ModelRef, now: Duration, max_wait: Duration) -> Result<Duration, Duration> {
        let Some(config) = self.limits.for_provider(model.provider) else { return Ok(Duration::ZERO) };
        let server = (model.provider == ProviderKind::OpenaiCompatible).then(|| model.base_url.clone()).flatten();
        self.buckets
            .entry((model.provider, server))
            .or_insert_with(|| TokenBucket::new(config, now))
            .reserve(now, max_wait)
    }

    /// The configured longest wait.
    pub fn max_wait(&self) -> Duration {
        self.limits.max_wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_burst_goes_at_once_then_requests_wait_for_the_refill() {
        // 30 a minute = one every 2 s, burst 3.
        let mut b = TokenBucket::new(BucketConfig { requests_per_minute: 30.0, burst: 3 }, S(100));
        for _ in 0..3 {
            assert_eq!(b.reserve(S(100), S(5)), Ok(Duration::ZERO));
        }
        // Empty: the 4th is booked for 2 s later, the 5th for 4 s, the 6th would wait 6 s > 5 s.
        assert_eq!(b.reserve(S(100), S(5)), Ok(S(2)));
        assert_eq!(b.reserve(S(100), S(5)), Ok(S(4)));
        assert_eq!(b.reserve(S(100), S(5)), Err(S(6)));
        // A refusal took nothing: 1 s later the wait is 5 s, which fits.
        assert_eq!(b.reserve(S(101), S(5)), Ok(S(5)));
        // After a long quiet spell the bucket is full again, never fuller than the burst.
        let mut taken = 0;
        while b.reserve(S(1000), Duration::ZERO).is_ok() {
            taken += 1;
        }
        assert_eq!(taken, 3);
    }

    #[test]
    fn the_average_rate_is_the_configured_one() {
        // 120 a minute with burst 1, requests as fast as allowed for 60 s: 120 + the first.
        let mut b = TokenBucket::new(BucketConfig { requests_per_minute: 120.0, burst: 1 }, Duration::ZERO);
        let (mut now, mut sent) = (Duration::ZERO, 0);
        while now <= S(60) {
            match b.reserve(now, Duration::from_secs(10)) {
                Ok(wait) => {
                    now += wait;
                    if now <= S(60) {
                        sent += 1;
                    }
                }
                Err(_) => unreachable!("a 0.5 s wait fits in 10 s"),
            }
        }
        assert_eq!(sent, 121);
    }

    #[test]
    fn nonsense_settings_still_limit() {
        let mut b = TokenBucket::new(BucketConfig { requests_per_minute: f64::NAN, burst: 0 }, Duration::ZERO);
        assert_eq!(b.reserve(Duration::ZERO, Duration::ZERO), Ok(Duration::ZERO));
        assert_eq!(b.reserve(Duration::ZERO, Duration::ZERO), Err(S(60)));
    }

    #[test]
    fn each_provider_and_each_local_server_has_its_own_bucket() {
        let one = BucketConfig { requests_per_minute: 1.0, burst: 1 };
        let mut limiter = RateLimiter::new(RateLimits {
            openai: one,
            anthropic: one,
            openai_compatible: one,
            max_wait: Duration::ZERO,
        });
        let m = |provider, url: Option<&str>| ModelRef { provider, model: "m".into(), base_url: url.map(String::from) };
        let now = Duration::ZERO;
        let zero = Duration::ZERO;
        assert!(limiter.reserve(&m(ProviderKind::Openai, None), now, zero).is_ok());
        assert!(limiter.reserve(&m(ProviderKind::Openai, None), now, zero).is_err());
        assert!(limiter.reserve(&m(ProviderKind::Anthropic, None), now, zero).is_ok());
        assert!(limiter
            .reserve(&m(ProviderKind::OpenaiCompatible, Some("http://127.0.0.1:8080/v1")), now, zero)
            .is_ok());
        assert!(limiter
            .reserve(&m(ProviderKind::OpenaiCompatible, Some("http://127.0.0.1:8081/v1")), now, zero)
            .is_ok());
        assert!(limiter
            .reserve(&m(ProviderKind::OpenaiCompatible, Some("http://127.0.0.1:8080/v1")), now, zero)
            .is_err());
        for _ in 0..100 {
            assert!(limiter.reserve(&m(ProviderKind::Embedded, None), now, zero).is_ok());
        }
    }
}
