//! A timer queue keyed by SA: one deadline per key, a binary heap with lazy invalidation.
//!
//! The engine re-arms only the SA an input touched, so finding the next deadline
//! ([`TimerQueue::next`]) and collecting the due keys ([`TimerQueue::pop_due`]) cost O(log n)
//! per key whatever the number of SAs. A re-arm pushes a new heap entry and leaves the old one in
//! place; an entry is live only while it equals the key's current deadline, and stale entries
//! are dropped when they reach the top (or all at once when they outnumber the live ones).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// Deadlines by key.
#[derive(Debug)]
pub(crate) struct TimerQueue<K> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
    armed: HashMap<K, Instant>,
}

impl<K> Default for TimerQueue<K> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            armed: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> TimerQueue<K> {
    /// Sets (`Some`) or clears (`None`) the deadline of `key`.
    pub(crate) fn arm(&mut self, key: K, at: Option<Instant>) {
        match at {
            Some(t) => {
                if self.armed.insert(key, t) != Some(t) {
                    self.heap.push(Reverse((t, key)));
                }
            }
            None => {
                self.armed.remove(&key);
            }
        }
        self.prune();
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        // `prune` keeps a live entry on top after every change.
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Removes and returns the keys whose deadline is at or before `now`, earliest first.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Vec<K> {
        let mut due = Vec::new();
        while let Some(Reverse((t, k))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.armed.get(&k) == Some(&t) {
                self.armed.remove(&k);
                due.push(k);
            }
        }
        self.prune();
        due
    }

    /// The deadline of `key`.
    #[cfg(any(test, feature = "test-hooks"))]
    pub(crate) fn deadline(&self, key: &K) -> Option<Instant> {
        self.armed.get(key).copied()
    }

    /// Number of armed keys.
    #[cfg(any(test, feature = "test-hooks"))]
    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }

    fn prune(&mut self) {
        // Rebuild when stale entries dominate, so that re-arming one key over and over (a
        // liveness deadline moved by every message) keeps the heap within twice the live keys.
        if self.heap.len() > 64 && self.heap.len() > 2 * self.armed.len() {
            self.heap = self.armed.iter().map(|(k, t)| Reverse((*t, *k))).collect();
        }
        while let Some(Reverse((t, k))) = self.heap.peek() {
            if self.armed.get(k) == Some(t) {
                break;
            }
            self.heap.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[derive(Clone, Debug)]
    enum Op {
        Arm(u16, Option<u32>),
        Advance(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..2000, proptest::option::weighted(0.9, 0u32..100_000))
                .prop_map(|(k, t)| Op::Arm(k, t)),
            1 => (0u32..20_000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Against a naive model (a map of deadlines scanned in full): after any sequence of
        /// arms, clears and advances of the clock, the next deadline and the keys that fire
        /// agree, and every key fires at its last deadline, exactly once.
        #[test]
        fn matches_a_naive_model(ops in proptest::collection::vec(op(), 1..3000)) {
            let base = Instant::now();
            let mut q = TimerQueue::default();
            let mut model: BTreeMap<u16, Instant> = BTreeMap::new();
            let mut now = base;
            for op in ops {
                match op {
                    Op::Arm(k, t) => {
                        // Deadlines in the past are allowed: they fire at the next advance.
                        let at = t.map(|ms| base + Duration::from_millis(u64::from(ms)));
                        q.arm(k, at);
                        match at {
                            Some(at) => { model.insert(k, at); }
                            None => { model.remove(&k); }
                        }
                    }
                    Op::Advance(ms) => {
                        now += Duration::from_millis(u64::from(ms));
                        let mut fired = q.pop_due(now);
                        let mut expected: Vec<u16> =
                            model.iter().filter(|(_, t)| **t <= now).map(|(k, _)| *k).collect();
                        model.retain(|_, t| *t > now);
                        fired.sort_unstable();
                        expected.sort_unstable();
                        prop_assert_eq!(fired, expected);
                    }
                }
                prop_assert_eq!(q.next(), model.values().min().copied());
                prop_assert_eq!(q.len(), model.len());
                prop_assert!(q.heap.len() <= 2 * model.len() + 65);
            }
        }
    }

    #[test]
    fn due_keys_come_earliest_first_and_rearming_moves_a_key() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut q = TimerQueue::default();
        q.arm(1u32, Some(t0 + s(30)));
        q.arm(2, Some(t0 + s(10)));
        q.arm(3, Some(t0 + s(20)));
        q.arm(2, Some(t0 + s(40)));
        assert_eq!(q.next(), Some(t0 + s(20)));
        assert_eq!(q.pop_due(t0 + s(35)), vec![3, 1]);
        assert_eq!(q.deadline(&2), Some(t0 + s(40)));
        q.arm(2, None);
        assert_eq!(q.next(), None);
        assert!(q.pop_due(t0 + s(100)).is_empty());
    }
}
