//! The `b24-conform` command: arguments → library calls → exit code.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::signal::unix::{SignalKind, signal};

use b24_conform::baseline::Baseline;
use b24_conform::checks::{self, Settings};
use b24_conform::fire::{self, Limits};
use b24_conform::install::InstallForm;
use b24_conform::journey::Action;
use b24_conform::merge::Merged;
use b24_conform::payload::{Family, Wire};
use b24_conform::portal::{OauthClient, Portal, PortalConfig};
use b24_conform::record::{Event, Role};
use b24_conform::reference::Fault;
use b24_conform::replay::{self, ReplayError};
use b24_conform::report::{self, Format, Sink, SinkOptions};
use b24_conform::run::{self, Handler, RunConfig, RunError};
use b24_conform::snapshot::{SnapshotConfig, review};
use b24_conform::suite::{CaseKind, Draw, Partition, SuiteSource};

/// Conformance tests for Bitrix24 placement handlers (LANDING_SETTINGS): plays the portal,
/// fires valid and malformed requests at the handler, and judges every answer.
#[derive(Parser)]
#[command(name = "b24-conform", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fire the suite at a handler and judge every answer (exit 0 all passed, 1 a case failed,
    /// 2 bad usage or input, 3 the run could not happen).
    Run {
        #[command(flatten)]
        run: Box<RunArgs>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Fire one case again, alone, as `run` fires it (the portal, --handler-cmd, the
    /// installation), with `run`'s options, and print its exchange in full: the request as a
    /// curl, the redirects, the answer, the portal calls, the verdicts and the evidence (exit 0
    /// passed, 1 failed, 2 no such case, 3 the run could not happen). Any --partition is ignored.
    Replay {
        /// The case's id, as a run reports it (generated ones too: `malformed/generated#7`).
        #[arg(value_name = "CASE-ID")]
        case: String,
        #[command(flatten)]
        run: Box<RunArgs>,
    },
    /// The cases of the suites, the installation first: id, level, expectation, title, and the
    /// evidence (kind, URL, quote).
    List {
        #[command(flatten)]
        suite: SuiteArgs,
        /// human: a row per case with its evidence; json: one array.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// The checks: id, level (must, should, or the case's), title, and the evidence.
    Checks {
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// The reference handler's faults: name, the check it must trip, at which level, the defect.
    Faults {
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// One case's request, exactly as `run` would send it; the same seed prints the same bytes.
    Payload(PayloadArgs),
    /// Review the snapshots a run wrote with --update-snapshots: show each pending one's diff
    /// (default), accept it (it replaces the stored one) or reject it (it is deleted).
    Review {
        #[arg(value_enum, default_value_t)]
        action: ReviewAction,
        /// The snapshots directory the run used.
        #[arg(long, value_name = "DIR", default_value = "snapshots")]
        snapshots: PathBuf,
        /// Only this case's pending snapshot; repeatable. Default: every pending one.
        #[arg(long = "case", value_name = "ID")]
        cases: Vec<String>,
    },
    /// Join the JSON reports of the partitions of one run (`run --partition K/N --format json`,
    /// one CI job each) into the whole run's report, in any format (exit 0 all passed, 1 a case
    /// failed, 2 the reports are not the partitions 1/N … N/N of one run).
    Merge {
        /// The partitions' JSON reports, in any order.
        #[arg(required = true, value_name = "REPORT.json")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The mock portal alone, with its URLs and the tokens of the catalog's cases.
    Portal {
        /// Where to listen (loopback), named as in `run` and `payload`.
        #[arg(long = "portal-addr", visible_alias = "addr", value_name = "ADDR", default_value = DEFAULT_PORTAL)]
        addr: SocketAddr,
        #[command(flatten)]
        suite: SuiteArgs,
        #[command(flatten)]
        portal: PortalArgs,
    },
}

/// How the mock portal plays the app's Bitrix24.
#[derive(Args)]
struct PortalArgs {
    /// The app's client_id: the OAuth server refreshes tokens only with it (default: one made at
    /// the start and printed; `run` gives it to --handler-cmd as B24_CLIENT_ID).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// The app's client_secret: the OAuth server refreshes tokens only with it (default: one made
    /// at the start and printed; `run` gives it to --handler-cmd as B24_CLIENT_SECRET).
    #[arg(long, value_name = "SECRET")]
    client_secret: Option<String>,
    /// HTTP status of insufficient_scope: 401 as the product raises it for OAuth tokens, or 403
    /// as the docs give it for webhooks.
    #[arg(long, default_value_t = 401, value_parser = parse_scope_status, value_name = "401|403")]
    insufficient_scope_status: u16,
}

impl PortalArgs {
    fn config(&self) -> PortalConfig {
        let made = OauthClient::default();
        PortalConfig {
            client: OauthClient {
                id: self.client_id.clone().unwrap_or(made.id),
                secret: self.client_secret.clone().unwrap_or(made.secret),
            },
            insufficient_scope_status: self.insufficient_scope_status,
        }
    }
}

fn parse_scope_status(text: &str) -> Result<u16, String> {
    match text {
        "401" => Ok(401),
        "403" => Ok(403),
        _ => Err(format!("{text:?}: give 403 (the documentation) or 401 (the product's source)")),
    }
}

/// Where `portal` listens and what `payload` points DOMAIN at, so the two work together.
const DEFAULT_PORTAL: &str = "127.0.0.1:48624";

#[derive(Args)]
struct SuiteArgs {
    /// A suite file (TOML); repeatable. Without --suite the run uses the built-in LANDING_SETTINGS
    /// catalog; suite files replace it, unless `--suite builtin` names it too: `--suite builtin
    /// --suite mine.toml` adds mine.toml's cases to it.
    #[arg(long = "suite", value_name = "FILE|builtin", value_parser = parse_suite)]
    suites: Vec<SuiteSource>,
    /// The built-in catalog of a placement: LANDING_SETTINGS (the default) or LANDING_BLOCK
    /// (LANDING_BLOCK_*, = --suite suites/landing_block.toml); repeatable, and added to --suite's.
    #[arg(long = "placement", value_name = "NAME", value_parser = parse_placement)]
    placements: Vec<Family>,
    /// Select cases by id glob (`*`, `?`); repeatable; a leading `!` excludes.
    #[arg(long, value_name = "PATTERN")]
    filter: Vec<String>,
    /// Seed of the generated cases, decimal or hex (0x18): the same seed gives the same cases,
    /// ids and payloads.
    #[arg(long, default_value_t = 24, value_parser = whole_number, allow_negative_numbers = true)]
    seed: u64,
    /// How many cases each generated group draws (default: the suite's `count`).
    #[arg(long, value_name = "N", value_parser = count, allow_negative_numbers = true)]
    cases: Option<usize>,
}

impl SuiteArgs {
    fn sources(&self) -> Vec<SuiteSource> {
        let placements = self.placements.iter().map(|&family| SuiteSource::Builtin(family));
        let sources: Vec<SuiteSource> = self.suites.iter().cloned().chain(placements).collect();
        if sources.is_empty() { vec![SuiteSource::Builtin(Family::Settings)] } else { sources }
    }

    fn draw(&self) -> Draw {
        Draw { seed: self.seed, count: self.cases, replay: Vec::new() }
    }
}

#[derive(Args)]
struct RunArgs {
    /// The handler under test: an http(s) URL, or builtin:reference[?fault=NAME].
    #[arg(long, default_value = "builtin:reference", value_parser = parse_handler)]
    handler: Handler,
    #[command(flatten)]
    suite: SuiteArgs,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = jobs, allow_negative_numbers = true)]
    jobs: u16,
    /// Time allowed for one answer, body included; each redirect followed gets as long again.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = milliseconds, allow_negative_numbers = true)]
    timeout_ms: u64,
    /// Bytes of each answer body kept; longer bodies are cut and marked truncated.
    #[arg(long, default_value_t = 1 << 20, value_name = "N", value_parser = bytes, allow_negative_numbers = true)]
    body_cap: usize,
    /// How the fields travel: split (as Bitrix24: query + form body), form, json.
    #[arg(long, value_enum, default_value_t)]
    wire: Wire,
    /// Where the mock portal listens; port 0 takes a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    portal_addr: SocketAddr,
    #[command(flatten)]
    portal: PortalArgs,
    /// The app's installation handler: Bitrix24's ONAPPINSTALL is fired there first, and the
    /// cases then go to the LANDING_SETTINGS handler it binds (the built-in handler has one).
    #[arg(long, value_name = "URL")]
    install_url: Option<url::Url>,
    /// How the installation reaches the app: the ONAPPINSTALL event (apps that use only the API)
    /// or the installation page's POST in a frame (apps with a page).
    #[arg(long, value_enum, default_value_t)]
    install_as: InstallForm,
    /// Serve the mock portal over https (PROTOCOL=1), as the official SDKs require, with a CA
    /// made for the run; the CA's file is printed on stderr and given to --handler-cmd.
    #[arg(long)]
    portal_tls: bool,
    /// Start the handler with `sh -c CMD` before the run, and stop it, with every process it
    /// started, after. It gets B24_PORTAL_URL, B24_OAUTH_URL and B24_MEMBER_ID, with
    /// --portal-tls or --intercept the CA in SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
    /// NODE_EXTRA_CA_CERTS, CURL_CA_BUNDLE, and with --intercept the proxy in HTTPS_PROXY and
    /// HTTP_PROXY (both cases). Needs --handler URL.
    #[arg(long, value_name = "CMD")]
    handler_cmd: Option<String>,
    /// Let the handler reach the portal as it does Bitrix24, by name over https: DOMAIN is
    /// portal-1.bitrix24.test, SERVER_ENDPOINT https://oauth.bitrix.info/rest/, and --handler-cmd
    /// gets HTTPS_PROXY/HTTP_PROXY pointing at a loopback proxy of the run's, which serves those
    /// hosts (and oauth.bitrix24.tech) from the mocks with the run's CA and refuses any other.
    #[arg(long)]
    intercept: bool,
    /// Trust the CA certificate(s) in FILE (PEM) for an https --handler, besides the system's
    /// roots: a handler served with a development CA of its own (mkcert's rootCA.pem).
    #[arg(long, value_name = "FILE", value_parser = parse_handler_ca)]
    handler_ca: Option<String>,
    /// How long the --handler-cmd handler has to accept connections at --handler.
    #[arg(long, default_value_t = 30_000, value_name = "N", value_parser = milliseconds, allow_negative_numbers = true)]
    handler_wait_ms: u64,
    /// The `latency-budget` check fails (as a warning) an answer slower than this.
    #[arg(long, default_value_t = 3_000, value_name = "N", value_parser = milliseconds, allow_negative_numbers = true)]
    latency_budget_ms: u64,
    /// Failures at level should (warnings) fail the run too; cases the harness did not model
    /// still do not.
    #[arg(long)]
    strict: bool,
    /// A generated case that fails the run (at level must) is shrunk to the smallest request
    /// that still fails, trying at most N candidates (0: not shrunk)...
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = count, allow_negative_numbers = true)]
    shrink_budget: usize,
    /// ...for at most N milliseconds per case; the report says when shrinking stopped early.
    #[arg(long, default_value_t = 5_000, value_name = "N", value_parser = milliseconds, allow_negative_numbers = true)]
    shrink_time_ms: u64,
    /// Stop firing new cases once N cases failed the run; the cases in flight finish, the rest
    /// are reported as not run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_failures: Option<u64>,
    /// --max-failures 1.
    #[arg(long, conflicts_with = "max_failures")]
    fail_fast: bool,
    /// Record the generated draws that fail in FILE, and draw the draws FILE holds again
    /// (those the run's seed does not draw anyway, after their group's). Default: nothing read
    /// or written.
    #[arg(long, value_name = "FILE")]
    regressions: Option<PathBuf>,
    /// The default, kept for scripts that said so: no regressions file is read or written.
    #[arg(long = "no-regressions", hide = true, conflicts_with = "regressions")]
    _no_regressions: bool,
    /// Run part K of N of the plan (the cases whose index leaves K-1 divided by N; a journey
    /// whole), for N machines at once; every part installs the app, part 1 reports it.
    #[arg(long, value_name = "K/N")]
    partition: Option<Partition>,
    /// Compare each exchange with its reviewed snapshot, DIR/<case-id>.snap (the `snapshot`
    /// check); a case without one is reported as new.
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Write DIR/<case-id>.snap.new for each snapshot that is new or differs, for
    /// `b24-conform review` (or `cargo insta review`).
    #[arg(long, requires = "snapshots")]
    update_snapshots: bool,
    /// Also redact what REGEX matches in snapshots (only its capture groups, if it has any);
    /// repeatable. Ports, times, UUIDs, tokens, nonces and CSRF values are always redacted.
    #[arg(long, value_name = "REGEX", value_parser = parse_regex, requires = "snapshots")]
    redact: Vec<regex::Regex>,
    /// Known deviations (TOML: case, check, reason, expires): their failures are reported but
    /// do not fail the run; entries that no longer fail are reported as fixed.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Also open each accepted placement case (and the installation page, --install-as frame) in
    /// headless Chromium as Bitrix24 opens it: a portal page on the mock portal's origin posts the
    /// case into the app's frame and answers the frame protocol (getInitData with the case's
    /// tokens, refreshAuth…), and what the frame did (commands, console errors, exceptions,
    /// requests, REST calls from the browser, a screenshot) is judged by the frame checks and
    /// shown in the reports. Needs Chromium (Debian: apt-get install chromium), found on PATH or
    /// at B24_CHROMIUM; without it the run says so once and skips the frame checks. The browser
    /// reaches only loopback.
    #[arg(long)]
    browser: bool,
    /// Rewrite the --baseline file from this run: its failures in, fixed entries out (reasons
    /// and dates of kept entries stay). The run is judged against the file as it was.
    #[arg(long, requires = "baseline")]
    baseline_update: bool,
}

/// Where a report goes, and in which formats: a run's, or the merge of a partitioned run's.
#[derive(Args)]
struct OutputArgs {
    /// The report's format, on standard output (or in --out FILE).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write the report to FILE instead of standard output (written whole or not at all).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the report in FORMAT to FILE, e.g. junit=report.xml; repeatable, each file
    /// written whole or not at all.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report_file)]
    reports: Vec<(Format, PathBuf)>,
    /// Colour the human report: auto = when standard output is a terminal (and NO_COLOR is
    /// not set).
    #[arg(long, value_enum, default_value_t)]
    color: ColorChoice,
}

impl OutputArgs {
    /// A writer for each report asked for, each file opened in `outputs` (a path that cannot be
    /// written is found before any report is).
    fn sinks(&self, outputs: &mut Outputs) -> anyhow::Result<Vec<Box<dyn Sink + Send>>> {
        let colour = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                self.out.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let mut sinks = Vec::new();
        match &self.out {
            Some(path) => {
                let file = outputs.open("--out", path)?;
                sinks.push(report::sink(self.format, file, SinkOptions { colour, beside: Some(beside(path)) }));
            }
            None => {
                sinks.push(report::sink(self.format, Box::new(std::io::stdout()), SinkOptions { colour, beside: None }))
            }
        }
        for (format, path) in &self.reports {
            let file = outputs.open("--report", path)?;
            sinks.push(report::sink(*format, file, SinkOptions { colour: false, beside: Some(beside(path)) }));
        }
        Ok(sinks)
    }
}

impl RunArgs {
    /// The run these arguments describe (`run`, and `replay` for one case of it); the baseline
    /// file is read here.
    fn config(&self) -> anyhow::Result<RunConfig> {
        let baseline = match &self.baseline {
            Some(path) => Some(Baseline::load(path, self.baseline_update)?),
            None => None,
        };
        Ok(RunConfig {
            handler: self.handler.clone(),
            suites: self.suite.sources(),
            filters: self.suite.filter.clone(),
            draw: self.suite.draw(),
            jobs: usize::from(self.jobs),
            limits: Limits { timeout: Duration::from_millis(self.timeout_ms), body_cap: self.body_cap },
            wire: self.wire,
            portal_addr: self.portal_addr,
            portal: self.portal.config(),
            install_url: self.install_url.clone(),
            install_form: self.install_as,
            portal_tls: self.portal_tls,
            handler_cmd: self.handler_cmd.clone(),
            intercept: self.intercept,
            handler_wait: Duration::from_millis(self.handler_wait_ms),
            settings: Settings { latency_budget: Duration::from_millis(self.latency_budget_ms), strict: self.strict },
            shrink_budget: self.shrink_budget,
            shrink_time: Duration::from_millis(self.shrink_time_ms),
            max_failures: if self.fail_fast { Some(1) } else { self.max_failures.map(|n| n as usize) },
            baseline,
            baseline_update: self.baseline_update,
            regressions: self.regressions.clone(),
            partition: self.partition,
            snapshots: self.snapshots.clone().map(|dir| SnapshotConfig {
                dir,
                update: self.update_snapshots,
                redact: self.redact.clone(),
            }),
            handler_ca: self.handler_ca.clone(),
            browser: self.browser,
        })
    }
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum ReviewAction {
    /// Show what accepting each pending snapshot would change.
    #[default]
    Diff,
    /// Make each pending snapshot the stored one.
    Accept,
    /// Delete each pending snapshot.
    Reject,
}

#[derive(Args)]
struct PayloadArgs {
    /// The case id, as `list` and `run` show it.
    #[arg(long)]
    case: String,
    /// The suites, seed and generated counts of the run that named the case.
    #[command(flatten)]
    suite: SuiteArgs,
    /// What to print: the request as a curl command, or its fields.
    #[arg(long = "as", value_enum, default_value_t)]
    shape: PayloadShape,
    /// The handler URL the curl command targets.
    #[arg(long, default_value = "http://127.0.0.1:8080/")]
    handler: url::Url,
    /// The portal the payload points at (DOMAIN, SERVER_ENDPOINT), as `portal --portal-addr`.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_PORTAL)]
    portal_addr: SocketAddr,
    /// How the fields travel: split (as Bitrix24: query + form body), form, json.
    #[arg(long, value_enum, default_value_t)]
    wire: Wire,
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum ListFormat {
    #[default]
    Human,
    Json,
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum PayloadShape {
    /// A curl command that sends the request to --handler.
    #[default]
    Curl,
    /// The fields as one urlencoded form.
    Form,
    /// The fields as a JSON object.
    Json,
}

/// A whole number, 0 or more, in decimal or in hex (`0x10`, as the regressions file prints
/// seeds). A negative one is named as such: clap alone would take `-1` for a flag.
fn whole_number(text: &str) -> Result<u64, String> {
    if text.starts_with('-') {
        return Err(format!("{text} is negative; give a whole number, 0 or more"));
    }
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("{text:?} is not a whole number ({e}); give e.g. 24, or 0x18 in hex"))
}

/// A count of cases or candidates; 0 is allowed (no generated case, no shrinking).
fn count(text: &str) -> Result<usize, String> {
    usize::try_from(whole_number(text)?).map_err(|e| e.to_string())
}

/// Cases in flight at once.
fn jobs(text: &str) -> Result<u16, String> {
    match whole_number(text)? {
        n @ 1..=1024 => Ok(n as u16),
        n => Err(format!("{n} cases in flight: give 1 to 1024")),
    }
}

/// A time limit in milliseconds. 0 would end every wait before it starts (every case an error),
/// so it is refused here rather than found out after the run.
fn milliseconds(text: &str) -> Result<u64, String> {
    match whole_number(text)? {
        0 => Err("0 ms ends every wait before it starts; give a positive number of milliseconds".into()),
        n => Ok(n),
    }
}

/// A size in bytes; 0 would keep no body at all, so no check could read one.
fn bytes(text: &str) -> Result<usize, String> {
    match count(text)? {
        0 => Err("0 bytes keeps no answer body, so no check could read one; give a positive number of bytes".into()),
        n => Ok(n),
    }
}

/// `builtin` is the catalog compiled into the binary (a file of that name is `./builtin`).
fn parse_suite(text: &str) -> Result<SuiteSource, String> {
    Ok(match text {
        "builtin" => SuiteSource::Builtin(Family::Settings),
        path => SuiteSource::File(PathBuf::from(path)),
    })
}

/// A placement family by its code or its suite's name, in any case.
fn parse_placement(text: &str) -> Result<Family, String> {
    Family::from_name(text).ok_or_else(|| {
        let known = Family::ALL.map(|f| f.code().trim_end_matches("_*")).join(", ");
        format!("unknown placement `{text}`; the placements with a built-in catalog are: {known}")
    })
}

/// The PEM of `--handler-ca FILE`, read and tried here, so that a wrong file is named before
/// the run rather than as a certificate error on every case.
fn parse_handler_ca(path: &str) -> Result<String, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA's certificate"
        ));
    }
    fire::client_also_trusting(&pem).map_err(|e| {
        let causes = std::iter::successors(std::error::Error::source(&e), |cause| cause.source());
        let reason = causes.fold(e.to_string(), |reason, cause| format!("{reason}: {cause}"));
        format!("{path} is not a usable CA certificate: {reason}")
    })?;
    Ok(pem)
}

fn parse_handler(text: &str) -> Result<Handler, String> {
    text.parse()
}

fn parse_regex(text: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(text).map_err(|e| e.to_string())
}

fn parse_report_file(text: &str) -> Result<(Format, PathBuf), String> {
    let formats =
        || Format::value_variants().iter().filter_map(|f| f.to_possible_value()).map(|v| v.get_name().to_owned());
    let example = "give FORMAT=FILE, e.g. --report junit=report.xml";
    let (name, path) = text.split_once('=').ok_or_else(|| format!("no `=` in {text:?}; {example}"))?;
    let format = Format::from_str(name, true).map_err(|_| {
        format!("unknown format {name:?}; the formats are {}; {example}", formats().collect::<Vec<_>>().join(", "))
    })?;
    if path.is_empty() {
        return Err(format!("no file after `=` in {text:?}; {example}"));
    }
    Ok((format, PathBuf::from(path)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => ExitCode::from(code),
        // The reader of standard output went away (`| head`): it has what it wanted. End
        // quietly with the status a shell gives a tool that SIGPIPE killed, so that under
        // `set -o pipefail` a cut report is never taken for a passing run.
        Err(error) if closed_pipe(&error) => ExitCode::from(CLOSED_PIPE),
        Err(error) => {
            eprintln!("error: {error:#}");
            let code = (error.downcast_ref::<RunError>().map(RunError::exit_code))
                .or_else(|| error.downcast_ref::<ReplayError>().map(ReplayError::exit_code))
                .unwrap_or(2);
            ExitCode::from(code as u8)
        }
    }
}

/// The exit status of a command whose standard output was closed early: 128 + SIGPIPE.
const CLOSED_PIPE: u8 = 141;

fn closed_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

async fn execute(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run { run, output } => run_command(*run, output).await,
        Command::Replay { case, run } => {
            let body_dir = std::env::temp_dir().join("b24-conform-replay");
            Ok(replay::replay(&run.config()?, &case, &body_dir, &mut std::io::stdout().lock()).await?)
        }
        Command::List { suite, format } => {
            let cases = run::catalog(&suite.sources(), &suite.filter, &suite.draw())?;
            print_rows(cases, format, |c| {
                let e = &c.evidence;
                let head = format!("{:<36} {:<6} {:<8} {}", c.id, c.level.label(), c.expect.label(), c.title);
                with_evidence(head, 53, &e.quote, e.kind.label(), &e.url)
            })
        }
        Command::Checks { format } => print_rows(checks::ALL, format, |c| {
            let e = &c.evidence;
            with_evidence(
                format!("{:<26} {:<8} {}", c.id, c.level.label(), c.title),
                36,
                e.quote,
                e.kind.label(),
                e.url,
            )
        }),
        Command::Faults { format } => {
            let specs: Vec<_> = Fault::ALL.iter().map(|f| f.spec()).collect();
            print_rows(&specs, format, |f| {
                let seen = if f.browser { " (seen with --browser)" } else { "" };
                format!("{:<28} {:<16} {:<26} {:<6} {}{seen}", f.name, f.placement, f.check, f.level.label(), f.defect)
            })
        }
        Command::Payload(args) => payload_command(args),
        Command::Review { action, snapshots, cases } => review_command(action, &snapshots, &cases),
        Command::Merge { files, output } => merge_command(&files, &output),
        Command::Portal { addr, suite, portal } => portal_command(addr, suite, portal.config()).await,
    }
}

async fn run_command(args: RunArgs, output: OutputArgs) -> anyhow::Result<u8> {
    let config = args.config()?;
    // Every report file is opened before the run, so a path that cannot be written is bad usage
    // found before anything runs, not after minutes of it.
    let mut outputs = Outputs::default();
    let mut sinks = output.sinks(&mut outputs)?;
    let progress = progress_bar()?;
    let mut observer = |event: &Event<'_>| -> std::io::Result<()> {
        match event {
            Event::Started(info) => progress.suspend(|| info.notes.iter().for_each(|note| eprintln!("{note}"))),
            Event::Answered { id, done, total } => {
                progress.set_length(*total as u64);
                progress.set_position(*done as u64);
                progress.set_message(id.to_string());
            }
            Event::Ended(_) => progress.finish_and_clear(),
            _ => {}
        }
        sinks.iter_mut().try_for_each(|sink| sink.event(event))
    };
    // The handler of --handler-cmd runs in its own process group, out of reach of the
    // terminal's Ctrl-C and of a signal sent to us alone: dropping the run stops it. The
    // partial report files go with it (`outputs` removes them).
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    let ended = tokio::select! {
        ended = run::run(&config, &mut observer) => ended,
        Ok(()) = tokio::signal::ctrl_c() => {
            progress.finish_and_clear();
            eprintln!("interrupted");
            return Ok(130);
        }
        Some(()) = terminate.recv() => {
            progress.finish_and_clear();
            eprintln!("terminated");
            return Ok(143);
        }
    };
    progress.finish_and_clear();
    let end = ended?;
    drop(sinks);
    let files = outputs.keep()?;
    for note in &end.notes {
        eprintln!("{note}");
    }
    if !files.is_empty() {
        let summary = &end.summary;
        let seconds = summary.duration_ms as f64 / 1000.0;
        let line = summary.line(end.baseline.is_some());
        eprintln!("{line} (seed {}, {seconds:.2} s); report in {}", config.draw.seed, files.join(", "));
    }
    match &end.stopped {
        Some(stopped) => eprintln!("{stopped}"),
        None if !end.answered && end.summary.errored > 0 => eprintln!("the handler never answered any case"),
        None => {}
    }
    Ok(end.exit_code())
}

/// The directory of `path`, where files beside its report go.
fn beside(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
}

/// The report files of a run, written to `.NAME.partial` beside each and renamed into place
/// when the run ends: a reader never sees half a report, an earlier report survives a failed
/// run, and a run that ends early (an error, Ctrl-C) leaves no partial file behind.
#[derive(Default)]
struct Outputs {
    /// Each file's partial path and final path.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Outputs {
    /// Creates `path`'s partial file, for `flag`.
    fn open(&mut self, flag: &str, path: &Path) -> anyhow::Result<Box<dyn Write + Send>> {
        let file_name = path.file_name().with_context(|| format!("{flag} {}: not a file path", path.display()))?;
        let partial = path.with_file_name(format!(".{}.partial", file_name.to_string_lossy()));
        let file =
            std::fs::File::create(&partial).with_context(|| format!("{flag} {}: cannot write", path.display()))?;
        self.files.push((partial, path.to_owned()));
        Ok(Box::new(std::io::BufWriter::new(file)))
    }

    /// Renames every partial file into place; the files' names.
    fn keep(mut self) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        for (partial, path) in std::mem::take(&mut self.files) {
            std::fs::rename(&partial, &path).with_context(|| format!("{}: cannot replace", path.display()))?;
            names.push(path.display().to_string());
        }
        Ok(names)
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for (partial, _) in &self.files {
            let _ = std::fs::remove_file(partial);
        }
    }
}

/// A progress bar on standard error when it is a terminal outside CI; hidden otherwise, so
/// no log ever holds a frame of it.
fn progress_bar() -> anyhow::Result<ProgressBar> {
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    if in_ci || !std::io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    // The length is known once the cases are selected: the first answer sets it.
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{bar:32} {pos}/{len} cases {elapsed} {wide_msg}")
        .map_err(|e| anyhow::anyhow!("progress bar template: {e}"))?
        .progress_chars("=> ");
    bar.set_style(style);
    Ok(bar)
}

fn review_command(action: ReviewAction, dir: &Path, cases: &[String]) -> anyhow::Result<u8> {
    let pending: Vec<_> =
        review::pending(dir)?.into_iter().filter(|p| cases.is_empty() || cases.contains(&p.id)).collect();
    if let Some(missing) = cases.iter().find(|id| !pending.iter().any(|p| &p.id == *id)) {
        bail!("--case {missing:?}: no pending snapshot in {}", dir.display());
    }
    let mut out = std::io::stdout().lock();
    if pending.is_empty() {
        writeln!(out, "No pending snapshots in {}.", dir.display())?;
        return Ok(0);
    }
    for snapshot in &pending {
        match action {
            ReviewAction::Diff => {
                writeln!(out, "# {} ({})\n{}", snapshot.id, snapshot.pending.display(), snapshot.diff()?)?
            }
            ReviewAction::Accept => {
                snapshot.accept()?;
                writeln!(out, "accepted {}", snapshot.stored.display())?;
            }
            ReviewAction::Reject => {
                snapshot.reject()?;
                writeln!(out, "rejected {}", snapshot.pending.display())?;
            }
        }
    }
    if let ReviewAction::Diff = action {
        writeln!(out, "{} pending; `b24-conform review accept` or `reject` (with --case ID to pick)", pending.len())?;
    }
    Ok(0)
}

fn payload_command(args: PayloadArgs) -> anyhow::Result<u8> {
    let suite = &args.suite;
    let mut cases = run::catalog(&suite.sources(), &suite.filter, &suite.draw())?;
    let Some(case) = cases.find(|c| c.id == args.case) else {
        bail!("--case {:?}: no such case; `b24-conform list` shows the ids", args.case);
    };
    let foreign = run::foreign_addr(args.portal_addr);
    let binding = Portal::binding_at(args.portal_addr, foreign);
    let request = case.request(&args.handler, &binding, args.wire);
    // A placement's fields travel split between the query string and the body; the
    // installation's and the journeys' events are their whole form body.
    let fields: Vec<(String, String)> = match case.kind {
        CaseKind::Placement | CaseKind::Step(Action::Case) => {
            case.fields(&binding).into_iter().map(|f| (f.name, f.value)).collect()
        }
        CaseKind::Install(_) | CaseKind::Step(_) => {
            url::form_urlencoded::parse(&request.body.bytes).into_owned().collect()
        }
    };
    let text = match args.shape {
        PayloadShape::Curl => request.to_curl(),
        PayloadShape::Form => url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish(),
        PayloadShape::Json => {
            let fields = fields.into_iter().map(|(name, value)| (name, serde_json::Value::String(value)));
            serde_json::to_string_pretty(&serde_json::Value::Object(fields.collect()))?
        }
    };
    writeln!(std::io::stdout(), "{text}")?;
    Ok(0)
}

async fn portal_command(addr: SocketAddr, suite: SuiteArgs, config: PortalConfig) -> anyhow::Result<u8> {
    let cases = run::select(&suite.sources(), &suite.filter, &suite.draw())?;
    let portal = Portal::start_as(addr, Role::Home, config, None)
        .await
        .map_err(|e| RunError::Portal { addr, reason: e.to_string() })?;
    let mut example = None;
    for (owner, (_, case)) in cases.iter().enumerate() {
        portal.grant(owner, &case.payload.auth_id, &case.payload.refresh_id, case.token, None);
        if example.is_none() && case.token == b24_conform::suite::TokenState::Valid {
            example = Some(case);
        }
    }
    let example = example.context("the suite has no case with a valid token")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Mock Bitrix24 portal at {}", portal.origin())?;
    writeln!(out, "  REST        {}", portal.rest_url())?;
    let client = portal.client();
    writeln!(out, "  OAuth       {}", portal.oauth_url())?;
    writeln!(out, "  server      {} (SERVER_ENDPOINT: the OAuth server's REST)", portal.server_endpoint())?;
    writeln!(out, "  client      client_id={} client_secret={}", client.id, client.secret)?;
    writeln!(out, "  member_id   {}", portal.member_id())?;
    writeln!(out, "  tokens      the {} cases' AUTH_ID/REFRESH_ID (`b24-conform payload --case ID`)", cases.len())?;
    writeln!(out, "  AUTH_ID     {} ({})", example.payload.auth_id, example.id)?;
    writeln!(out, "  REFRESH_ID  {}", example.payload.refresh_id)?;
    writeln!(out, "  try         curl '{}user.current.json?auth={}'", portal.rest_url(), example.payload.auth_id)?;
    writeln!(out, "Ctrl-C stops it.")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    Ok(0)
}

/// Prints `rows` to stdout, one `line` each, or as one JSON array, each row as it comes (a
/// listing of generated cases is drawn as it is printed). A write error (a reader that stopped
/// early, `list | head`) is returned, never a panic as `println!` would.
fn print_rows<T: serde::Serialize>(
    rows: impl IntoIterator<Item = T>,
    format: ListFormat,
    line: impl Fn(&T) -> String,
) -> anyhow::Result<u8> {
    use serde::Serializer;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        ListFormat::Human => rows.into_iter().try_for_each(|row| writeln!(out, "{}", line(&row)))?,
        ListFormat::Json => {
            serde_json::Serializer::pretty(&mut out).collect_seq(rows).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(0)
}

/// `merge`: the partitions' reports joined, streamed into a writer for each report asked for.
fn merge_command(files: &[PathBuf], output: &OutputArgs) -> anyhow::Result<u8> {
    let merged = Merged::read(files)?;
    let mut outputs = Outputs::default();
    let mut sinks = output.sinks(&mut outputs)?;
    let code = merged.stream(&mut |event: &Event<'_>| sinks.iter_mut().try_for_each(|sink| sink.event(event)))?;
    drop(sinks);
    outputs.keep()?;
    Ok(code)
}

/// A row of `list` or `checks`, then its evidence under it, indented by `indent`: the quote, and
/// the kind of source with its URL.
fn with_evidence(row: String, indent: usize, quote: &str, kind: &str, url: &str) -> String {
    format!("{row}\n{:indent$}“{quote}”\n{:indent$}{kind}: {url}", "", "")
}
