//! Pacing of API calls, shared by every clone of a client: one GCRA rate limiter (governor), one
//! concurrency cap (semaphore), a shared pause after the server says "slow down" (429 with
//! `Retry-After`), and the retry back-off (exponential, full jitter).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// First back-off step.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Largest back-off step.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// Longest `Retry-After` honoured (a server asking for an hour is not waited for blindly).
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// The time between two calls at `rate` calls per second: a positive, finite rate from one call a
/// day to one call a nanosecond. `from_secs_f64` would panic on a period too long for a Duration
/// (`1e-300`); anything slower than a call a day is surely a typo.
pub fn rate_period(rate: f64) -> Result<Duration, String> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(format!("the rate must be a positive number of calls per second, not {rate}"));
    }
    Duration::try_from_secs_f64(1.0 / rate)
        .ok()
        .filter(|p| *p <= Duration::from_secs(86_400))
        .ok_or_else(|| format!("the rate {rate} is too low (at least one call a day)"))
        .and_then(|p| match p.is_zero() {
            true => Err(format!("the rate {rate} is too high (at most one call a nanosecond)")),
            false => Ok(p),
        })
}

pub(crate) struct Pacer {
    limiter: Option<DefaultDirectRateLimiter>,
    slots: Semaphore,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `rate`: calls per second, all calls together (`None` = unlimited). Calls are spaced evenly
    /// (burst of 1), so a client at the server's own limit never trips it.
    pub(crate) fn new(rate: Option<f64>, concurrency: usize) -> Result<Pacer, String> {
        let limiter = match rate {
            None => None,
            Some(r) => {
                let quota = Quota::with_period(rate_period(r)?)
                    .expect("rate_period is never zero")
                    .allow_burst(NonZeroU32::MIN);
                Some(RateLimiter::direct(quota))
            }
        };
        Ok(Pacer { limiter, slots: Semaphore::new(concurrency.max(1)), paused_until: Mutex::new(None) })
    }

    /// Waits for a free slot, the end of any shared pause, and the rate limiter, in that order. The
    /// slot is held until the permit is dropped (after the answer has been read).
    pub(crate) async fn acquire(&self) -> SemaphorePermit<'_> {
        let permit = self.slots.acquire().await.expect("the pacer's semaphore is never closed");
        loop {
            let until = *self.paused_until.lock().expect("pause lock");
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        permit
    }

    /// Holds every call of every clone back for `d` (extends, never shortens, a pause in force).
    pub(crate) fn pause_for(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut paused = self.paused_until.lock().expect("pause lock");
        if paused.is_none_or(|t| t < until) {
            *paused = Some(until);
        }
    }
}

/// The wait before retry number `retry` (0-based): uniform in `[0, min(cap, base·2^retry)]`
/// ("full jitter"), and never shorter than the server's `Retry-After` (capped).
pub(crate) fn backoff(retry: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1u32 << retry.min(16)).min(BACKOFF_CAP);
    let jittered = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
    match retry_after {
        Some(ra) => jittered.max(ra.min(RETRY_AFTER_CAP)),
        None => jittered,
    }
}

/// `Retry-After` as delta-seconds (integer or decimal). The HTTP-date form is not used by the
/// sandbox and is ignored (the back-off applies).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs = value.trim().parse::<f64>().ok()?;
    // Beyond what a Duration holds (`1e20`) is "very long", not a panic; callers cap it anyway.
    (secs.is_finite() && secs >= 0.0).then(|| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        for retry in 0..40 {
            let ceiling = BACKOFF_BASE.saturating_mul(1 << retry.min(16)).min(BACKOFF_CAP);
            for _ in 0..50 {
                assert!(backoff(retry, None) <= ceiling);
            }
        }
        // Full jitter: the mean of a late step is far above the first step's ceiling.
        let mean: u128 = (0..200).map(|_| backoff(8, None).as_millis()).sum::<u128>() / 200;
        assert!(mean > 1000, "mean {mean} ms");
    }

    #[test]
    fn backoff_honours_retry_after_up_to_a_cap() {
        assert!(backoff(0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        assert_eq!(backoff(0, Some(Duration::from_secs(3600))), RETRY_AFTER_CAP);
        assert_eq!(parse_retry_after(" 1 "), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1e20"), Some(Duration::MAX));
        assert_eq!(backoff(0, parse_retry_after("1e300")), RETRY_AFTER_CAP);
    }

    #[test]
    fn bad_rates_are_refused() {
        assert!(Pacer::new(Some(0.0), 1).is_err());
        assert!(Pacer::new(Some(f64::NAN), 1).is_err());
        assert!(Pacer::new(Some(-2.0), 1).is_err());
        assert!(Pacer::new(Some(1e-300), 1).is_err(), "a period no Duration holds");
        assert!(Pacer::new(Some(1e-6), 1).is_err());
        assert!(Pacer::new(Some(1e12), 1).is_err(), "a period shorter than a nanosecond");
        assert!(Pacer::new(Some(0.5), 1).is_ok());
        assert!(Pacer::new(None, 0).is_ok());
    }

    #[tokio::test]
    async fn limiter_spaces_calls_evenly() {
        let pacer = Pacer::new(Some(20.0), 8).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..6 {
            drop(pacer.acquire().await);
        }
        // Burst 1: six calls at 20/s take at least five periods of 50 ms.
        assert!(start.elapsed() >= Duration::from_millis(240), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn pause_holds_back_later_calls() {
        let pacer = Pacer::new(None, 2).unwrap();
        pacer.pause_for(Duration::from_millis(150));
        pacer.pause_for(Duration::from_millis(10)); // does not shorten the pause
        let start = std::time::Instant::now();
        drop(pacer.acquire().await);
        assert!(start.elapsed() >= Duration::from_millis(140));
    }
}
