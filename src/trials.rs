//! The `cargo test` face: a suite run as libtest-mimic trials, one per case, so a Rust handler
//! author gets `cargo test` / `cargo nextest` filtering, listing and reporting for free.
//!
//! The body of `fn main` in your crate's `tests/conformance.rs` (with `harness = false`):
//!
//! ```no_run
//! let config = b24_conform::run::RunConfig::new("http://127.0.0.1:8080/".parse().unwrap());
//! libtest_mimic::run(&libtest_mimic::Arguments::from_args(), b24_conform::trials(config).unwrap()).exit();
//! ```

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use libtest_mimic::{Failed, Trial};

use crate::record::{CaseOutcome, CaseReport, Event};
use crate::run::{self, RunConfig, RunError, Session};
use crate::suite::Filter;

/// One trial per case of the run, the installation included. Nothing starts until the first
/// trial runs, so listing is cheap; the first trial then runs the whole suite once, exactly as
/// `b24-conform run` does (the same cases, fired and judged the same way), and each trial
/// reports its case's verdict. A runner that spawns one process per trial (nextest) runs the
/// suite once per trial.
pub fn trials(config: RunConfig) -> Result<Vec<Trial>, RunError> {
    let install = config.install_form.case_id();
    let plan = run::cases(&config)?;
    let installs =
        Session::installs(&config) && plan.reports_install() && Filter::new(&config.filters).selects(install);
    let mut ids: Vec<String> = installs.then(|| install.to_owned()).into_iter().collect();
    ids.extend(plan.iter().map(|(_, case)| case.id));
    let shared = Arc::new(Shared { config, verdicts: OnceLock::new() });
    Ok(ids
        .into_iter()
        .map(|id| {
            let shared = shared.clone();
            Trial::test(id.clone(), move || shared.verdict(&id))
        })
        .collect())
}

/// Each case's failure message (`None` when it passed), once the run is over.
type Verdicts = HashMap<String, Option<String>>;

struct Shared {
    config: RunConfig,
    verdicts: OnceLock<Result<Verdicts, String>>,
}

impl Shared {
    fn verdict(&self, id: &str) -> Result<(), Failed> {
        let verdicts = self.verdicts.get_or_init(|| self.run()).as_ref().map_err(|e| Failed::from(e.as_str()))?;
        match verdicts.get(id) {
            Some(None) => Ok(()),
            Some(Some(message)) => Err(message.as_str().into()),
            None => Err(format!("{id} was not judged by the run").into()),
        }
    }

    fn run(&self) -> Result<Verdicts, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let mut verdicts = Verdicts::new();
        let mut observer = |event: &Event<'_>| {
            match event {
                Event::Judged(report) => {
                    verdicts.insert(report.id.clone(), failure(report));
                }
                Event::NotRun { id, reason, .. } => {
                    verdicts.insert(id.to_string(), Some(reason.to_string()));
                }
                _ => {}
            }
            Ok(())
        };
        runtime.block_on(run::run(&self.config, &mut observer)).map_err(|e| e.to_string())?;
        Ok(verdicts)
    }
}

/// Why `report`'s case fails the run, if it does: warnings, and cases the harness did not
/// model, do not.
fn failure(report: &CaseReport) -> Option<String> {
    if matches!(report.outcome, CaseOutcome::Pass | CaseOutcome::Warn | CaseOutcome::NotModelled | CaseOutcome::Known) {
        return None;
    }
    let mut message = format!("{} ({:?})\n", report.title, report.expect);
    for failure in report.failures() {
        message.push_str(&format!("  {}: {}\n", failure.id, failure.message.replace('\n', "\n    ")));
    }
    if let Some(error) = &report.error {
        message.push_str(&format!("  {error}\n"));
    }
    message.push_str(&format!("  reproduce: {}", report.reproduce));
    Some(message)
}
