//! The `cargo test` face: a suite run as libtest-mimic trials, one per case, so a Rust handler
//! author gets `cargo test` / `cargo nextest` filtering, listing and reporting for free.
//!
//! The body of `fn main` in your crate's `tests/conformance.rs` (with `harness = false`):
//!
//! ```no_run
//! let config = b24_conform::run::RunConfig::new("http://127.0.0.1:8080/".parse().unwrap());
//! libtest_mimic::run(&libtest_mimic::Arguments::from_args(), b24_conform::trials(config).unwrap()).exit();
//! ```

use std::sync::{Arc, OnceLock};

use libtest_mimic::{Failed, Trial};

use crate::report::CaseOutcome;
use crate::run::{self, RunConfig, RunError, Stage};
use crate::suite::{Case, CaseKind};

/// One trial per selected case. Nothing starts until the first trial runs, so listing is cheap
/// and a runner that spawns one process per trial (nextest) starts the stage once per trial.
/// Journeys are left out: trials run in any order and at once, and a journey that removes the
/// app would pull the portal from under every other trial; `b24-conform run` runs them.
pub fn trials(config: RunConfig) -> Result<Vec<Trial>, RunError> {
    let selected = run::select(&config.suites, &config.filters, &config.draw)?;
    let cases = Arc::new(
        selected.into_iter().map(|(_, case)| case).filter(|c| !matches!(c.kind, CaseKind::Step(_))).collect::<Vec<_>>(),
    );
    let shared = Arc::new(Shared { config, cases: cases.clone(), stage: OnceLock::new() });
    Ok((0..cases.len())
        .map(|owner| {
            let shared = shared.clone();
            Trial::test(cases[owner].id.clone(), move || shared.exercise(owner))
        })
        .collect())
}

struct Shared {
    config: RunConfig,
    cases: Arc<Vec<Case>>,
    stage: OnceLock<Result<(tokio::runtime::Runtime, Stage), String>>,
}

impl Shared {
    fn exercise(&self, owner: usize) -> Result<(), Failed> {
        let (runtime, stage) = self
            .stage
            .get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the async runtime: {e}"))?;
                let stage = runtime.block_on(Stage::start(&self.config, &self.cases)).map_err(|e| e.to_string())?;
                Ok((runtime, stage))
            })
            .as_ref()
            .map_err(|e| Failed::from(e.as_str()))?;
        // Calls that come after the answer are not waited for here; `run` judges those too.
        let case = &self.cases[owner];
        let report = stage.judge(case, runtime.block_on(stage.exercise(owner, case)));
        // Warnings, and cases the harness did not model, do not fail the run either.
        if matches!(report.outcome, CaseOutcome::Pass | CaseOutcome::Warn | CaseOutcome::NotModelled) {
            return Ok(());
        }
        let mut message = format!("{} ({:?})\n", report.title, report.expect);
        for failure in report.failures() {
            message.push_str(&format!("  {}: {}\n", failure.id, failure.message.replace('\n', "\n    ")));
        }
        if let Some(error) = &report.error {
            message.push_str(&format!("  {error}\n"));
        }
        message.push_str(&format!("  reproduce: {}", report.reproduce));
        Err(message.into())
    }
}
