//! `replay`: one case fired again, alone, the way a run fires it (the portal, the handler's
//! command, the installation), through the run's one path, and its exchange told in full for a
//! person: the request as a curl, each redirect, the answer, every call to the portal, the
//! verdicts and the evidence. For reproducing one failure of a long run.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::checks;
use crate::record::{CaseOutcome, CaseReport, Event, FrameRecord, HttpRequest, HttpResponse, PortalCall};
use crate::report::excerpt;
use crate::run::{self, RunConfig, RunError};
use crate::suite::SuiteSource;

/// Why a case could not be replayed (as opposed to a case that failed).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no case {id}; `{list}` shows the ids")]
    NoCase { id: String, list: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot write the request body to {path}: {reason}")]
    BodyFile { path: String, reason: String },
    #[error("cannot print the exchange: {0}")]
    Print(#[from] io::Error),
}

impl ReplayError {
    /// As a run's: 2 for a case that does not exist, 3 for a run that could not happen.
    pub fn exit_code(&self) -> i32 {
        match self {
            ReplayError::NoCase { .. } => 2,
            ReplayError::Run(error) => error.exit_code(),
            ReplayError::BodyFile { .. } | ReplayError::Print(_) => 3,
        }
    }
}

/// A curl longer than this does not go on one command line (`Argument list too long` comes
/// later, but nobody reads it either): its body goes to a file the curl reads.
const INLINE_CURL: usize = 8 * 1024;

/// Bytes of the answer's body shown.
const BODY_SHOWN: usize = 4 * 1024;

/// Replays case `id` of `config`'s suites against its handler and tells its exchange to `out`.
/// Request bodies too long for a command line are written into `body_dir`. Returns the exit
/// code of the case alone: 0 when it passed (or only warned), 1 when it failed, errored, or was
/// not run.
pub async fn replay(config: &RunConfig, id: &str, body_dir: &Path, out: &mut dyn Write) -> Result<u8, ReplayError> {
    let known = match run::catalog(&config.suites, &[id.to_owned()], &config.draw) {
        Ok(mut cases) => cases.any(|c| c.id == id),
        Err(RunError::NoCases(_)) => false,
        Err(error) => return Err(error.into()),
    };
    if !known && id != config.install_form.case_id() {
        return Err(ReplayError::NoCase { id: id.to_owned(), list: list_command(config) });
    }
    // Its id selects the case (an id matches itself as a pattern; a journey's step brings its
    // journey), whichever partition of the run fired it. The run's regressions file, if it names
    // one, is read as the run read it, so that a `group#regression-SEED` id is drawn again.
    let alone = RunConfig { filters: vec![id.to_owned()], partition: None, ..config.clone() };
    writeln!(out, "replay {id} (seed {}) against {}", config.draw.seed, config.handler)?;
    let mut told: Option<Result<u8, ReplayError>> = None;
    let mut unowned = 0;
    let mut observer = |event: &Event<'_>| -> io::Result<()> {
        match event {
            Event::Started(info) => info.notes.iter().try_for_each(|note| writeln!(out, "  {note}"))?,
            Event::Judged(case) if case.id == id && told.is_none() => {
                let failed = matches!(case.outcome, CaseOutcome::Fail | CaseOutcome::Error);
                told = Some(tell(case, body_dir, out).map(|()| u8::from(failed)));
            }
            // An earlier step of its journey stopped the run (--max-failures).
            Event::NotRun { id: not_run, reason, .. } if *not_run == id && told.is_none() => {
                told = Some(writeln!(out, "\nNOT RUN {id}: {reason}").map(|()| 1).map_err(ReplayError::from));
            }
            Event::Unattributed(call) => {
                if unowned == 0 {
                    writeln!(out, "\ncalls no case owns (no token of the run)")?;
                }
                unowned += 1;
                writeln!(out, "  {}", call_line(call))?;
            }
            Event::Ended(end) => end.notes.iter().try_for_each(|note| writeln!(out, "\n{note}"))?,
            _ => {}
        }
        Ok(())
    };
    run::run(&alone, &mut observer).await?;
    let code = told.ok_or_else(|| RunError::NoCases(vec![id.to_owned()]))??;
    writeln!(
        out,
        "\nThe curl above needs the mock portal this replay started (DOMAIN in its URL) and, for a built-in \
         handler, the handler: both stopped with the replay. Replay again to send it again."
    )?;
    Ok(code)
}

/// The `list` command that shows the ids of `config`'s cases.
fn list_command(config: &RunConfig) -> String {
    let mut command = format!("b24-conform list --seed {}", config.draw.seed);
    if let Some(count) = config.draw.count {
        command.push_str(&format!(" --cases {count}"));
    }
    for source in &config.suites {
        if let SuiteSource::File(path) = source {
            command.push_str(&format!(" --suite {}", path.display()));
        }
    }
    command
}

/// Tells one case's exchange, verdicts and evidence.
fn tell(case: &CaseReport, body_dir: &Path, out: &mut dyn Write) -> Result<(), ReplayError> {
    writeln!(out, "  {}", case.title)?;
    writeln!(out, "  expects {}, level {}", case.expect.label(), case.level.label())?;

    writeln!(out, "\nrequest")?;
    write_request(&case.request, &case.id, body_dir, out)?;

    if !case.redirects.is_empty() {
        writeln!(out, "\nredirects")?;
        for redirect in &case.redirects {
            let what = if redirect.followed { "followed" } else { "not followed: the frame leaves for it" };
            writeln!(
                out,
                "  {} Location: {} → {} ({what})",
                redirect.status,
                visible(&redirect.location),
                redirect.to
            )?;
        }
    }

    writeln!(out, "\nresponse")?;
    match (&case.response, &case.error) {
        (Some(response), _) => write_response(response, out)?,
        (None, Some(error)) => writeln!(out, "  none: {error}")?,
        (None, None) => writeln!(out, "  none: the case was not exercised")?,
    }

    writeln!(out, "\nportal calls ({})", case.portal_calls.len())?;
    if case.portal_calls.is_empty() {
        writeln!(out, "  none")?;
    }
    for call in &case.portal_calls {
        writeln!(out, "  {}", call_line(call))?;
    }
    if let Some(frame) = &case.frame {
        tell_frame(frame, out)?;
    }

    writeln!(out, "\nverdicts")?;
    for verdict in &case.checks {
        writeln!(
            out,
            "  {:<13} {:<26} {:<6} {}",
            verdict.outcome.label(),
            verdict.id,
            verdict.level.label(),
            visible(&verdict.message)
        )?;
    }

    writeln!(out, "\nevidence")?;
    let evidence = &case.evidence;
    writeln!(out, "  the case: {} {}\n    “{}”", evidence.kind.label(), evidence.url, evidence.quote)?;
    if let Some(note) = &evidence.note {
        writeln!(out, "    {note}")?;
    }
    for check in case.failures().filter_map(|v| checks::find(v.id)) {
        let e = &check.evidence;
        writeln!(out, "  {}: {} {}\n    “{}”", check.id, e.kind.label(), e.url, e.quote)?;
    }

    if let Some(not_modelled) = &case.not_modelled {
        writeln!(out, "\n{not_modelled}")?;
    }
    writeln!(out, "\n{} {}", case.outcome.label().to_uppercase(), case.id)?;
    Ok(())
}

/// What the case's frame did in the browser (`--browser`): its commands, console errors,
/// exceptions, requests and calls to the portals.
fn tell_frame(frame: &FrameRecord, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\nframe (opened in the browser at {})", frame.page)?;
    match frame.initialised_after_ms {
        Some(ms) => writeln!(out, "  asked for its init data after {ms} ms")?,
        None => writeln!(out, "  never asked for its init data")?,
    }
    for command in &frame.commands {
        let answered = if command.answered { "" } else { " (not answered)" };
        writeln!(out, "  command {} {}{answered}", command.command, visible(&command.params))?;
    }
    for error in &frame.console_errors {
        writeln!(out, "  console.error {}", visible(error))?;
    }
    for exception in &frame.exceptions {
        writeln!(out, "  exception {}", visible(exception))?;
    }
    for request in &frame.requests {
        let outcome = match (&request.failed, request.status) {
            (Some(failed), _) => failed.clone(),
            (None, Some(status)) => status.to_string(),
            (None, None) => "no answer".to_owned(),
        };
        writeln!(out, "  {} {} → {outcome}", request.method, visible(&request.url))?;
    }
    for call in &frame.calls {
        writeln!(out, "  call {}", call_line(call))?;
    }
    Ok(())
}

/// The request as a curl; a body too long for a command line goes to a file in `body_dir`,
/// which the curl reads and the output names.
fn write_request(request: &HttpRequest, id: &str, body_dir: &Path, out: &mut dyn Write) -> Result<(), ReplayError> {
    let inline = request.to_curl();
    if inline.len() <= INLINE_CURL {
        writeln!(out, "  {inline}")?;
        return Ok(());
    }
    let path = body_file(body_dir, id);
    let unwritable = |e: io::Error| ReplayError::BodyFile { path: path.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(body_dir).map_err(unwritable)?;
    std::fs::write(&path, &request.body.bytes).map_err(unwritable)?;
    writeln!(out, "  {}", request.to_curl_reading(&path))?;
    writeln!(out, "  (the body, {} bytes, is in {})", request.body.length, path.display())?;
    Ok(())
}

/// Where the body of case `id`'s request goes: the id made a file name.
fn body_file(dir: &Path, id: &str) -> PathBuf {
    let name: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    dir.join(format!("{name}.body"))
}

fn write_response(response: &HttpResponse, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "  HTTP {} in {} ms", response.status, response.elapsed_ms)?;
    for (name, value) in &response.headers {
        writeln!(out, "  {}: {}", visible(name), visible(value))?;
    }
    let (shown, left_out) = excerpt(&response.body, BODY_SHOWN);
    // What came and what was kept of it: a body past the cap is known by its length and digest.
    let mut about = format!("{} bytes", response.body.length);
    if !response.body.is_whole() {
        about.push_str(&format!(", {} kept", response.body.bytes.len()));
    }
    if let Some(sha256) = &response.body.sha256 {
        about.push_str(&format!(", SHA-256 {sha256}"));
    }
    if let Some(note) = &response.note {
        about.push_str(&format!("; {note}"));
    }
    writeln!(out, "  body ({about}):")?;
    for line in visible(&shown).lines() {
        writeln!(out, "    {line}")?;
    }
    if left_out > 0 {
        writeln!(out, "    … {left_out} more bytes")?;
    }
    Ok(())
}

/// A call, and what a `landing.repo.bind` asked the portal to bind.
fn call_line(call: &PortalCall) -> String {
    match &call.binding {
        Some(binding) => format!("{call}; binds {} to {}", binding.placement, binding.handler),
        None => call.to_string(),
    }
}

/// `text` with its control characters made visible (`\u{0}`), line breaks and tabs kept, so
/// that an answer cannot move the terminal's cursor or hide what it holds.
fn visible(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => shown.push(c),
            '\r' => shown.push_str("\\r"),
            c if c.is_control() => shown.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => shown.push(c),
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_show_and_lines_stay() {
        assert_eq!(visible("a\u{1b}[2Jb\r\nc\td\0"), "a\\u{1b}[2Jb\\r\nc\td\\u{0}");
    }

    #[test]
    fn a_case_id_makes_a_file_name() {
        let path = body_file(Path::new("/tmp/x"), "oversize/PLACEMENT_OPTIONS-1MiB#3");
        assert_eq!(path, Path::new("/tmp/x/oversize_PLACEMENT_OPTIONS-1MiB_3.body"));
    }
}
