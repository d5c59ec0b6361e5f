//! Placement families: the placements of the Sites section a suite can be about. Each is the
//! code an app binds with `landing.repo.bind`, the keys of its PLACEMENT_OPTIONS and the
//! documentation's example request; everything else (the wire, the tokens, the portal, the
//! checks) is the same for all of them.

use std::sync::LazyLock;

use super::Payload;

/// A placement family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// `LANDING_SETTINGS`: the site and page settings menu (api-reference/landing/embedding/settings.md).
    #[default]
    Settings,
    /// `LANDING_BLOCK_<CODE>` and `LANDING_BLOCK_*`: a block's "More" menu in the page editor
    /// (api-reference/landing/embedding/block.md).
    Block,
}

/// What `LANDING_BLOCK_<CODE>` starts with.
const BLOCK_PREFIX: &str = "LANDING_BLOCK_";

impl Family {
    pub const ALL: [Family; 2] = [Family::Settings, Family::Block];

    /// The code the documentation's example request carries, and the one an app binds to get it.
    pub fn code(self) -> &'static str {
        match self {
            Family::Settings => super::LANDING_SETTINGS,
            // "If the application needs a single handler for all blocks, use the code LANDING_BLOCK_*."
            Family::Block => "LANDING_BLOCK_*",
        }
    }

    /// The name of the family's built-in suite (`suites/NAME.toml`).
    pub fn suite(self) -> &'static str {
        match self {
            Family::Settings => "landing_settings",
            Family::Block => "landing_block",
        }
    }

    /// Whether a request with this PLACEMENT belongs to the family. A block's code is
    /// `LANDING_BLOCK_` and the block's code or `*`, and "the case of the characters in the code
    /// is not important" (block.md).
    pub fn serves(self, placement: &str) -> bool {
        match self {
            Family::Settings => placement == super::LANDING_SETTINGS,
            Family::Block => placement.get(..BLOCK_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(BLOCK_PREFIX)),
        }
    }

    /// The family a PLACEMENT belongs to, if any.
    pub fn of(placement: &str) -> Option<Family> {
        Family::ALL.iter().copied().find(|f| f.serves(placement))
    }

    /// The family a user names: its code, its suite's name, or the code without `_*`, in any case.
    pub fn from_name(name: &str) -> Option<Family> {
        let name = name.trim();
        Family::ALL.iter().copied().find(|f| {
            [f.code(), f.suite(), f.code().trim_end_matches("_*")].iter().any(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The keys the documentation lists for the family's PLACEMENT_OPTIONS, in its order.
    pub fn option_keys(self) -> &'static [&'static str] {
        match self {
            Family::Settings => &["SITE_ID", "LID"],
            Family::Block => &["ID", "CODE", "LID"],
        }
    }

    /// The documentation's own example request for the family, verbatim in `fixtures/payloads/`.
    /// Parsed once: every valid draw starts from it.
    pub fn example(self) -> Payload {
        static SETTINGS: LazyLock<Payload> = LazyLock::new(|| parse(super::DOCUMENTED_EXAMPLE));
        static BLOCK: LazyLock<Payload> = LazyLock::new(|| parse(BLOCK_EXAMPLE));
        match self {
            Family::Settings => SETTINGS.clone(),
            Family::Block => BLOCK.clone(),
        }
    }
}

fn parse(text: &str) -> Payload {
    Payload::from_json(text).expect("a documented example fixture is a valid payload")
}

/// The LANDING_BLOCK_* page's example request (block.md, "What the Handler Receives").
const BLOCK_EXAMPLE: &str = include_str!("../../fixtures/payloads/landing_block_example.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placement_belongs_to_its_family() {
        assert_eq!(Family::of("LANDING_SETTINGS"), Some(Family::Settings));
        for code in ["LANDING_BLOCK_*", "LANDING_BLOCK_04.1.one_col_fix_with_title", "landing_block_repo_1132"] {
            assert_eq!(Family::of(code), Some(Family::Block), "{code}");
        }
        assert_eq!(Family::of("CRM_DEAL_DETAIL_TAB"), None);
        assert_eq!(Family::of("LANDING_BLOCK"), None);
        for name in ["LANDING_BLOCK", "landing_block", "LANDING_BLOCK_*"] {
            assert_eq!(Family::from_name(name), Some(Family::Block), "{name}");
        }
        assert_eq!(Family::from_name("landing_settings"), Some(Family::Settings));
        assert_eq!(Family::from_name("LEFT_MENU"), None);
    }

    #[test]
    fn each_example_is_its_familys() {
        for family in Family::ALL {
            let example = family.example();
            assert_eq!(example.placement, family.code());
            let options = example.placement_options.expect("the example has options");
            assert!(family.option_keys().iter().all(|k| options.get(k).is_some()), "{family:?}");
        }
    }
}
