//! Ctrl-C (SIGINT) as a request to stop cleanly: the run stops starting work, finishes what is in
//! flight, reports what it did and what it did not, and the command exits 130 (as a shell does
//! for a process a signal ended). The command listens for the signal (`commands::on_ctrl_c`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Whether the user asked the run to stop. Clones share the request.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    requested: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// Asks the run to stop.
    pub fn request(&self) {
        self.0.requested.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::SeqCst)
    }

    /// Resolves once the stop is requested.
    pub async fn requested(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a request between the two is not missed.
            notified.as_mut().enable();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_wakes_every_waiter() {
        let interrupt = Interrupt::default();
        let waiter = tokio::spawn({
            let i = interrupt.clone();
            async move { i.requested().await }
        });
        assert!(!interrupt.is_requested());
        interrupt.request();
        waiter.await.unwrap();
        interrupt.requested().await;
        assert!(interrupt.is_requested());
    }
}
