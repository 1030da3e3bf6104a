//! ZooKeeper's `maxClientCnxns`: at most so many connections from one client IP.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Counts live connections per client IP; 0 as the limit means unlimited.
#[derive(Debug)]
pub struct IpLimiter {
    limit: usize,
    live: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in the count of its IP; freed when dropped.
#[derive(Debug)]
pub struct IpSlot {
    limiter: Arc<IpLimiter>,
    ip: IpAddr,
}

impl IpLimiter {
    /// A limiter allowing `limit` connections per IP (0: no limit).
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            live: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a new connection from `ip`, or `None` if that IP is at its limit.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut live = self.live.lock();
        let count = live.entry(ip).or_insert(0);
        if self.limit != 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            limiter: self.clone(),
            ip,
        })
    }

    /// Live connections from `ip`.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.live.lock().get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut live = self.limiter.live.lock();
        if let Some(count) = live.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_at_its_limit_is_refused_until_one_of_its_connections_ends() {
        let limiter = IpLimiter::new(2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 1].into();
        let first = limiter.admit(a);
        let second = limiter.admit(a);
        assert!(first.is_some() && second.is_some());
        assert!(limiter.admit(a).is_none());
        assert!(limiter.admit(b).is_some(), "other IPs are not affected");
        drop(first);
        assert!(limiter.admit(a).is_some());
        assert_eq!(limiter.count(b), 0);
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = IpLimiter::new(0);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let slots: Vec<_> = (0..1000).filter_map(|_| limiter.admit(ip)).collect();
        assert_eq!(slots.len(), 1000);
    }
}
