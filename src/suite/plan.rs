//! The plan of a run: the suites' cases in firing order, selected and partitioned, drawn only
//! when iterated. Named cases are few and held whole; a generated group holds what its cases
//! share and draws case `n` from its own seed when the iteration reaches it, so a plan of
//! 100 000 generated cases costs what one case does.

use std::borrow::Borrow;

use super::{Case, CaseKind, Draw, Filter, Origin, Partition};
use crate::generate::{self, Space, draft_seed};
use crate::payload::Family;

/// The cases of a run, in firing order: the regular cases in suite order, then the journeys'
/// steps in suite order (they change the portal's state). Each case has an index in the whole
/// selection, from 1 (0 is the installation, which is no case of the plan); a partition keeps
/// the indices, so the parts' cases together are the whole plan's, in the same order by index.
/// A journey goes whole to the part its first step's index falls in: its steps make sense only
/// one after the other on one portal.
#[derive(Clone, Debug)]
pub struct Plan {
    parts: Vec<Part>,
    filter: Filter,
    /// The journeys a selected step selects whole: a journey's steps make sense only together.
    journeys: Vec<String>,
    /// Selected cases before each part.
    starts: Vec<usize>,
    /// For each selected step: the index of its journey's first selected step, which decides
    /// the part the step is in; `None` for other parts.
    journey_starts: Vec<Option<usize>>,
    /// Selected cases in all.
    total: usize,
    partition: Option<Partition>,
}

/// A piece of a suite: one case, or a generated group.
#[derive(Clone, Debug)]
pub(crate) enum Part {
    /// A named case, a case of a matrix, or a journey's step.
    Case(Case),
    Group(Group),
}

/// A `[[generate]]` group: `count` draws from the run's seed, `group#0` to `group#(count-1)`,
/// then the recorded draws (a regressions file) this run does not draw anyway, each under
/// `group#regression-SEED`. Ids depend on the seed and the draw alone: recorded draws never
/// shift or rename the group's own.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// What the group's cases share; its id is the group's.
    template: Case,
    space: Space,
    seed: u64,
    count: usize,
    /// The recorded draws' seeds, after the group's own draws.
    recorded: Vec<u64>,
}

impl Group {
    /// The group `template.id` drawing `count` cases from `space` with `draw`'s seed, and the
    /// draws `draw` replays for it that are not among those.
    pub(crate) fn new(template: Case, space: Space, draw: &Draw, count: usize) -> Group {
        let mut recorded: Vec<u64> = Vec::new();
        for replay in draw.replay.iter().filter(|r| r.group == template.id) {
            if !recorded.contains(&replay.seed) {
                recorded.push(replay.seed);
            }
        }
        if !recorded.is_empty() {
            let own: std::collections::HashSet<u64> =
                (0..count).map(|n| draft_seed(draw.seed, &template.id, n)).collect();
            recorded.retain(|seed| !own.contains(seed));
        }
        Group { template, space, seed: draw.seed, count, recorded }
    }

    fn len(&self) -> usize {
        self.count + self.recorded.len()
    }

    fn id(&self, n: usize) -> String {
        match n.checked_sub(self.count) {
            None => format!("{}#{n}", self.template.id),
            Some(r) => format!("{}#regression-{:016x}", self.template.id, self.recorded[r]),
        }
    }

    /// The position of case `id` in the group.
    fn position(&self, id: &str) -> Option<usize> {
        let suffix = id.strip_prefix(self.template.id.as_str())?.strip_prefix('#')?;
        match suffix.strip_prefix("regression-") {
            Some(hex) => {
                let seed = u64::from_str_radix(hex, 16).ok()?;
                self.recorded.iter().position(|&s| s == seed).map(|r| self.count + r)
            }
            // Only the canonical spelling: `#03` is no case.
            None => suffix.parse::<usize>().ok().filter(|n| *n < self.count && n.to_string() == suffix),
        }
    }

    /// Draws case `n`.
    fn case(&self, n: usize) -> Case {
        let (seed, replayed) = match n.checked_sub(self.count) {
            None => (draft_seed(self.seed, &self.template.id, n), false),
            Some(r) => (self.recorded[r], true),
        };
        let draft = generate::draw(self.space, self.template.family(), seed);
        let origin = Origin { group: self.template.id.clone(), space: self.space, seed, replayed };
        Case {
            id: self.id(n),
            payload: draft.payload,
            mutations: draft.mutations,
            origin: Some(origin),
            ..self.template.clone()
        }
    }
}

impl Part {
    /// The id the part's cases' ids start with: a case's own, or the group's.
    pub(crate) fn stem(&self) -> &str {
        match self {
            Part::Case(case) => &case.id,
            Part::Group(group) => &group.template.id,
        }
    }

    /// The placement case `id` of this part, drawn if generated.
    pub(crate) fn placement(&self, id: &str) -> Option<Case> {
        match self {
            Part::Case(case) => (case.id == id && case.kind == CaseKind::Placement).then(|| case.clone()),
            Part::Group(group) => group.position(id).map(|n| group.case(n)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Part::Case(_) => 1,
            Part::Group(group) => group.len(),
        }
    }

    fn case(&self, n: usize) -> Case {
        match self {
            Part::Case(case) => case.clone(),
            Part::Group(group) => group.case(n),
        }
    }

    fn is_step(&self) -> bool {
        matches!(self, Part::Case(case) if matches!(case.kind, CaseKind::Step(_)))
    }
}

impl Plan {
    /// Every case of `parts`, the regular ones first, then the steps, each in the given order.
    pub(crate) fn new(parts: Vec<Part>) -> Plan {
        let (regular, steps): (Vec<Part>, Vec<Part>) = parts.into_iter().partition(|p| !p.is_step());
        let parts = regular.into_iter().chain(steps).collect();
        Plan {
            parts,
            filter: Filter::default(),
            journeys: Vec::new(),
            starts: Vec::new(),
            journey_starts: Vec::new(),
            total: 0,
            partition: None,
        }
        .select(Filter::default())
    }

    /// The placement family of the plan's first suite: the one the run's installation binds.
    pub fn family(&self) -> Family {
        self.parts.first().map_or_else(Family::default, |part| match part {
            Part::Case(case) => case.family(),
            Part::Group(group) => group.template.family(),
        })
    }

    /// The cases `filter` selects (in place of any earlier selection), the whole journey of any
    /// step it selects. Generated ids are matched without drawing.
    pub fn select(mut self, filter: Filter) -> Plan {
        self.journeys = self
            .parts
            .iter()
            .filter_map(|part| match part {
                Part::Case(case) if filter.selects(&case.id) => crate::journey::journey_of(case).map(str::to_owned),
                _ => None,
            })
            .collect();
        self.filter = filter;
        self.starts.clear();
        self.journey_starts.clear();
        self.total = 0;
        let mut journey: Option<(&str, usize)> = None;
        for (p, part) in self.parts.iter().enumerate() {
            self.starts.push(self.total);
            let selected = self.selected_in(p);
            self.total += selected;
            let step = match part {
                Part::Case(case) if selected == 1 => crate::journey::journey_of(case),
                _ => None,
            };
            self.journey_starts.push(step.map(|name| match journey {
                Some((current, first)) if current == name => first,
                _ => {
                    journey = Some((name, self.total));
                    self.total
                }
            }));
        }
        self
    }

    /// Part `partition` of the selection; the indices stay those of the whole selection.
    pub fn partitioned(mut self, partition: Partition) -> Plan {
        self.partition = Some(partition);
        self
    }

    /// The partition this plan is, if it is one.
    pub fn partition(&self) -> Option<Partition> {
        self.partition
    }

    /// Whether a run of this plan reports the installation (it installs the app in any case):
    /// only the first part of a partitioned run does.
    pub fn reports_install(&self) -> bool {
        self.partition.is_none_or(Partition::reports_install)
    }

    /// The cases of this plan (of this partition, if it is one), the installation not counted.
    pub fn len(&self) -> usize {
        let Some(partition) = self.partition else { return self.total };
        // The regular cases come first, indices 1 to `regular`; then the steps, few.
        let regular = self.journey_starts.iter().position(Option::is_some).map_or(self.total, |p| self.starts[p]);
        partition.share(regular) + self.journey_starts.iter().flatten().filter(|&&first| partition.holds(first)).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cases of the whole selection, every partition's.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The cases in firing order, each with its index in the whole selection (from 1), drawn as
    /// the iteration reaches them.
    pub fn iter(&self) -> impl Iterator<Item = (usize, Case)> + '_ {
        Cases { plan: self, part: 0, n: 0, index: 0 }
    }

    /// Case `id` of this plan, with its index, drawing no other case.
    pub fn case(&self, id: &str) -> Option<(usize, Case)> {
        let (part, n) = self.parts.iter().enumerate().find_map(|(p, part)| match part {
            Part::Case(case) => (case.id == id).then_some((p, 0)),
            Part::Group(group) => group.position(id).map(|n| (p, n)),
        })?;
        if !self.chosen(part, n) {
            return None;
        }
        let index = self.starts[part] + (0..=n).filter(|&m| self.chosen(part, m)).count();
        self.holds(part, index).then(|| (index, self.parts[part].case(n)))
    }

    /// Whether this plan's partition holds the case at `index`, of part `part`.
    fn holds(&self, part: usize, index: usize) -> bool {
        self.partition.is_none_or(|p| p.holds(self.journey_starts[part].unwrap_or(index)))
    }

    /// Whether case `n` of part `part` is selected.
    fn chosen(&self, part: usize, n: usize) -> bool {
        match &self.parts[part] {
            Part::Case(case) => {
                self.filter.selects(&case.id)
                    || crate::journey::journey_of(case).is_some_and(|j| self.journeys.iter().any(|k| k == j))
            }
            Part::Group(group) => self.filter.selects_all() || self.filter.selects(&group.id(n)),
        }
    }

    fn selected_in(&self, part: usize) -> usize {
        match &self.parts[part] {
            Part::Group(group) if self.filter.selects_all() => group.len(),
            other => (0..other.len()).filter(|&n| self.chosen(part, n)).count(),
        }
    }
}

impl IntoIterator for Plan {
    type Item = (usize, Case);
    type IntoIter = Cases<Plan>;

    /// The cases in firing order, as [`Plan::iter`], owning the plan.
    fn into_iter(self) -> Cases<Plan> {
        Cases { plan: self, part: 0, n: 0, index: 0 }
    }
}

/// The cases of a plan, drawn one at a time, with their indices.
pub struct Cases<P> {
    plan: P,
    part: usize,
    /// The next case of `part` to consider.
    n: usize,
    /// The index of the last selected case.
    index: usize,
}

impl<P: Borrow<Plan>> Iterator for Cases<P> {
    type Item = (usize, Case);

    fn next(&mut self) -> Option<(usize, Case)> {
        let plan = self.plan.borrow();
        while let Some(part) = plan.parts.get(self.part) {
            if self.n == part.len() {
                (self.part, self.n) = (self.part + 1, 0);
                continue;
            }
            let n = self.n;
            self.n += 1;
            if !plan.chosen(self.part, n) {
                continue;
            }
            self.index += 1;
            if plan.holds(self.part, self.index) {
                return Some((self.index, part.case(n)));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Replay, SuiteSource, load};

    fn builtin(draw: &Draw) -> Plan {
        load(&[SuiteSource::Builtin(crate::payload::Family::Settings)], draw).expect("the built-in catalog loads")
    }

    fn ids(plan: &Plan) -> Vec<(usize, String)> {
        plan.iter().map(|(index, case)| (index, case.id)).collect()
    }

    #[test]
    fn cases_come_in_firing_order_with_their_indices_and_the_same_seed_draws_the_same() {
        let draw = Draw { seed: 24, count: Some(50), ..Draw::default() };
        let plan = builtin(&draw);
        let cases: Vec<(usize, Case)> = plan.iter().collect();
        assert_eq!(cases.len(), plan.len());
        assert_eq!(cases.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (1..=plan.len()).collect::<Vec<_>>());
        // Regular cases, then the journeys' steps.
        let first_step = cases.iter().position(|(_, c)| matches!(c.kind, CaseKind::Step(_))).expect("a journey");
        assert!(cases[first_step..].iter().all(|(_, c)| matches!(c.kind, CaseKind::Step(_))));
        for group in ["valid/generated", "malformed/generated"] {
            let drawn: Vec<&Case> = cases.iter().map(|(_, c)| c).filter(|c| c.id.starts_with(group)).collect();
            assert_eq!(drawn.len(), 50);
            for (n, case) in drawn.iter().enumerate() {
                assert_eq!(case.id, format!("{group}#{n}"));
                let origin = case.origin.as_ref().expect("a generated case has its origin");
                assert_eq!((origin.seed, origin.replayed), (draft_seed(24, group, n), false));
            }
        }
        assert!(builtin(&draw).iter().eq(plan.iter()), "the same seed draws the same cases");
        let other = builtin(&Draw { seed: 25, ..draw });
        assert!(!other.iter().eq(plan.iter()), "another seed draws other cases");
        assert_eq!(ids(&other), ids(&plan), "under the same ids");
    }

    #[test]
    fn filters_select_generated_ids_without_drawing_and_a_step_its_journey() {
        let draw = Draw { seed: 24, count: Some(1000), ..Draw::default() };
        let plan = builtin(&draw).select(Filter::new(&["valid/generated#99*", "!valid/generated#999"]));
        let wanted: Vec<String> = [99].into_iter().chain(990..999).map(|n| format!("valid/generated#{n}")).collect();
        assert_eq!(ids(&plan).into_iter().map(|(_, id)| id).collect::<Vec<_>>(), wanted);
        assert_eq!(plan.len(), wanted.len());
        let draw = Draw { count: Some(1), ..draw };
        let whole = builtin(&draw);
        let step = whole.iter().map(|(_, c)| c).find(|c| matches!(c.kind, CaseKind::Step(_))).expect("a step");
        let journey = crate::journey::journey_of(&step).expect("of a journey").to_owned();
        let selected = builtin(&draw).select(Filter::new(&[step.id.as_str()]));
        let steps: Vec<String> = whole
            .iter()
            .map(|(_, c)| c)
            .filter(|c| crate::journey::journey_of(c) == Some(journey.as_str()))
            .map(|c| c.id)
            .collect();
        assert!(steps.len() > 1);
        assert_eq!(ids(&selected).into_iter().map(|(_, id)| id).collect::<Vec<_>>(), steps);
        assert_eq!(selected.len(), steps.len());
        assert!(builtin(&draw).select(Filter::new(&["nothing/*"])).is_empty());
    }

    #[test]
    fn a_case_is_found_by_id_with_its_index() {
        let plan = builtin(&Draw { seed: 24, count: Some(20), ..Draw::default() });
        for (index, case) in plan.iter() {
            assert_eq!(plan.case(&case.id), Some((index, case)));
        }
        for id in ["valid/generated#20", "valid/generated#03", "valid/generated#", "valid/generated", "nope"] {
            assert_eq!(plan.case(id), None, "{id}");
        }
    }

    /// The acceptance line of `--partition`: the parts are disjoint, and together they are the
    /// whole plan, ids and order by index; a journey is whole in one part.
    #[test]
    fn partitions_one_to_four_of_four_together_are_the_whole_plan_once() {
        let draw = Draw { seed: 24, count: Some(50), ..Draw::default() };
        let whole = ids(&builtin(&draw));
        let journey = |id: &str| id.rsplit_once("/step-").map(|(journey, _)| journey.to_owned());
        let journeys: Vec<String> = whole.iter().filter_map(|(_, id)| journey(id)).collect();
        assert!(journeys.len() > 2);
        let mut joined: Vec<(usize, String)> = Vec::new();
        for k in 1..=4 {
            let part = builtin(&draw).partitioned(Partition::new(k, 4).unwrap());
            let cases = ids(&part);
            assert_eq!(cases.len(), part.len(), "{k}/4");
            assert!(cases.len() >= whole.len() / 4 - 3, "{k}/4 has its share");
            assert!(cases.windows(2).all(|w| w[0].0 < w[1].0), "{k}/4 fires in plan order");
            assert_eq!(part.reports_install(), k == 1);
            for name in &journeys {
                let steps =
                    |ids: &[(usize, String)]| ids.iter().filter(|(_, id)| journey(id).as_ref() == Some(name)).count();
                assert!([0, steps(&whole)].contains(&steps(&cases)), "{k}/4 has part of {name}");
            }
            joined.extend(cases);
        }
        joined.sort();
        assert_eq!(joined, whole);
        let filtered = || builtin(&draw).select(Filter::new(&["malformed/*"]));
        let parts: usize = (1..=3).map(|k| filtered().partitioned(Partition::new(k, 3).unwrap()).iter().count()).sum();
        assert_eq!(parts, filtered().len());
    }

    /// `group#n` is the same draw for the same seed whatever the regressions file holds: a
    /// recorded draw the run draws anyway is not added again, one it does not draw comes after
    /// the group's own draws under an id of its own.
    #[test]
    fn recorded_draws_never_rename_the_groups_own() {
        let draw = Draw { seed: 24, count: Some(10), ..Draw::default() };
        let plain = builtin(&draw);
        let drawn_anyway = draft_seed(24, "malformed/generated", 3);
        let replay = vec![
            Replay { group: "malformed/generated".into(), seed: drawn_anyway },
            Replay { group: "malformed/generated".into(), seed: 0xabc },
            Replay { group: "malformed/generated".into(), seed: 0xabc },
            Replay { group: "no/such-group".into(), seed: 1 },
        ];
        let replaying = builtin(&Draw { replay, ..draw });
        let (before, after) = (ids(&plain), ids(&replaying));
        assert_eq!(after.len(), before.len() + 1);
        let added = after.iter().position(|(_, id)| id == "malformed/generated#regression-0000000000000abc");
        let added = added.expect("the draw the seed does not make is added");
        assert_eq!(after[added - 1].1, "malformed/generated#9", "after the group's own draws");
        let unshifted: Vec<&String> = after.iter().filter(|(i, _)| *i != added + 1).map(|(_, id)| id).collect();
        assert_eq!(unshifted, before.iter().map(|(_, id)| id).collect::<Vec<_>>());
        let (_, case) = replaying.case("malformed/generated#regression-0000000000000abc").expect("found by its id");
        let origin = case.origin.expect("generated");
        assert_eq!((origin.seed, origin.replayed), (0xabc, true));
        assert_eq!(case.mutations, generate::draw(Space::Malformed, crate::payload::Family::Settings, 0xabc).mutations);
        assert!(plain.iter().zip(replaying.iter()).take(added).all(|(a, b)| a == b), "same cases, same payloads");
    }
}
