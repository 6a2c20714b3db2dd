//! Time for the router: a monotonic clock (deadlines, token buckets), the wall clock in the
//! musician's time zone (budget days and months, audit times), async sleeps, and cancellation
//! (the providers' [`CancelToken`]).
//!
//! [`Clock`] is a trait so the retry and fallback policy runs in tests on a [`ManualClock`],
//! where sleeping only moves the hands: a 10 s Retry-After costs no real time.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Time as the router sees it.
pub trait Clock: Send + Sync {
    /// Monotonic time since an arbitrary origin; never goes back.
    fn elapsed(&self) -> Duration;
    /// Now, in the musician's time zone.
    fn now(&self) -> ZonedDateTime;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock. Its sleeps are tokio timers: the runtime that polls the router must have
/// its time driver enabled (`enable_time()` or `enable_all()`).
#[derive(Clone, Debug)]
pub struct SystemClock {
    origin: Instant,
    zone: TimeZone,
}

impl SystemClock {
    /// The system clock in the system's time zone (`TZ`, else `/etc/localtime` on Unix; UTC
    /// when neither says).
    pub fn new() -> Self {
        Self { origin: Instant::now(), zone: TimeZone::system() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    fn now(&self) -> ZonedDateTime {
        Timestamp::now().to_zoned_datetime(self.zone.clone())
    }

    // An `async fn`: the timer is made when first polled, inside the runtime, not when called.
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await
    }
}

/// A clock that moves only when told, or when something sleeps on it: a sleep, when first
/// polled, moves the clock by its duration and returns at once. So in a race between a call
/// and a timer, a call that is ready when polled wins, and a call that is still pending loses
/// to the timer. Clones share the same hands. For tests and simulations; records every sleep
/// that was polled, so a test can check what was waited.
#[derive(Clone, Debug)]
pub struct ManualClock {
    inner: Arc<Mutex<Manual>>,
}

#[derive(Debug)]
struct Manual {
    start: Timestamp,
    zone: TimeZone,
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock showing `start` in `zone`.
    pub fn new(start: Timestamp, zone: TimeZone) -> Self {
        Self { inner: Arc::new(Mutex::new(Manual { start, zone, elapsed: Duration::ZERO, sleeps: Vec::new() })) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Manual> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.lock().elapsed += by;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    fn now(&self) -> ZonedDateTime {
        let m = self.lock();
        // A manual clock runs for a test's length, far from Timestamp's ±9999-year range.
        let now = m.start.checked_add(m.elapsed).unwrap_or(m.start);
        now.to_zoned_datetime(m.zone.clone())
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        // Lazy, like a real timer: a sleep that is created but never polled (the losing branch
        // of a race) does not move the clock.
        let clock = self.clone();
        async move {
            let mut m = clock.lock();
            m.elapsed += duration;
            m.sleeps.push(duration);
        }
    }
}

/// Cancellation is the providers' token: one type from the musician's Stop to the socket.
pub use crate::provider::CancelToken;

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime").block_on(f)
    }

    #[test]
    fn a_manual_clock_moves_only_when_told_or_slept_on() {
        let start: Timestamp = "2026-03-29T00:30:00Z".parse().unwrap();
        let clock = ManualClock::new(start, TimeZone::fixed(jiff::tz::offset(1)));
        assert_eq!(clock.now().to_string(), "2026-03-29T01:30:00+01:00[+01:00]");
        block_on(clock.sleep(Duration::from_secs(90)));
        clock.advance(Duration::from_millis(500));
        assert_eq!(clock.elapsed(), Duration::from_millis(90_500));
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(90)]);
        assert_eq!(clock.now().timestamp().as_millisecond() - start.as_millisecond(), 90_500);
    }

    #[test]
    fn cancellation_wakes_a_waiting_task_and_is_sticky() {
        let token = CancelToken::new();
        assert!(!token.is_cancelled());
        let waiter = token.clone();
        block_on(async move {
            let wait = tokio::spawn(async move { waiter.cancelled().await });
            tokio::task::yield_now().await;
            token.cancel();
            wait.await.expect("join");
            assert!(token.is_cancelled());
            // Already cancelled: completes at once.
            token.cancelled().await;
        });
    }

    #[test]
    fn the_system_clock_sleeps_on_tokio_time() {
        let clock = SystemClock::new();
        let before = clock.elapsed();
        block_on(clock.sleep(Duration::from_millis(20)));
        assert!(clock.elapsed() - before >= Duration::from_millis(20));
    }
}
