//! A function's type profile as passes read it: a snapshot of what its sites have seen.

use lazyjit_ir::interp::{Native, Proto, SiteProfile};
use lazyjit_ir::rt::Tag;

/// What one profile site has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteSeen {
    /// For operands 0 and 1: one bit per tag number the operand has had.
    pub tags: [u16; 2],
    /// For calls: the function of the module whose closures every call called, if
    /// they all did (see `SiteProfile::target`).
    pub callee: Option<u32>,
    /// For calls: the functions of the module whose closures every call called, if there
    /// were two or three (in the order the calls first met them); else none.
    pub callees: FewCallees,
    /// For calls: the first native fast path (`LoadedModule::natives`) of the native
    /// function every call called, if they all called one that has fast paths.
    pub native: Option<u32>,
    /// How often speculations from this site failed (a guard deoptimized; see
    /// [`SiteSeen::failed`]).
    pub deopts: u32,
    /// For table writes: one went past the table's array part (an append, or a sparse
    /// key), so the write keeps its way out rather than a guard on the bounds.
    pub past_array: bool,
    /// For field accesses (a table and a string key): one found no value in the table
    /// itself (a method from a metatable, or a missing field).
    pub field_absent: bool,
    /// For array accesses: a `guard.elems` on their table failed (its elements had more
    /// than one tag), so elements are read and written with their tags.
    pub mixed_elements: bool,
}

/// Up to three module functions (see [`SiteSeen::callees`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FewCallees {
    fns: [u32; 3],
    len: u8,
}

impl FewCallees {
    /// The first three of `fns`.
    pub fn new(fns: &[u32]) -> FewCallees {
        let mut few = FewCallees::default();
        for (slot, &f) in few.fns.iter_mut().zip(fns) {
            *slot = f;
            few.len += 1;
        }
        few
    }

    /// The functions, in order.
    pub fn as_slice(&self) -> &[u32] {
        &self.fns[..self.len as usize]
    }
}

impl SiteSeen {
    /// A speculation made from this site failed before: speculating on it again would
    /// only deoptimize again.
    pub fn failed(&self) -> bool {
        self.deopts != 0
    }

    /// The one tag operand `i` has always had, if it ran and had exactly one.
    pub fn only_tag(&self, i: usize) -> Option<Tag> {
        let bits = *self.tags.get(i)?;
        (bits.count_ones() == 1).then(|| Tag::from_u8(bits.trailing_zeros() as u8)).flatten()
    }

    /// Whether the site ever ran.
    pub fn ran(&self) -> bool {
        self.tags[0] != 0 || self.tags[1] != 0
    }
}

/// What every site of a function has seen, by site number, and how often its loops ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// One entry per site.
    pub sites: Vec<SiteSeen>,
    /// Per block heading a loop (by block number): how often the loop was entered or
    /// went round. Empty when unknown (nothing is then taken to have never run).
    pub loop_runs: Vec<u32>,
}

impl Profile {
    /// The profile a loaded function has gathered so far.
    pub fn of(proto: &Proto) -> Profile {
        // SAFETY: a loaded proto's module outlives it (a proto not loaded has none).
        let module = unsafe { proto.module.as_ref() };
        let protos = module.map_or(&[][..], |m| &m.protos[..]);
        let natives = module.map_or(&[][..], |m| &m.natives[..]);
        // Sites whose lookup cache compiled code filled: a field found in a metatable.
        let mut chained = vec![false; proto.sites.len()];
        for (i, node) in proto.mir.insts.iter().enumerate() {
            if let lazyjit_ir::InstData::RtCall { site: Some(site), .. } = node.data {
                if proto.lookup_used(i) {
                    if let Some(c) = chained.get_mut(site.index()) {
                        *c = true;
                    }
                }
            }
        }
        let sites = proto
            .sites
            .iter()
            .zip(chained)
            .map(|(s, chained)| {
                let target = s.target.load(std::sync::atomic::Ordering::Relaxed);
                let few = s.few_targets();
                let one_target = target != 0 && target != SiteProfile::MANY_TARGETS && few.is_empty();
                let index_of = |target: u64| protos.iter().position(|p| p as *const Proto as u64 == target).map(|i| i as u32);
                let callee = if one_target { index_of(target) } else { None };
                let callees = few.into_iter().map(index_of).collect::<Option<Vec<u32>>>().map(|v| FewCallees::new(&v)).unwrap_or_default();
                let native_tag = s.operand_tags(0) == 1 << Tag::Native as u16;
                let native = natives
                    .iter()
                    .position(|n| one_target && native_tag && n.native as *const Native as u64 == target)
                    .map(|i| i as u32);
                SiteSeen {
                    tags: [s.operand_tags(0), s.operand_tags(1)],
                    callee,
                    callees,
                    native,
                    deopts: s.deopt_count(),
                    past_array: s.went_past_array(),
                    field_absent: chained || s.field_was_absent(),
                    mixed_elements: s.had_mixed_elements(),
                }
            })
            .collect();
        let loop_runs = proto.loop_entries.iter().map(|n| n.load(std::sync::atomic::Ordering::Relaxed)).collect();
        Profile { sites, loop_runs }
    }

    /// Whether the loop headed by block `header` is known never to have run.
    pub fn never_ran(&self, header: u32) -> bool {
        self.loop_runs.get(header as usize) == Some(&0)
    }

    /// Site `site`, if the profile has it.
    pub fn site(&self, site: u32) -> Option<&SiteSeen> {
        self.sites.get(site as usize)
    }
}
