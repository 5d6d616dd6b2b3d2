//! Runtime names in a plan: `RuntimeNames`, the runtimes that share a planned ENI, stored so that a
//! plan copies each name once; and `SeenNames`, which finds a name used twice.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The names of the runtimes that share an ENI, in the order given to [`plan`](crate::plan). It reads
/// as a list of strings, and is one in JSON. Underneath, the ENIs of a plan point into one table of
/// names, so that a plan of 100,000 runtimes on two subnets each copies 100,000 names into one buffer
/// rather than allocating 200,000 strings.
#[derive(Clone, Default)]
pub struct RuntimeNames {
    table: Arc<NameTable>,
    positions: Vec<usize>,
}

/// Names back to back in one string: name `i` is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    text: String,
    ends: Vec<usize>,
}

impl NameTable {
    /// Room for `names` names of `text` bytes in all, so that filling it moves nothing.
    pub(crate) fn with_capacity(names: usize, text: usize) -> Self {
        Self { text: String::with_capacity(text), ends: Vec::with_capacity(names) }
    }

    /// Adds `name` and returns its position.
    pub(crate) fn push(&mut self, name: &str) -> usize {
        self.text.push_str(name);
        self.ends.push(self.text.len());
        self.ends.len() - 1
    }

    fn get(&self, position: usize) -> &str {
        let start = if position == 0 { 0 } else { self.ends[position - 1] };
        &self.text[start..self.ends[position]]
    }
}

/// The runtime names a plan has seen, to refuse one used twice. Open addressing (linear probing)
/// over runtime indices, 8 bytes a slot and at most half full: half the memory of a set of `&str`,
/// so a plan of 100,000 runtimes misses the cache half as often.
pub(crate) struct SeenNames {
    /// (upper half of the name's hash, runtime index + 1), or `(0, 0)` when free.
    slots: Vec<(u32, u32)>,
}

impl SeenNames {
    /// Room for `names` names.
    pub(crate) fn with_capacity(names: usize) -> Self {
        Self { slots: vec![(0, 0); (2 * names).next_power_of_two()] }
    }

    /// Records that runtime `i` is named `name`, or says `false` if an earlier one was (`name_of`
    /// gives the name of a runtime recorded before). At most the capacity's number of names.
    pub(crate) fn insert<'a>(&mut self, i: usize, name: &str, name_of: impl Fn(usize) -> &'a str) -> bool {
        let hash = FxBuildHasher.hash_one(name);
        let tag = (hash >> 32) as u32;
        let index = u32::try_from(i + 1).expect("fewer than 2^32 runtimes");
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.slots[at] {
                (_, 0) => {
                    self.slots[at] = (tag, index);
                    return true;
                }
                (seen_tag, seen) if seen_tag == tag && name_of(seen as usize - 1) == name => return false,
                _ => at = (at + 1) & mask,
            }
        }
    }
}

impl RuntimeNames {
    /// The names at `positions` of `table`, in that order.
    pub(crate) fn new(table: Arc<NameTable>, positions: Vec<usize>) -> Self {
        debug_assert!(positions.iter().all(|&p| p < table.ends.len()));
        Self { table, positions }
    }

    /// How many runtimes share the ENI.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// No runtime (only in a plan read from hand-written JSON).
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The `i`-th name, if there are that many.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.positions.get(i).map(|&p| self.table.get(p))
    }

    /// The names, in order.
    pub fn iter(&self) -> RuntimeNamesIter<'_> {
        RuntimeNamesIter { table: &self.table, positions: self.positions.iter() }
    }

    /// Whether `name` is one of them.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    /// The names as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

/// The names of a [`RuntimeNames`], in order.
#[derive(Debug, Clone)]
pub struct RuntimeNamesIter<'a> {
    table: &'a NameTable,
    positions: std::slice::Iter<'a, usize>,
}

impl<'a> Iterator for RuntimeNamesIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.positions.next().map(|&p| self.table.get(p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.positions.size_hint()
    }
}

impl DoubleEndedIterator for RuntimeNamesIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.positions.next_back().map(|&p| self.table.get(p))
    }
}

impl ExactSizeIterator for RuntimeNamesIter<'_> {}

impl<'a> IntoIterator for &'a RuntimeNames {
    type Item = &'a str;
    type IntoIter = RuntimeNamesIter<'a>;

    fn into_iter(self) -> RuntimeNamesIter<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for RuntimeNames {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> Self {
        let names = names.into_iter();
        let mut table = NameTable::with_capacity(names.size_hint().0, 0);
        let positions = names.map(|name| table.push(name.as_ref())).collect();
        Self { table: Arc::new(table), positions }
    }
}

impl PartialEq for RuntimeNames {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for RuntimeNames {}

impl<S: AsRef<str>> PartialEq<[S]> for RuntimeNames {
    fn eq(&self, other: &[S]) -> bool {
        self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for RuntimeNames {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for RuntimeNames {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl fmt::Debug for RuntimeNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for RuntimeNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for RuntimeNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<String>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_seen_once() {
        let names = ["a", "b", "a", "", "b", "c", ""];
        let mut seen = SeenNames::with_capacity(names.len());
        let fresh: Vec<bool> = names.iter().enumerate().map(|(i, name)| seen.insert(i, name, |j| names[j])).collect();
        assert_eq!(fresh, [true, true, false, true, false, true, false]);
        // A full table's worth of distinct names, then each again.
        let many: Vec<String> = (0..1000).map(|i| format!("runtime_{i}")).collect();
        let mut seen = SeenNames::with_capacity(many.len());
        assert!(many.iter().enumerate().all(|(i, name)| seen.insert(i, name, |j| many[j].as_str())));
        let mut again = SeenNames::with_capacity(2 * many.len());
        let twice = many
            .iter()
            .chain(&many)
            .enumerate()
            .filter(|&(i, name)| !again.insert(i, name, |j| many[j % 1000].as_str()));
        assert_eq!(twice.count(), 1000);
    }

    #[test]
    fn reads_like_the_list_of_names_it_holds() {
        let mut table = NameTable::with_capacity(3, 0);
        for name in ["a", "", "runtime_c"] {
            table.push(name);
        }
        let names = RuntimeNames::new(Arc::new(table), vec![2, 0, 1]);
        assert_eq!(names, ["runtime_c", "a", ""]);
        assert_eq!((names.len(), names.get(1), names.get(3)), (3, Some("a"), None));
        assert!(names.contains("a") && !names.contains("b"));
        assert_eq!(names.iter().rev().collect::<Vec<_>>(), ["", "a", "runtime_c"]);
        assert_eq!(format!("{names:?}"), r#"["runtime_c", "a", ""]"#);
        let json = serde_json::to_string(&names).unwrap();
        assert_eq!(json, r#"["runtime_c","a",""]"#);
        let back: RuntimeNames = serde_json::from_str(&json).unwrap();
        assert_eq!(back, names);
        assert_ne!(back, ["runtime_c", "a"]);
        assert!(RuntimeNames::default().is_empty());
    }
}
