//! The catalog against the built-in reference handler, one libtest-mimic trial per case:
//! `cargo test --test conformance -- --list` lists the case ids; filters and nextest work.

use b24_conform::payload::Family;
use b24_conform::run::{Handler, RunConfig};
use b24_conform::snapshot::SnapshotConfig;
use b24_conform::suite::SuiteSource;

fn main() {
    // Each case is also held to its reviewed snapshot, so a change to the reference handler's
    // answers fails here until `snapshots/` is regenerated (README, Snapshots).
    let snapshots = SnapshotConfig::new(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    // Both placement families' built-in catalogs: the second is a suite file, not a fork.
    let suites = Family::ALL.map(SuiteSource::Builtin).to_vec();
    let config = RunConfig { snapshots: Some(snapshots), suites, ..RunConfig::new(Handler::Builtin(None)) };
    let trials = b24_conform::trials(config).expect("the built-in catalog loads");
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
