//! The plan of a run: the suites' cases in firing order, selected and partitioned, drawn only
//! when iterated. Named cases are few and held whole; a generated group holds what its cases
//! share and draws case `n` from its own seed when the iteration reaches it, so a plan of
//! 100 000 generated cases costs what one case does.

use std::borrow::Borrow;

use super::{Case, CaseKind, Draw, Filter, Origin, Partition};
use crate::generate::{self, Space, draft_seed};

/// The cases of a run, in firing order: the regular cases in suite order, then the journeys'
/// steps in suite order (they change the portal's state). Each case has an index in the whole
/// selection, from 1 (0 is the installation, which is no case of the plan); a partition keeps
/// the indices, so the parts' cases together are the whole plan's, in the same order by index.
#[derive(Clone, Debug)]
pub struct Plan {
    parts: Vec<Part>,
    filter: Filter,
    /// The journeys a selected step selects whole: a journey's steps make sense only together.
    journeys: Vec<String>,
    /// Selected cases before each part.
    starts: Vec<usize>,
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
        let draft = generate::draw(self.space, seed);
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
        Plan { parts, filter: Filter::default(), journeys: Vec::new(), starts: Vec::new(), total: 0, partition: None }
            .select(Filter::default())
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
        self.total = 0;
        for part in 0..self.parts.len() {
            self.starts.push(self.total);
            self.total += self.selected_in(part);
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
        self.partition.map_or(self.total, |p| p.share(self.total))
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
        self.partition.is_none_or(|p| p.holds(index)).then(|| (index, self.parts[part].case(n)))
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
            if plan.partition.is_none_or(|p| p.holds(self.index)) {
                return Some((self.index, part.case(n)));
            }
        }
        None
    }
}
