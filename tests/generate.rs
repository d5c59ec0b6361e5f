//! Generated cases: a failing draw is shrunk to the smallest request that still fails, recorded
//! in the regressions file when the run is given one, and drawn again by later runs, each case
//! under the same id as before.

mod common;

use common::collect;

use b24_conform::generate::Mutation;
use b24_conform::record::CaseOutcome;
use b24_conform::reference::Fault;
use b24_conform::report::RunReport;
use b24_conform::run::{Handler, RunConfig};

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_draw_is_shrunk_recorded_and_replayed_under_its_own_id() {
    let dir = std::env::temp_dir().join(format!("b24-generate-{}", std::process::id()));
    let regressions = dir.join("regressions.txt");
    let _ = std::fs::remove_dir_all(&dir);
    // The defect: any LANG containing `<` crashes the handler. Seed 24's first 100 malformed
    // draws put a `<` in LANG among other noise.
    let mut config = RunConfig::new(Handler::Builtin(Some(Fault::LangMarkup500)));
    config.filters = vec!["malformed/*".into()];
    config.draw.count = Some(100);
    config.regressions = Some(regressions.clone());
    let first = collect(&config).await.expect("the run happens");
    let failed: Vec<_> = first.cases.iter().filter(|c| c.outcome == CaseOutcome::Fail).collect();
    assert!(!failed.is_empty(), "seed 24 draws no LANG with a <");
    for case in &failed {
        let shrunk = case.shrunk.as_ref().unwrap_or_else(|| panic!("{} was not shrunk", case.id));
        // One mutation is left, and it gives LANG the one character that matters.
        match shrunk.mutations.as_slice() {
            [Mutation::Set { field, value } | Mutation::Duplicate { field, value }] => {
                assert_eq!((field.as_str(), value.as_str()), ("LANG", "<"), "{}", case.id)
            }
            other => panic!("{} shrank to {other:?}", case.id),
        }
        assert!(shrunk.request.url.contains("LANG=%3C&") || shrunk.request.url.ends_with("LANG=%3C"));
        assert!(shrunk.reproduce.contains("LANG=%3C"), "{}", shrunk.reproduce);
        assert_eq!(shrunk.failures.iter().map(|v| v.id).collect::<Vec<_>>(), ["no-server-error"]);
    }

    // Recorded, one line per failing draw.
    let text = std::fs::read_to_string(&regressions).expect("the regressions file is written");
    assert_eq!(text.lines().filter(|l| l.starts_with("malformed/generated 0x")).count(), failed.len(), "{text}");
    let ids = |report: &RunReport| report.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let failing = |report: &RunReport| {
        report.cases.iter().filter(|c| c.outcome == CaseOutcome::Fail).map(|c| c.id.clone()).collect::<Vec<_>>()
    };
    // The same run again: the same cases under the same ids (a baseline of the first matches),
    // the recorded draws among them, nothing added, and the file unchanged.
    let again = collect(&config).await.expect("the run happens");
    assert_eq!((ids(&again), failing(&again)), (ids(&first), failing(&first)));
    assert_eq!(std::fs::read_to_string(&regressions).unwrap(), text);
    // Fewer draws: the group's own keep their ids, and the recorded draws it no longer makes
    // come after them, under ids of their own, and still fail.
    config.draw.count = Some(2);
    let fewer = collect(&config).await.expect("the run happens");
    let drawn: Vec<&str> = first.cases[..2].iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids(&fewer)[..2], drawn);
    let replayed: Vec<_> = fewer.cases[2..].iter().collect();
    let not_drawn = failed.iter().filter(|c| !drawn.contains(&c.id.as_str())).count();
    assert!(not_drawn > 0 && replayed.len() == not_drawn, "{:?}", ids(&fewer));
    for case in &replayed {
        assert_eq!(case.outcome, CaseOutcome::Fail, "{}", case.id);
        let draw = case.draw.as_ref().expect("a generated case names its draw");
        assert_eq!(case.id, format!("malformed/generated#regression-{:016x}", draw.seed));
        assert!(failed.iter().any(|f| f.draw.as_ref() == Some(draw)), "{} was recorded", case.id);
    }
    assert_eq!(std::fs::read_to_string(&regressions).unwrap(), text);
    let _ = std::fs::remove_dir_all(dir);
}

/// A warning does not fail the run: a draw that only warns is neither shrunk nor recorded.
#[tokio::test(flavor = "multi_thread")]
async fn a_draw_that_only_warns_is_not_shrunk_nor_recorded() {
    let dir = std::env::temp_dir().join(format!("b24-generate-warn-{}", std::process::id()));
    let regressions = dir.join("regressions.txt");
    let _ = std::fs::remove_dir_all(&dir);
    // Every page takes 3.2 s: a latency warning on each valid draw.
    let mut config = RunConfig::new(Handler::Builtin(Some(Fault::SlowPage)));
    config.filters = vec!["valid/generated#*".into()];
    config.draw.count = Some(2);
    config.regressions = Some(regressions.clone());
    let report = collect(&config).await.expect("the run happens");
    assert_eq!((report.summary.warned, report.exit_code()), (2, 0), "{:?}", report.summary);
    assert!(report.cases.iter().all(|c| c.outcome == CaseOutcome::Warn && c.shrunk.is_none()));
    assert!(!regressions.exists(), "a warning was recorded as a regression");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_survives_a_thousand_malformed_draws() {
    let mut config = RunConfig::new(Handler::Builtin(None));
    config.filters = vec!["malformed/*".into()];
    config.draw.count = Some(1000);
    config.jobs = 32;
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, 1000, "{}", common::human(&report));
}
