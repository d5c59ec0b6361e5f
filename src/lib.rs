//! b24-conform: a protocol-conformance harness for Bitrix24 placement handlers, first of all
//! `LANDING_SETTINGS`.
//!
//! The flow reads one way: [`suite`] files become [`suite::Case`]s; [`fire`] sends each to the
//! handler while the mock [`portal`] answers the handler's calls back; [`checks`] judge each
//! [`record::Exchange`]; [`report`] renders the verdicts. [`run`] wires them together, and
//! [`reference`] is a built-in handler that does everything right, or has one chosen defect;
//! [`launch`] starts a handler under test from a command.

pub mod baseline;
pub mod browser;
pub mod checks;
pub mod fire;
pub mod generate;
pub mod html;
pub mod install;
pub mod intercept;
pub mod journey;
pub mod launch;
pub mod merge;
pub mod payload;
pub mod portal;
pub mod record;
pub mod reference;
pub mod regressions;
pub mod replay;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod suite;
pub mod trials;

pub use trials::trials;
