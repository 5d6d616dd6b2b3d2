//! Where the runtimes' networks put ENIs: each distinct network checked and placed once.

use std::hash::Hasher;
use std::ops::Range;

use rustc_hash::{FxHashMap, FxHasher};

use crate::network::{InventoryIndex, NetworkError, RuntimeNetwork};

/// The distinct VPC networks of a plan's runtimes and the ENIs they need. Runtimes share networks
/// (that is why they share ENIs), so each distinct network is checked once and found again by its
/// hash, confirmed by comparing the networks.
///
/// ENIs are numbered in order of first use; ENI `e` is (subnet, group set) `eni_keys[e]`, where
/// subnets are inventory positions and group sets are numbered in order of first use too.
pub(super) struct Placements<'a, 'n> {
    index: &'a InventoryIndex<'a>,
    /// Per subnet (by inventory position): its zone, as a small integer.
    subnet_zone: Vec<usize>,
    by_hash: FxHashMap<u64, usize>,
    placed: Vec<Placed<'n>>,
    /// The ENIs of every placement, back to back.
    placed_enis: Vec<usize>,
    /// Security-group sets (sorted, distinct inventory positions) to their numbers.
    group_sets: FxHashMap<Vec<usize>, usize>,
    eni_of: FxHashMap<(usize, usize), usize>,
    eni_keys: Vec<(usize, usize)>,
    /// Buffers for `InventoryIndex::check_into`.
    subnets: Vec<usize>,
    groups: Vec<usize>,
}

struct Placed<'n> {
    network: &'n RuntimeNetwork,
    vpc: usize,
    single_az: Option<usize>,
    enis: Range<usize>,
    /// The previous placement with the same hash.
    same_hash: Option<usize>,
}

/// Where one runtime's network goes.
pub(super) struct Place<'p> {
    /// Its VPC, an index into the inventory index's VPCs.
    pub(super) vpc: usize,
    /// When all its subnets are in one zone: the first of them (an inventory position).
    pub(super) single_az: Option<usize>,
    /// Its ENIs, one per distinct subnet.
    pub(super) enis: &'p [usize],
}

impl<'a, 'n> Placements<'a, 'n> {
    pub(super) fn new(index: &'a InventoryIndex<'a>) -> Self {
        let mut zone_of: FxHashMap<&str, usize> = FxHashMap::default();
        let subnet_zone = index
            .inventory
            .subnets
            .iter()
            .map(|s| {
                let next = zone_of.len();
                *zone_of.entry(s.az_id.as_str()).or_insert(next)
            })
            .collect();
        Self {
            index,
            subnet_zone,
            by_hash: FxHashMap::default(),
            placed: Vec::new(),
            placed_enis: Vec::new(),
            group_sets: FxHashMap::default(),
            eni_of: FxHashMap::default(),
            eni_keys: Vec::new(),
            subnets: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Checks and places a VPC network (`None` for public mode), or finds it placed already.
    pub(super) fn place(&mut self, network: &'n RuntimeNetwork) -> Result<Option<Place<'_>>, NetworkError> {
        if *network == RuntimeNetwork::Public {
            return Ok(None);
        }
        let hash = network_hash(network);
        let mut found = self.by_hash.get(&hash).copied();
        while let Some(p) = found {
            if self.placed[p].network == network {
                break;
            }
            found = self.placed[p].same_hash;
        }
        let p = match found {
            Some(p) => p,
            None => self.place_new(network, hash)?,
        };
        let placed = &self.placed[p];
        Ok(Some(Place { vpc: placed.vpc, single_az: placed.single_az, enis: &self.placed_enis[placed.enis.clone()] }))
    }

    fn place_new(&mut self, network: &'n RuntimeNetwork, hash: u64) -> Result<usize, NetworkError> {
        let vpc =
            self.index.check_into(network, &mut self.subnets, &mut self.groups)?.expect("a VPC network has a VPC");
        let first_zone = self.subnet_zone[self.subnets[0]];
        let single_az = self.subnets.iter().all(|&s| self.subnet_zone[s] == first_zone).then_some(self.subnets[0]);
        let set = match self.group_sets.get(self.groups.as_slice()) {
            Some(&set) => set,
            None => {
                let set = self.group_sets.len();
                self.group_sets.insert(self.groups.clone(), set);
                set
            }
        };
        let start = self.placed_enis.len();
        for &s in &self.subnets {
            let eni = *self.eni_of.entry((s, set)).or_insert_with(|| {
                self.eni_keys.push((s, set));
                self.eni_keys.len() - 1
            });
            self.placed_enis.push(eni);
        }
        let same_hash = self.by_hash.insert(hash, self.placed.len());
        self.placed.push(Placed { network, vpc, single_az, enis: start..self.placed_enis.len(), same_hash });
        Ok(self.placed.len() - 1)
    }

    /// The ENIs' keys, by ENI number, and the group sets, by set number.
    pub(super) fn into_keys(self) -> (Vec<(usize, usize)>, Vec<Vec<usize>>) {
        let mut sets = vec![Vec::new(); self.group_sets.len()];
        for (groups, set) in self.group_sets {
            sets[set] = groups;
        }
        (self.eni_keys, sets)
    }
}

fn network_hash(network: &RuntimeNetwork) -> u64 {
    let mut hasher = FxHasher::default();
    if let RuntimeNetwork::Vpc { subnets, security_groups } = network {
        hasher.write_usize(subnets.len());
        for id in subnets {
            hash_id(id.as_str(), &mut hasher);
        }
        for id in security_groups {
            hash_id(id.as_str(), &mut hasher);
        }
    }
    hasher.finish()
}

/// Hashes an id 8 bytes at a time (the last 8 overlapping the others when the length is not a
/// multiple of 8): ids are short, and this is a few multiplications where hashing them as strings
/// costs several times more. Every byte counts, so ids that differ only in the middle still differ.
fn hash_id(id: &str, hasher: &mut FxHasher) {
    let bytes = id.as_bytes();
    hasher.write_usize(bytes.len());
    match bytes.last_chunk::<8>() {
        None => hasher.write(bytes),
        Some(last) => {
            for word in bytes.as_chunks::<8>().0 {
                hasher.write_u64(u64::from_le_bytes(*word));
            }
            hasher.write_u64(u64::from_le_bytes(*last));
        }
    }
}
