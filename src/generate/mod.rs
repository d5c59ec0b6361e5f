//! Generators: requests drawn from the whole valid space, and malformed ones (a valid request
//! bent by one to three mutations). Every draw depends on its own seed alone, so a case can be
//! drawn again — to replay it, or to shrink it to the smallest request that still fails.

mod malformed;
mod mutation;
mod valid;

use std::sync::LazyLock;

use proptest::strategy::{SBoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

use crate::payload::{Family, Payload};

pub use mutation::Mutation;
pub use valid::valid_payload;

/// The space a generated group draws from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Space {
    /// Requests a right Bitrix24 sends.
    #[default]
    Valid,
    /// A valid request with one to three mutations.
    Malformed,
}

/// One drawn request: a payload and the mutations that bend it.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub payload: Payload,
    pub mutations: Vec<Mutation>,
}

/// The seed of draw `n` of group `group` in a run seeded with `seed`: each draw has its own, so
/// that one can be drawn, replayed or shrunk without the others.
pub fn draft_seed(seed: u64, group: &str, n: usize) -> u64 {
    // FNV-1a over the group, then splitmix64 over everything: stable across platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in group.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ hash.rotate_left(17) ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The draft that `seed` draws from `space` for a handler of `family`.
pub fn draw(space: Space, family: Family, seed: u64) -> Draft {
    tree(space, family, seed).current()
}

/// Shrinks a failing draft to a smaller one that still fails, one candidate at a time: the run
/// fires each [`Shrinker::candidate`] and reports with [`Shrinker::verdict`] whether it still
/// fails, so the search needs no I/O of its own.
///
/// proptest's value trees are not `Send`, and the run awaits between candidates; so the shrinker
/// keeps only the verdicts and replays them on a fresh tree (simplify on a failure, complicate on
/// a pass), which draws the same candidates.
pub struct Shrinker {
    space: Space,
    family: Family,
    seed: u64,
    verdicts: Vec<bool>,
    smallest: Draft,
    next: Option<Draft>,
}

impl Shrinker {
    /// Starts from the draft `seed` draws from `space` for `family`, which must be one that failed.
    pub fn new(space: Space, family: Family, seed: u64) -> Shrinker {
        let smallest = draw(space, family, seed);
        let mut shrinker = Shrinker { space, family, seed, verdicts: Vec::new(), smallest, next: None };
        shrinker.next = shrinker.replay();
        shrinker
    }

    /// The next draft to try, or `None` when no smaller one is left.
    pub fn candidate(&self) -> Option<&Draft> {
        self.next.as_ref()
    }

    /// Whether the last candidate still failed.
    pub fn verdict(&mut self, still_fails: bool) {
        let Some(tried) = self.next.take() else { return };
        if still_fails {
            self.smallest = tried;
        }
        self.verdicts.push(still_fails);
        self.next = self.replay();
    }

    /// The smallest draft seen to fail.
    pub fn smallest(&self) -> &Draft {
        &self.smallest
    }

    /// Candidates tried so far.
    pub fn steps(&self) -> usize {
        self.verdicts.len()
    }

    /// The candidate after the verdicts so far, on a fresh tree.
    fn replay(&self) -> Option<Draft> {
        let mut tree = tree(self.space, self.family, self.seed);
        if !tree.simplify() {
            return None;
        }
        for &failed in &self.verdicts {
            let moved = if failed { tree.simplify() } else { tree.complicate() };
            if !moved {
                return None;
            }
        }
        Some(tree.current())
    }
}

/// Each space's strategy for each family, built once: building one parses its regexes and lists
/// its fields, which cost more than a draw itself. A strategy holds no state between draws, so
/// sharing one draws exactly what a fresh one would.
fn strategy(space: Space, family: Family) -> &'static SBoxedStrategy<Draft> {
    type Cached = LazyLock<[SBoxedStrategy<Draft>; Family::ALL.len()]>;
    fn build(space: Space, family: Family) -> SBoxedStrategy<Draft> {
        match space {
            Space::Valid => valid_payload(family).prop_map(|payload| Draft { payload, mutations: Vec::new() }).sboxed(),
            Space::Malformed => malformed::malformed(family).sboxed(),
        }
    }
    static VALID: Cached = LazyLock::new(|| Family::ALL.map(|f| build(Space::Valid, f)));
    static MALFORMED: Cached = LazyLock::new(|| Family::ALL.map(|f| build(Space::Malformed, f)));
    let index = Family::ALL.iter().position(|&f| f == family).unwrap_or_default();
    match space {
        Space::Valid => &VALID[index],
        Space::Malformed => &MALFORMED[index],
    }
}

fn tree(space: Space, family: Family, seed: u64) -> Box<dyn ValueTree<Value = Draft>> {
    strategy(space, family).new_tree(&mut runner(seed)).expect("the generators never reject a draw")
}

/// A runner whose draws depend on `seed` alone, never on PROPTEST_* variables.
fn runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { failure_persistence: None, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_draft_and_seeds_differ() {
        for space in [Space::Valid, Space::Malformed] {
            let seeds: Vec<u64> = (0..20).map(|n| draft_seed(7, "g", n)).collect();
            let drafts: Vec<Draft> = seeds.iter().map(|&s| draw(space, Family::Settings, s)).collect();
            assert_eq!(drafts, seeds.iter().map(|&s| draw(space, Family::Settings, s)).collect::<Vec<_>>());
            assert_ne!(drafts[0], drafts[1]);
        }
        assert_ne!(draft_seed(7, "g", 0), draft_seed(8, "g", 0));
        assert_ne!(draft_seed(7, "g", 0), draft_seed(7, "h", 0));
    }

    #[test]
    fn valid_drafts_are_valid_payloads() {
        for family in Family::ALL {
            for n in 0..50 {
                let draft = draw(Space::Valid, family, draft_seed(1, "valid", n));
                assert!(draft.mutations.is_empty());
                assert!(family.serves(&draft.payload.placement), "{draft:?}");
                assert_eq!(Payload::from_fields(&draft.payload.to_fields()), Ok(draft.payload));
            }
        }
    }

    #[test]
    fn malformed_drafts_carry_one_to_three_mutations() {
        for n in 0..50 {
            let draft = draw(Space::Malformed, Family::Block, draft_seed(1, "malformed", n));
            assert!((1..=3).contains(&draft.mutations.len()), "{draft:?}");
        }
    }

    /// The shrinker, driven by a predicate as the run drives it with a handler: any LANG
    /// containing `<` "fails"; the smallest failing draft sets LANG to `<` alone.
    #[test]
    fn shrinks_to_the_smallest_failing_draft() {
        let fails = |draft: &Draft| {
            let mut fields = draft.payload.to_fields();
            draft.mutations.iter().for_each(|m| m.apply_fields(&mut fields));
            fields.iter().any(|f| f.name == "LANG" && f.value.contains('<'))
        };
        let seed = (0..10_000)
            .map(|n| draft_seed(1, "shrink", n))
            .find(|&s| fails(&draw(Space::Malformed, Family::Settings, s)));
        let mut shrinker =
            Shrinker::new(Space::Malformed, Family::Settings, seed.expect("some draw sets LANG with a <"));
        while let Some(candidate) = shrinker.candidate() {
            let verdict = fails(candidate);
            shrinker.verdict(verdict);
        }
        let smallest = shrinker.smallest();
        assert!(fails(smallest));
        // One mutation is left, and the only LANG with a `<` is `<` alone.
        assert_eq!(smallest.mutations.len(), 1, "{smallest:?}");
        let mut fields = smallest.payload.to_fields();
        smallest.mutations[0].apply_fields(&mut fields);
        let langs: Vec<&str> = fields.iter().filter(|f| f.name == "LANG").map(|f| f.value.as_str()).collect();
        assert!(langs.contains(&"<") && langs.iter().all(|l| *l == "<" || !l.contains('<')), "{langs:?}");
        assert!(shrinker.steps() > 0);
    }
}
