//! The report as one JSON document, for programs, streamed: the run's header, then one case a
//! line as each is judged, then the calls no case owns, the baseline, why the run stopped, the
//! notes and the summary, which only the end knows. Its size grows with the cases, the writer's
//! memory does not; `b24-conform merge` reads it back.
//!
//! ```text
//! {"tool":…,"version":…,"handler":…,"seed":…,"wire":…,"partition":null,
//! "cases":[
//! {…case…},
//! {"id":…,"index":…,"outcome":"not-run","reason":…}
//! ],
//! "unattributed":[…],"baseline":…,"stopped":…,"notes":[…],
//! "summary":{…}}
//! ```

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};

use super::Sink;
use super::reproduce::{Reproducer, inline, replay};
use crate::record::{CaseOutcome, CaseReport, Event, HttpRequest, RunEnd, RunInfo};

/// Where the document is: which array is open, and whether it has an element yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Nothing,
    Cases { empty: bool },
    Unattributed,
}

pub(super) struct Json<W> {
    out: W,
    reproducer: Reproducer,
    info: Option<RunInfo>,
    open: Open,
}

impl<W: Write> Json<W> {
    pub fn new(out: W, reproducer: Reproducer) -> Self {
        Json { out, reproducer, info: None, open: Open::Nothing }
    }

    fn started(&mut self, info: &RunInfo) -> io::Result<()> {
        #[derive(Serialize)]
        struct Head<'a> {
            tool: &'a str,
            version: &'a str,
            handler: &'a str,
            seed: u64,
            wire: crate::payload::Wire,
            partition: Option<&'a str>,
        }
        let head = Head {
            tool: info.tool,
            version: info.version,
            handler: &info.handler,
            seed: info.seed,
            wire: info.wire,
            partition: info.partition.as_deref(),
        };
        let head = serde_json::to_string(&head)?;
        self.info = Some(info.clone());
        // The header's fields, then the cases' array opens; the object stays open to the end.
        write!(self.out, "{},\n\"cases\":[", head.trim_end_matches('}'))?;
        self.open = Open::Cases { empty: true };
        Ok(())
    }

    /// Starts the next element of the cases' array.
    fn next_case(&mut self) -> io::Result<()> {
        match self.open {
            Open::Cases { empty } => {
                self.out.write_all(if empty { b"\n" } else { b",\n" })?;
                self.open = Open::Cases { empty: false };
                Ok(())
            }
            _ => Err(out_of_order("a case")),
        }
    }

    fn judged(&mut self, case: &CaseReport) -> io::Result<()> {
        self.next_case()?;
        let reproduce = self.reproduce(case, &case.id, &case.request, &case.reproduce)?;
        let shrunk = match &case.shrunk {
            Some(shrunk) => {
                Some(self.reproduce(case, &format!("{}.shrunk", case.id), &shrunk.request, &shrunk.reproduce)?)
            }
            None => None,
        };
        let as_recorded = case.request.body.fits_shown()
            && reproduce == case.reproduce
            && case
                .shrunk
                .as_ref()
                .is_none_or(|s| s.request.body.fits_shown() && Some(&s.reproduce) == shrunk.as_ref());
        if as_recorded {
            // Almost every case: written as the record has it, with no copy.
            return serde_json::to_writer(&mut self.out, case).map_err(io::Error::from);
        }
        // A request too long to show whole, or a command too long for a shell: the case as a
        // document, with those parts replaced. Rare (the oversize cases), so the copy is cheap.
        let mut value = serde_json::to_value(case)?;
        value["request"] = serde_json::to_value(case.request.shown())?;
        value["reproduce"] = Value::String(reproduce);
        if let (Some(shrunk), Some(reproduce)) = (&case.shrunk, shrunk) {
            value["shrunk"]["request"] = serde_json::to_value(shrunk.request.shown())?;
            value["shrunk"]["reproduce"] = Value::String(reproduce);
        }
        serde_json::to_writer(&mut self.out, &value).map_err(io::Error::from)
    }

    /// The command that sends `request` of `case` again. Only a case that did not pass gets a
    /// file beside the report for its long body (within the files' budget); a passing one (an
    /// oversize case a good handler passes) gets the `replay` command instead, so a passing run
    /// leaves no files behind. `recorded` is the command the record holds (see
    /// [`Reproducer::curl`]).
    fn reproduce(
        &mut self,
        case: &CaseReport,
        name: &str,
        request: &HttpRequest,
        recorded: &str,
    ) -> io::Result<String> {
        let info = self.info.as_ref().ok_or_else(|| out_of_order("a case"))?;
        let curl = match inline(request) {
            Some(command) => Some(command),
            None if matches!(case.outcome, CaseOutcome::Pass | CaseOutcome::Known) => None,
            None => self.reproducer.curl(name, request, recorded)?,
        };
        Ok(curl.unwrap_or_else(|| replay(info, &case.id)))
    }

    fn not_run(&mut self, id: &str, index: usize, reason: &str) -> io::Result<()> {
        self.next_case()?;
        let case = json!({ "id": id, "index": index, "outcome": "not-run", "reason": reason });
        serde_json::to_writer(&mut self.out, &case).map_err(io::Error::from)
    }

    /// Closes the cases' array (if still open) and opens the calls no case owns.
    fn unattributed(&mut self) -> io::Result<()> {
        match self.open {
            Open::Cases { .. } => {
                self.out.write_all(b"\n],\n\"unattributed\":[\n")?;
                self.open = Open::Unattributed;
            }
            Open::Unattributed => self.out.write_all(b",\n")?,
            _ => return Err(out_of_order("a call no case owns")),
        }
        Ok(())
    }

    fn ended(&mut self, end: &RunEnd) -> io::Result<()> {
        match self.open {
            Open::Cases { .. } => self.out.write_all(b"\n],\n\"unattributed\":[")?,
            Open::Unattributed => self.out.write_all(b"\n")?,
            Open::Nothing => return Err(out_of_order("the end")),
        }
        self.out.write_all(b"],")?;
        if let Some(baseline) = &end.baseline {
            write!(self.out, "\"baseline\":{},", serde_json::to_string(baseline)?)?;
        }
        if let Some(stopped) = &end.stopped {
            write!(self.out, "\"stopped\":{},", serde_json::to_string(stopped)?)?;
        }
        // The start's notes too (no Chromium for --browser, the mock OAuth client): a program
        // reading the report never saw the terminal.
        let start = self.info.iter().flat_map(|info| info.notes.iter().cloned());
        let mut notes: Vec<String> = start.chain(end.notes.iter().cloned()).collect();
        notes.extend(self.reproducer.last_line());
        write!(
            self.out,
            "\"notes\":{},\n\"summary\":{}}}\n",
            serde_json::to_string(&notes)?,
            serde_json::to_string(&end.summary)?
        )?;
        self.open = Open::Nothing;
        self.out.flush()
    }
}

impl<W: Write> Sink for Json<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match *event {
            Event::Started(info) => self.started(info),
            Event::Answered { .. } => Ok(()),
            Event::Judged(case) => self.judged(case),
            Event::NotRun { id, index, reason } => self.not_run(id, index, reason),
            Event::Unattributed(call) => {
                self.unattributed()?;
                serde_json::to_writer(&mut self.out, call).map_err(io::Error::from)
            }
            Event::Ended(end) => self.ended(end),
        }
    }
}

fn out_of_order(what: &str) -> io::Error {
    io::Error::other(format!("{what} came out of order: the JSON report follows the run's events"))
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::record::SHOWN;
    use crate::record::http::hex;
    use crate::report::{Format, sample};

    #[test]
    fn the_report() {
        insta::assert_snapshot!(sample::golden(Format::Json, &sample::cases()));
    }

    #[test]
    fn one_document_with_a_case_a_line_and_the_summary_last() {
        let text = sample::golden(Format::Json, &sample::cases());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("{\"tool\":\"b24-conform\",\"version\":\"0.1.0\",\"handler\":"), "{text}");
        assert!(lines[0].ends_with(",\"seed\":24,\"wire\":\"split\",\"partition\":null,"), "{text}");
        assert_eq!(lines[1], "\"cases\":[");
        assert!(lines[2].starts_with("{\"id\":\"valid/one\",") && lines[2].ends_with("},"), "{text}");
        assert_eq!(
            lines[5],
            "{\"id\":\"options/later\",\"index\":4,\"outcome\":\"not-run\",\"reason\":\"not run: the handler stopped answering after options/hang\"}"
        );
        assert!(lines.last().expect("a line").starts_with("\"summary\":{\"cases\":4,"), "{text}");
        let json: Value = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(json["cases"].as_array().map(Vec::len), Some(4));
        assert_eq!(json["unattributed"][0]["token"], "foreign");
        assert_eq!(json["stopped"], "the handler stopped answering after options/hang");
        assert_eq!(json["summary"]["failed"], 1);
    }

    #[test]
    fn a_run_without_cases_is_a_document_too() {
        let scratch = sample::Scratch::new("json-empty");
        let out = sample::Shared::default();
        let mut sink = crate::report::sink(Format::Json, Box::new(out.clone()), scratch.beside());
        sink.event(&Event::Started(&sample::info())).expect("written");
        sink.event(&Event::Ended(&sample::end(&[], 0))).expect("written");
        drop(sink);
        let json: Value = serde_json::from_str(&out.text()).expect("one JSON document");
        assert_eq!(
            (json["cases"].as_array().map(Vec::len), json["unattributed"].as_array().map(Vec::len)),
            (Some(0), Some(0))
        );
    }

    #[test]
    fn a_long_request_is_shown_cut_with_its_length_and_digest() {
        let scratch = sample::Scratch::new("json-long");
        let mut case = sample::cases().swap_remove(1);
        case.request.body = vec![b'a'; 2 << 20].into();
        case.reproduce = case.request.to_curl();
        let text = sample::render(Format::Json, &[case], scratch.beside());
        assert!(text.len() < 200 << 10, "{} bytes", text.len());
        let json: Value = serde_json::from_str(&text).expect("one JSON document");
        let request = &json["cases"][0]["request"];
        assert_eq!(request["body"].as_str().map(str::len), Some(SHOWN));
        assert_eq!(request["length"], 2 << 20);
        let digest = hex(&Sha256::digest(vec![b'a'; 2 << 20]));
        assert_eq!(request["sha256"], digest.as_str());
        let reproduce = json["cases"][0]["reproduce"].as_str().expect("a command");
        let file = scratch.0.join(crate::report::BODIES).join("missing.member_id.body");
        assert!(reproduce.ends_with(&format!("--data-binary @'{}'", file.display())), "{reproduce}");
        assert_eq!(std::fs::read(&file).map(|b| b.len()).ok(), Some(2 << 20));
    }

    /// As `merge` reads a partition's report back and writes it again: the request holds only
    /// the start of its body, and is written with the same length, digest and command.
    #[test]
    fn a_long_request_read_back_is_written_again_as_it_was() {
        let first = sample::Scratch::new("json-long-first");
        let mut case = sample::cases().swap_remove(1);
        case.request.body = "é".repeat(1 << 20).into_bytes().into();
        let case = [case];
        let text = sample::render(Format::Json, &case, first.beside());
        let written: Value = serde_json::from_str(&text).expect("one JSON document");
        let read: [CaseReport; 1] = [serde_json::from_value(written["cases"][0].clone()).expect("a case")];
        assert!(!read[0].request.body.is_whole());
        let again = sample::Scratch::new("json-long-again");
        let text = sample::render(Format::Json, &read, again.beside());
        let rewritten: Value = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(rewritten["cases"][0], written["cases"][0]);
        // Every format gives the command the partition wrote, which reads its file.
        assert_eq!(
            sample::render(Format::Junit, &read, again.beside()),
            sample::render(Format::Junit, &case, first.beside())
        );
        assert!(!again.0.join(crate::report::BODIES).exists(), "no file of the body's start");
    }

    #[test]
    fn a_long_request_that_passed_is_replayed_not_written_beside() {
        let scratch = sample::Scratch::new("json-long-pass");
        let mut case = sample::cases().swap_remove(0);
        case.request.body = vec![b'a'; 2 << 20].into();
        let text = sample::render(Format::Json, &[case], scratch.beside());
        let json: Value = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(
            json["cases"][0]["reproduce"],
            "b24-conform replay valid/one --seed 24 --handler 'http://127.0.0.1:9/<script>alert('\\''x'\\'')</script> ```````` ]]> \u{ffff} \u{7} \u{1b}[2J & \"q\"'"
        );
        assert!(!scratch.0.join(crate::report::BODIES).exists(), "no file for a case that passed");
    }
}
