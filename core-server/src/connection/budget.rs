//! A shared allowance of bytes, taken before bytes are held and given back
//! when they are freed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A number of bytes that holders share; taking past the limit is refused.
#[derive(Debug)]
pub struct ByteBudget {
    used: AtomicUsize,
    limit: usize,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    /// Takes `n` bytes if they fit; false (and nothing taken) otherwise.
    pub fn try_take(&self, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = used.checked_add(n).filter(|next| *next <= self.limit) else {
                return false;
            };
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Gives back `n` bytes taken earlier.
    pub fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// The bytes one holder has taken from a budget; given back when dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<ByteBudget>,
    held: usize,
}

impl Charge {
    /// Holds nothing yet.
    pub fn new(budget: Arc<ByteBudget>) -> Self {
        Self { budget, held: 0 }
    }

    /// Holds exactly `n` bytes: takes more or gives back the difference.
    /// False, with the holding unchanged, if the budget cannot cover `n`.
    pub fn set(&mut self, n: usize) -> bool {
        if n > self.held {
            if !self.budget.try_take(n - self.held) {
                return false;
            }
        } else {
            self.budget.give(self.held - n);
        }
        self.held = n;
        true
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.give(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_what_does_not_fit_and_takes_back_what_is_dropped() {
        let budget = ByteBudget::new(100);
        let mut a = Charge::new(budget.clone());
        let mut b = Charge::new(budget.clone());
        assert!(a.set(60));
        assert!(!b.set(41), "60 + 41 is over 100");
        assert_eq!(b.held(), 0);
        assert!(b.set(40));
        assert!(a.set(10), "shrinking always works");
        assert_eq!(budget.used(), 50);
        drop(a);
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}
