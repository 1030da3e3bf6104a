//! The mesh of proxies between the servers of a test cluster: one per
//! direction per pair, so any link can be cut or held on its own.

use crate::proxy::{Fault, Proxy};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A proxy for every ordered pair of servers; `(from, to)` carries the
/// traffic `from` starts towards `to`.
#[derive(Debug)]
pub struct Links {
    proxies: BTreeMap<(u64, u64), Proxy>,
}

impl Links {
    /// Starts a proxy for every ordered pair of `ids`. They refuse
    /// connections until [`Links::target`] says where each server listens.
    pub async fn start(ids: &[u64]) -> std::io::Result<Links> {
        let mut proxies = BTreeMap::new();
        for from in ids {
            for to in ids {
                if from != to {
                    proxies.insert((*from, *to), Proxy::start_untargeted().await?);
                }
            }
        }
        Ok(Links { proxies })
    }

    /// Where server `from` dials each other server: `(to, proxy address)`.
    pub fn routes_from(&self, from: u64) -> Vec<(u64, SocketAddr)> {
        self.proxies
            .iter()
            .filter(|((f, _), _)| *f == from)
            .map(|((_, to), proxy)| (*to, proxy.addr()))
            .collect()
    }

    /// Server `to` listens at `addr`: every link towards it forwards there.
    pub fn target(&self, to: u64, addr: SocketAddr) {
        for ((_, t), proxy) in &self.proxies {
            if *t == to {
                proxy.retarget(addr);
            }
        }
    }

    /// Sets the fault on the link `from → to`.
    pub fn set(&self, from: u64, to: u64, fault: Fault) {
        if let Some(proxy) = self.proxies.get(&(from, to)) {
            proxy.set(fault);
        }
    }

    /// Cuts server `id` off from every other server, both ways.
    pub fn isolate(&self, id: u64) {
        self.touching(id).for_each(|p| p.set(Fault::Drop));
    }

    /// Holds the links to and from `id` that pass traffic (cut ones stay cut).
    pub fn hold(&self, id: u64) {
        self.touching(id)
            .filter(|p| p.fault() == Fault::Pass)
            .for_each(|p| p.set(Fault::Hold));
    }

    /// Releases the held links to and from `id`.
    pub fn release(&self, id: u64) {
        self.touching(id)
            .filter(|p| p.fault() == Fault::Hold)
            .for_each(|p| p.set(Fault::Pass));
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.proxies.values().for_each(|p| p.set(Fault::Pass));
    }

    fn touching(&self, id: u64) -> impl Iterator<Item = &Proxy> {
        self.proxies
            .iter()
            .filter(move |((from, to), _)| *from == id || *to == id)
            .map(|(_, proxy)| proxy)
    }
}
