//! What makes the sandbox an unreliable, rate-limited service on purpose: the fault injector
//! (`--fail-rate`, reproducible with `--fault-seed`) and the GCRA request limiter (`--max-rps`).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// An injected failure, each equally likely once a request is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 503 with a plain body before anything is looked at: nothing written.
    Refuse,
    /// The request is fully processed and committed, then the connection is dropped without a
    /// response: the client cannot know whether its write happened.
    LoseResponse,
    /// HTTP 500 with a body, nothing written.
    ServerError,
}

/// Picks the requests that fail.
pub struct FaultInjector {
    rate: f64,
    rng: Mutex<StdRng>,
}

impl FaultInjector {
    /// `rate`: probability in [0, 1] that a request gets a fault; `seed` makes the sequence
    /// reproducible (for a given order of requests).
    pub fn new(rate: f64, seed: Option<u64>) -> FaultInjector {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        // NaN survives `clamp` and would make `random_bool` panic on every request: no faults.
        let rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        FaultInjector { rate, rng: Mutex::new(rng) }
    }

    /// The fault for this request, if any.
    pub fn roll(&self) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        if !rng.random_bool(self.rate) {
            return None;
        }
        Some(match rng.random_range(0..3) {
            0 => Fault::Refuse,
            1 => Fault::LoseResponse,
            _ => Fault::ServerError,
        })
    }
}

/// `--max-rps R`: a GCRA allowance of R requests per second with a burst of R, the same semantics
/// as `governor::Quota::per_second(R)` on the client side.
pub struct RateGate {
    limiter: Option<DefaultDirectRateLimiter>,
}

impl RateGate {
    pub fn new(max_rps: Option<u32>) -> RateGate {
        RateGate {
            limiter: max_rps.and_then(NonZeroU32::new).map(|r| RateLimiter::direct(Quota::per_second(r))),
        }
    }

    /// `Err(wait)`: over the limit; retry after `wait`.
    pub fn check(&self) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(l) => l.check().map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
        }
    }
}

/// The `Retry-After` value for a wait: whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_faults_are_reproducible_and_cover_every_kind() {
        let a = FaultInjector::new(1.0, Some(7));
        let b = FaultInjector::new(1.0, Some(7));
        let seq_a: Vec<_> = (0..60).map(|_| a.roll()).collect();
        let seq_b: Vec<_> = (0..60).map(|_| b.roll()).collect();
        assert_eq!(seq_a, seq_b);
        for kind in [Fault::Refuse, Fault::LoseResponse, Fault::ServerError] {
            assert!(seq_a.contains(&Some(kind)), "{kind:?} never drawn");
        }
        let none = FaultInjector::new(0.0, Some(7));
        assert!((0..100).all(|_| none.roll().is_none()));
        let nan = FaultInjector::new(f64::NAN, Some(7));
        assert!((0..100).all(|_| nan.roll().is_none()));
    }

    #[test]
    fn gate_allows_a_burst_then_refuses_with_a_wait() {
        let gate = RateGate::new(Some(5));
        for _ in 0..5 {
            assert!(gate.check().is_ok());
        }
        let wait = gate.check().unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(250), "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert!(RateGate::new(None).check().is_ok());
    }
}
