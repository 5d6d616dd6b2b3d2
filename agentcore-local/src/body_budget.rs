//! The budget of request-body bytes the emulator buffers before it knows who sent them.
//!
//! A SigV4 signature covers the body, and most clients (botocore, the AWS CLI, the AWS SDKs for
//! every service but S3) do not sign an `x-amz-content-sha256` header: the signature can only be
//! checked once the whole body is in memory. Anyone who knows the access key id (it is not a
//! secret) could otherwise make the server buffer up to the route's body limit (100 MB for
//! InvokeAgentRuntime) per connection. [`BodyBudget`] bounds the bytes all such not-yet-verified
//! requests hold together (`--unverified-body-budget`, [`crate::DEFAULT_UNVERIFIED_BODY_BUDGET`]);
//! a request that cannot reserve its share at once (its `Content-Length`, or its bytes as they
//! stream) is refused with 503 instead of waiting. A request whose client signed the body's hash
//! is verified before its body is read and takes nothing from the budget.
//!
//! The budget is a `tokio::sync::Semaphore` counted in KiB, each request rounded up to a whole KiB.

use tokio::sync::Semaphore;

const KIB: u64 = 1024;

/// Bytes buffered by requests whose signature is not verified yet, shared by every connection.
#[derive(Debug)]
pub struct BodyBudget {
    kib: Semaphore,
}

/// KiB taken from a [`BodyBudget`], given back when dropped (once the signature is verified or
/// the request refused).
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a BodyBudget,
    kib: u32,
}

impl BodyBudget {
    /// A budget of `bytes` (rounded down to whole KiB, at most `u32::MAX` KiB).
    pub fn new(bytes: u64) -> Self {
        let kib = (bytes / KIB).min(u64::from(u32::MAX)).min(Semaphore::MAX_PERMITS as u64);
        Self { kib: Semaphore::new(kib as usize) }
    }

    /// An empty reservation, to grow with [`Reservation::try_grow_to`].
    pub fn reserve_nothing(&self) -> Reservation<'_> {
        Reservation { budget: self, kib: 0 }
    }

    /// Reserves `bytes` now, or `None` when that many are not free.
    pub fn try_reserve(&self, bytes: u64) -> Option<Reservation<'_>> {
        let mut reservation = self.reserve_nothing();
        reservation.try_grow_to(bytes).then_some(reservation)
    }

    /// Bytes free right now (whole KiB).
    pub fn available_bytes(&self) -> u64 {
        self.kib.available_permits() as u64 * KIB
    }
}

impl Reservation<'_> {
    /// Grows the reservation to cover `bytes` in all; `false` (and no change) when the budget
    /// does not have the difference free right now.
    pub fn try_grow_to(&mut self, bytes: u64) -> bool {
        let Ok(wanted) = u32::try_from(bytes.div_ceil(KIB)) else {
            return false;
        };
        if wanted <= self.kib {
            return true;
        }
        match self.budget.kib.try_acquire_many(wanted - self.kib) {
            Ok(permit) => {
                permit.forget();
                self.kib = wanted;
                true
            }
            Err(_) => false,
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.kib.add_permits(self.kib as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_given_back() {
        let budget = BodyBudget::new(10 * KIB);
        let first = budget.try_reserve(6 * KIB).expect("6 of 10 KiB");
        assert!(budget.try_reserve(5 * KIB).is_none(), "only 4 KiB are left");
        let second = budget.try_reserve(4 * KIB).expect("the last 4 KiB");
        assert_eq!(budget.available_bytes(), 0);
        drop(first);
        assert_eq!(budget.available_bytes(), 6 * KIB);
        drop(second);
        assert_eq!(budget.available_bytes(), 10 * KIB);
    }

    #[test]
    fn a_streaming_reservation_grows_by_whole_kib_until_the_budget_is_spent() {
        let budget = BodyBudget::new(4 * KIB);
        let mut streaming = budget.reserve_nothing();
        assert!(streaming.try_grow_to(1));
        assert_eq!(budget.available_bytes(), 3 * KIB, "one byte takes a whole KiB");
        assert!(streaming.try_grow_to(4 * KIB));
        assert!(!streaming.try_grow_to(4 * KIB + 1), "over the budget");
        assert_eq!(budget.available_bytes(), 0, "a failed growth keeps what it had");
        assert!(streaming.try_grow_to(2 * KIB), "shrinking is a no-op");
        drop(streaming);
        assert_eq!(budget.available_bytes(), 4 * KIB);
        assert!(budget.try_reserve(u64::MAX).is_none());
        assert!(budget.try_reserve(5 * KIB).is_none());
    }
}
