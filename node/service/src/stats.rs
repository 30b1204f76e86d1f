//! Counters of the node's work, read by the binary's metrics and informant.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// What the node has done since it started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Blocks authored.
    pub blocks_authored: AtomicU64,
    /// Work packages accepted into the queue.
    pub packages_received: AtomicU64,
    /// Work packages refined into a work report.
    pub packages_refined: AtomicU64,
    /// Work reports guaranteed in an authored block.
    pub packages_guaranteed: AtomicU64,
    /// Work reports made available (assured) and so accumulated.
    pub packages_accumulated: AtomicU64,
    /// Gas used by refine (all items of all refined packages).
    pub refine_gas: AtomicU64,
    /// Work packages queued or refined but not yet accumulated.
    pub in_flight: AtomicU64,
    /// Para heads advanced by accumulation.
    pub heads_advanced: AtomicU64,
    /// Safrole tickets this node proved for the validators it holds.
    pub tickets_made: AtomicU64,
    /// Peers' Safrole tickets checked and pooled (CE 131/132).
    pub tickets_received: AtomicU64,
    /// Safrole tickets in the blocks this node authored (`E_T`).
    pub tickets_included: AtomicU64,
    /// Blocks this node authored sealed by a ticket (GP eq. 6.15).
    pub ticket_sealed: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Stats {
    /// Adds one rejection for `reason` (a short label: `malformed`,
    /// `limits`, `busy`, `unauthorized`, `refine`, `invalid_candidate`, `guarantee`, ...).
    pub fn reject(&self, reason: &'static str) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    /// Rejections by reason.
    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        self.rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub(counter: &AtomicU64, n: u64) {
        // Saturating: never below zero.
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(n))
        });
    }
}
