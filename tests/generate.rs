//! Generated cases: a failing draw is shrunk to the smallest request that still fails, recorded
//! in the regressions file, and drawn again first on the next run.

mod common;

use common::collect;

use b24_conform::generate::Mutation;
use b24_conform::reference::Fault;
use b24_conform::report::CaseOutcome;
use b24_conform::run::{Handler, RunConfig};

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_draw_is_shrunk_recorded_and_replayed_first() {
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

    // Recorded, one line per failing draw, and drawn again first.
    let text = std::fs::read_to_string(&regressions).expect("the regressions file is written");
    assert_eq!(text.lines().filter(|l| l.starts_with("malformed/generated 0x")).count(), failed.len(), "{text}");
    config.draw.count = Some(2);
    let second = collect(&config).await.expect("the run happens");
    let ids: Vec<&str> = second.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), failed.len() + 2, "{ids:?}");
    assert!(ids[..failed.len()].iter().all(|id| id.starts_with("malformed/generated#regression-")), "{ids:?}");
    assert!(second.cases[..failed.len()].iter().all(|c| c.outcome == CaseOutcome::Fail));
    // Nothing new failed, so the file is unchanged.
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
    assert_eq!(report.summary.passed, 1000, "{}", b24_conform::report::render_human(&report));
}
