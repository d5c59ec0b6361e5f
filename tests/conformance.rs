//! The catalog against the built-in reference handler, one libtest-mimic trial per case:
//! `cargo test --test conformance -- --list` lists the case ids; filters and nextest work.

use b24_conform::run::{Handler, RunConfig};

fn main() {
    let config = RunConfig::new(Handler::Builtin(None));
    let trials = b24_conform::trials(config).expect("the built-in catalog loads");
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
