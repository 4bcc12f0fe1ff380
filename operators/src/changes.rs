//! Change lists outside a dataflow: a collection gathered as `(data, time, diff)` rows, and the
//! one way oddsflow reads such a list *as of* a time — the rows with time ≤ `t`, accumulated,
//! keeping what has a positive count (point-in-time reads of outputs and of the offline store).

use std::collections::BTreeMap;

/// One change of a collection: data, time, diff.
pub type Change<D, T> = (D, T, i64);

/// A keyed collection as of a time that only moves forward: the changes are sorted by time once
/// and applied as [`AsOf::advance`] passes them, so a sweep over many times costs one pass.
#[derive(Clone, Debug)]
pub struct AsOf<K, V, T> {
    changes: Vec<Change<(K, V), T>>,
    next: usize,
    counts: BTreeMap<K, BTreeMap<V, i64>>,
}

impl<K: Ord + Clone, V: Ord + Clone, T: Ord + Clone> AsOf<K, V, T> {
    /// Nothing applied yet.
    pub fn new(mut changes: Vec<Change<(K, V), T>>) -> Self {
        changes.sort_by(|a, b| a.1.cmp(&b.1));
        AsOf {
            changes,
            next: 0,
            counts: BTreeMap::new(),
        }
    }

    /// Applies every change with time ≤ `t` (calls must come with non-decreasing `t`).
    pub fn advance(&mut self, t: &T) {
        while let Some(((k, v), time, diff)) = self.changes.get(self.next) {
            if time > t {
                break;
            }
            let values = self.counts.entry(k.clone()).or_default();
            let n = values.entry(v.clone()).or_insert(0);
            *n += diff;
            if *n == 0 {
                values.remove(v);
                if values.is_empty() {
                    self.counts.remove(k);
                }
            }
            self.next += 1;
        }
    }

    /// The largest value `k` holds with a positive count (a keyed collection holds one).
    pub fn get(&self, k: &K) -> Option<&V> {
        self.counts
            .get(k)?
            .iter()
            .rev()
            .find(|(_, n)| **n > 0)
            .map(|(v, _)| v)
    }

    /// Every key with the value [`AsOf::get`] gives it, in key order.
    pub fn current(&self) -> impl Iterator<Item = (&K, &V)> {
        self.counts
            .keys()
            .filter_map(move |k| self.get(k).map(|v| (k, v)))
    }
}

/// A keyed change list as of `t`: each key with the largest value it holds with a positive count.
pub fn as_of<K: Ord + Clone, V: Ord + Clone, T: Ord + Clone>(
    changes: &[Change<(K, V), T>],
    t: &T,
) -> BTreeMap<K, V> {
    let mut a = AsOf::new(changes.iter().filter(|c| &c.1 <= t).cloned().collect());
    a.advance(t);
    a.current().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_true_at_each_time() {
        let changes: Vec<Change<(u8, char), u64>> = vec![
            ((1, 'a'), 10, 1),
            ((1, 'a'), 20, -1),
            ((1, 'b'), 20, 1),
            ((2, 'x'), 15, 1),
            ((2, 'x'), 30, -1),
        ];
        assert_eq!(as_of(&changes, &5), BTreeMap::new());
        assert_eq!(as_of(&changes, &10), BTreeMap::from([(1, 'a')]));
        assert_eq!(as_of(&changes, &20), BTreeMap::from([(1, 'b'), (2, 'x')]));
        assert_eq!(as_of(&changes, &30), BTreeMap::from([(1, 'b')]));
        let mut sweep = AsOf::new(changes);
        sweep.advance(&15);
        assert_eq!(sweep.get(&1), Some(&'a'));
        sweep.advance(&25);
        assert_eq!(sweep.get(&1), Some(&'b'));
        assert_eq!(sweep.get(&3), None);
    }

    #[test]
    fn as_of_sweeps_changes_in_time_order() {
        let changes: Vec<Change<(u8, u32), u64>> = vec![
            ((1, 10), 5, 1),
            ((1, 10), 20, -1),
            ((1, 11), 20, 1),
            ((2, 7), 30, 1),
        ];
        let mut a = AsOf::new(changes);
        a.advance(&4);
        assert_eq!(a.get(&1), None);
        a.advance(&19);
        assert_eq!(a.get(&1), Some(&10));
        a.advance(&20);
        assert_eq!(a.get(&1), Some(&11));
        assert_eq!(a.get(&2), None);
    }
}
