//! Everything the project cites, a reader can open: a public https page, or a file of this
//! repository — and then the heading the citation names exists in it, as GitHub anchors it.

use std::collections::BTreeSet;
use std::path::Path;

use b24_conform::checks;
use b24_conform::install::{self, InstallForm};
use b24_conform::suite::{self, Draw, SuiteSource};

/// Every URL the catalog, the installation cases and the checks cite.
fn citations() -> BTreeSet<String> {
    let suites = b24_conform::payload::Family::ALL.map(SuiteSource::Builtin);
    let cases = suite::load(&suites, &Draw::default()).expect("the built-in catalogs load");
    let installs = b24_conform::payload::Family::ALL
        .into_iter()
        .flat_map(|family| [InstallForm::Event, InstallForm::Frame].map(|form| install::case(form, family)));
    let mut urls: BTreeSet<String> =
        cases.iter().map(|(_, c)| c).chain(installs).map(|c| c.evidence.url.clone()).collect();
    urls.extend(checks::ALL.iter().map(|c| c.evidence.url.to_owned()));
    urls
}

/// GitHub's anchor of a Markdown heading: lower case, spaces to dashes, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_citation_is_public_or_a_file_of_the_repository_with_its_heading() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let urls = citations();
    assert!(urls.len() > 10, "too few citations to be the catalog's: {urls:?}");
    for url in &urls {
        assert!(!url.contains("shared/") && !url.contains("PROTOCOL.md"), "{url} cites a file outside the repository");
        if url.starts_with("https://") {
            continue;
        }
        let (path, fragment) = url.split_once('#').unwrap_or((url, ""));
        let file = root.join(path);
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{url}: {} cannot be read: {e}", file.display()));
        if fragment.is_empty() {
            continue;
        }
        let anchors: Vec<String> =
            text.lines().filter_map(|l| l.strip_prefix('#')).map(|h| anchor(h.trim_start_matches('#'))).collect();
        assert!(anchors.iter().any(|a| a == fragment), "{url}: no heading of {path} is anchored #{fragment}");
    }
}

#[test]
fn the_anchor_rule_is_githubs() {
    assert_eq!(anchor(" Numeric SITE_ID and LID"), "numeric-site_id-and-lid");
    assert_eq!(anchor(" 4. Installation"), "4-installation");
    assert_eq!(anchor(" LID \"0\" (inferred)"), "lid-0-inferred");
}
