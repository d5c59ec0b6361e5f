//! Report writers as consumers of a run's events, over today's renderers: a stand-in until the
//! streaming writers land. JSON is written as the cases end; the other formats collect the
//! cases and render the whole report at the end.

use std::io::{self, Write};
use std::path::PathBuf;

use super::{Format, RunReport, render, render_human_in_colour};
use crate::record::{CaseReport, Event, PortalCall, RunInfo};

/// A report writer: it reads a run's events as they come.
pub trait Sink {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()>;
}

/// How a report is written.
#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    pub colour: bool,
    /// Directory for files beside the report (large request bodies for `--data-binary @FILE`);
    /// None: the report goes to standard output.
    pub beside: Option<PathBuf>,
}

/// The writer of `format` into `out`.
pub fn sink(format: Format, out: Box<dyn Write + Send>, options: SinkOptions) -> Box<dyn Sink + Send> {
    match format {
        Format::Json => Box::new(JsonLines { out, cases: 0, calls: Vec::new() }),
        format => {
            Box::new(Collect { format, colour: options.colour, out, info: None, cases: Vec::new(), calls: Vec::new() })
        }
    }
}

/// The JSON document, one case a line as each is judged.
struct JsonLines {
    out: Box<dyn Write + Send>,
    cases: usize,
    /// The calls no case owns, written after the cases (the run bounds how many).
    calls: Vec<PortalCall>,
}

impl Sink for JsonLines {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Started(info) => write!(
                self.out,
                "{{\"tool\":{},\"version\":{},\"handler\":{},\"seed\":{},\"wire\":{},\"partition\":{},\n\"cases\":[",
                json(&info.tool),
                json(&info.version),
                json(&info.handler),
                info.seed,
                json(&info.wire),
                json(&info.partition)
            ),
            Event::Answered { .. } => Ok(()),
            Event::Judged(case) => self.case(&json(case)),
            Event::NotRun { id, index, reason } => {
                let line = serde_json::json!({"id": id, "index": index, "outcome": "not-run", "reason": reason});
                self.case(&line.to_string())
            }
            Event::Unattributed(call) => {
                self.calls.push((*call).clone());
                Ok(())
            }
            Event::Ended(end) => {
                write!(self.out, "\n],\n")?;
                if !self.calls.is_empty() {
                    write!(self.out, "\"unattributed\":{},", json(&self.calls))?;
                }
                if let Some(baseline) = &end.baseline {
                    write!(self.out, "\"baseline\":{},", json(baseline))?;
                }
                if let Some(stopped) = &end.stopped {
                    write!(self.out, "\"stopped\":{},", json(stopped))?;
                }
                writeln!(self.out, "\"notes\":{},\n\"summary\":{}}}", json(&end.notes), json(&end.summary))?;
                self.out.flush()
            }
        }
    }
}

impl JsonLines {
    fn case(&mut self, line: &str) -> io::Result<()> {
        let comma = if self.cases == 0 { "" } else { "," };
        self.cases += 1;
        write!(self.out, "{comma}\n{line}")
    }
}

/// One value as compact JSON; the record types always serialise.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| serde_json::Value::String(e.to_string()).to_string())
}

/// Today's renderers need the whole report: the cases are kept until the end.
struct Collect {
    format: Format,
    colour: bool,
    out: Box<dyn Write + Send>,
    info: Option<RunInfo>,
    cases: Vec<CaseReport>,
    calls: Vec<PortalCall>,
}

impl Sink for Collect {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Started(info) => self.info = Some((*info).clone()),
            Event::Judged(case) => self.cases.push((*case).clone()),
            Event::Unattributed(call) => self.calls.push((*call).clone()),
            Event::Answered { .. } | Event::NotRun { .. } => {}
            Event::Ended(end) => {
                let Some(info) = self.info.take() else { return Ok(()) };
                let mut report = RunReport::new(
                    info.handler,
                    info.seed,
                    info.wire,
                    std::mem::take(&mut self.cases),
                    Default::default(),
                );
                report.summary = end.summary.clone();
                report.baseline = end.baseline.clone();
                report.unattributed = std::mem::take(&mut self.calls);
                let text = match self.format {
                    Format::Human if self.colour => render_human_in_colour(&report),
                    format => render(&report, format),
                };
                self.out.write_all(text.as_bytes())?;
                self.out.flush()?;
            }
        }
        Ok(())
    }
}
