//! Hostile handlers, each a test: a small server in this file misbehaves in one way on every
//! request, and a whole run of the binary against it must hold its line: the exit code the kind
//! deserves, every affected case failed or errored with a message naming what happened, a JSON
//! report that parses, no panic, a peak RSS under 128 MiB and a wall time within
//! `--timeout-ms × cases / --jobs + 5 s`.
//!
//! Exit 3 is for the kinds where no HTTP exchange ever works (silence, a dropped connection,
//! another protocol): the run could not judge anything.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Scratch, free_port};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT_MS: u64 = 1000;
const JOBS: u64 = 8;
/// The cases most kinds are run on: accept, tolerate and reject cases, none generated (a failing
/// generated case is shrunk, which is no part of these lines).
const CASES: &[&str] = &["--filter", "valid/*", "--filter", "!valid/generated*", "--filter", "missing/*"];
const PAGE: &str = "<!doctype html><html><body><h1>Settings</h1></body></html>";
/// Peak RSS allowed for the run, in KiB.
const MAX_RSS_KIB: i64 = 128 * 1024;

/// What a hostile handler does with each request it reads.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// Reads the request and says nothing.
    NoAnswer,
    /// Sends its status line and headers one byte a second.
    SlowHeaders,
    /// Sends its headers at once, then the body one byte every 200 ms.
    SlowBody,
    /// Resets the connection (TCP RST) instead of answering.
    Reset,
    /// Closes the connection instead of answering.
    Close,
    /// Announces 100 bytes of body, sends 40 and closes.
    ShortBody,
    /// A chunked body that never ends.
    EndlessChunked,
    /// A 1 MiB header line.
    HugeHeader,
    /// 10 000 headers.
    ManyHeaders,
    /// `HTTP/1.1 999`.
    Status999,
    /// Binary bytes where a status line belongs.
    Garbage,
    /// An HTTP/0.9 answer: the page, no status line.
    Http09,
    /// A page that says charset=utf-8 with bytes that are not, and a NUL.
    GarbledHtml,
    /// `302` to `/loop`, which answers `302` to `/loop`.
    RedirectLoop,
    /// `302` to another address (a loopback port of its own, which records any connection).
    RedirectAway(u16),
    /// Announces fewer bytes than it sends on a kept-alive connection; the bytes after them are a
    /// whole `500` answer, which must never become the next case's answer.
    LyingLength,
    /// A gzip body of 1 KiB that decodes to 1 GiB of NUL bytes.
    GzipBomb,
    /// TLS bytes (an alert) on the plain-http port.
    TlsBytes,
}

impl Hostile {
    /// Answers the request just read, the hostile way; whether the connection serves the next.
    async fn answer(self, socket: &mut TcpStream) -> std::io::Result<bool> {
        let page = |status: &str, extra: &str, body: &[u8]| {
            let mut answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n{extra}content-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            answer.extend_from_slice(body);
            answer
        };
        match self {
            Hostile::NoAnswer => tokio::time::sleep(Duration::from_secs(60)).await,
            Hostile::SlowHeaders => {
                for byte in page("200 OK", "", PAGE.as_bytes()) {
                    socket.write_all(&[byte]).await?;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Hostile::SlowBody => {
                let answer = page("200 OK", "", PAGE.as_bytes());
                let at = answer.len() - PAGE.len();
                socket.write_all(&answer[..at]).await?;
                for byte in &answer[at..] {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    socket.write_all(&[*byte]).await?;
                }
            }
            Hostile::Reset => socket.set_zero_linger()?,
            Hostile::Close => {}
            Hostile::ShortBody => {
                let answer = page("200 OK", "", &[b'x'; 100]);
                socket.write_all(&answer[..answer.len() - 60]).await?;
            }
            Hostile::EndlessChunked => {
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await?;
                let chunk = [b"2000\r\n".as_slice(), &[b'x'; 0x2000], b"\r\n"].concat();
                loop {
                    socket.write_all(&chunk).await?;
                }
            }
            Hostile::HugeHeader => {
                let line = format!("x-huge: {}\r\n", "a".repeat(1 << 20));
                socket.write_all(&page("200 OK", &line, PAGE.as_bytes())).await?;
            }
            Hostile::ManyHeaders => {
                let lines: String = (0..10_000).map(|i| format!("x-h{i}: v\r\n")).collect();
                socket.write_all(&page("200 OK", &lines, PAGE.as_bytes())).await?;
            }
            Hostile::Status999 => {
                socket.write_all(&page("999 Odd", "", PAGE.as_bytes())).await?;
                return Ok(true);
            }
            Hostile::Garbage => socket.write_all(&[0x00, 0xff, 0x13, 0x37, 0x80, 0x01, 0xfe, 0x7f, 0x00, 0x00]).await?,
            Hostile::Http09 => socket.write_all(PAGE.as_bytes()).await?,
            Hostile::GarbledHtml => {
                socket.write_all(&page("200 OK", "", b"<html><body>caf\xe9 \x00 \xff\xfe</body></html>")).await?;
                return Ok(true);
            }
            Hostile::RedirectLoop => {
                socket.write_all(&page("302 Found", "location: /loop\r\n", b"")).await?;
                return Ok(true);
            }
            Hostile::RedirectAway(port) => {
                let location = format!("location: http://127.0.0.1:{port}/elsewhere\r\n");
                socket.write_all(&page("302 Found", &location, b"")).await?;
                return Ok(true);
            }
            Hostile::LyingLength => {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 15\r\n\r\n{PAGE}\
                     HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                );
                socket.write_all(answer.as_bytes()).await?;
                return Ok(true);
            }
            Hostile::GzipBomb => {
                socket.write_all(&page("200 OK", "content-encoding: gzip\r\n", gzip_bomb())).await?;
                return Ok(true);
            }
            // An alert record: content type 21, TLS 1.2, two bytes: fatal, decode_error.
            Hostile::TlsBytes => socket.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]).await?,
        }
        Ok(false)
    }
}

/// 1 GiB of NUL bytes, gzipped: one deflate run of 1 MiB of zeros, flushed to a byte boundary
/// and repeated (each copy refers back only to zeros), then an empty last block. Its trailer's
/// CRC is not computed: a harness that decoded the whole body would find it wrong and error.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut run = Vec::with_capacity(4096);
        let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
        deflate.compress_vec(&vec![0u8; 1 << 20], &mut run, flate2::FlushCompress::Sync).unwrap();
        let mut bomb = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        for _ in 0..1024 {
            bomb.extend_from_slice(&run);
        }
        // A last block, fixed Huffman codes, holding only its end: bits 1, 01, 0000000.
        bomb.extend_from_slice(&[0x03, 0x00]);
        bomb.extend_from_slice(&[0; 8]);
        bomb
    })
}

/// Serves `hostile` on `listener` until the test ends: each connection on a task of its own.
async fn serve(listener: tokio::net::TcpListener, hostile: Hostile) {
    while let Ok((mut socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            while read_request(&mut socket).await {
                if !matches!(hostile.answer(&mut socket).await, Ok(true)) {
                    break;
                }
            }
        });
    }
}

/// Reads one request, head and Content-Length body; false at the end of the connection.
async fn read_request(socket: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) if head.len() < 1 << 20 => head.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let mut body = socket.take(length);
    tokio::io::copy(&mut body, &mut tokio::io::sink()).await.is_ok()
}

/// What one run of the binary against a hostile handler came to.
struct Run {
    code: i32,
    report: Value,
    stderr: String,
    rss_kib: i64,
    wall: Duration,
    cases: usize,
}

impl Run {
    fn cases(&self) -> &[Value] {
        self.report["cases"].as_array().map(Vec::as_slice).unwrap_or_default()
    }

    /// What a case says went wrong: its error, or its failed checks' messages.
    fn said(case: &Value) -> String {
        let failed = case["checks"].as_array().into_iter().flatten().filter(|c| c["outcome"] == "fail");
        let mut said: Vec<String> = failed.map(|c| c["message"].as_str().unwrap_or_default().to_owned()).collect();
        said.extend(case["error"].as_str().map(str::to_owned));
        said.join(" | ")
    }

    /// Asserts what every hostile run holds: no panic, a JSON report, the RSS and time bounds.
    fn holds_bounds(&self, hostile: Hostile) {
        assert!(!self.stderr.contains("panicked"), "{hostile:?}: a panic: {}", self.stderr);
        assert!(self.report.is_object(), "{hostile:?}: no JSON report; stderr: {}", self.stderr);
        assert!(self.rss_kib < MAX_RSS_KIB, "{hostile:?}: peak RSS {} KiB", self.rss_kib);
        let bound = Duration::from_millis(TIMEOUT_MS * self.cases as u64 / JOBS) + Duration::from_secs(5);
        assert!(self.wall <= bound, "{hostile:?}: {:?} > {bound:?}", self.wall);
        eprintln!("{hostile:?}: exit {}, peak RSS {} KiB, {:?}", self.code, self.rss_kib, self.wall);
    }

    /// Asserts the line of a kind: exit `code`, and every case that `affected` picks failed or
    /// errored saying `message`.
    fn holds(&self, hostile: Hostile, code: i32, affected: fn(&Value) -> bool, message: &str) {
        self.holds_bounds(hostile);
        let picked: Vec<&Value> = self.cases().iter().filter(|c| affected(c)).collect();
        assert!(!picked.is_empty(), "{hostile:?}: no affected case");
        for case in picked {
            let said = Run::said(case);
            assert!(
                matches!(case["outcome"].as_str(), Some("fail" | "error")) && said.contains(message),
                "{hostile:?}: {} is {} saying {said:?}, not {message:?}",
                case["id"],
                case["outcome"]
            );
        }
        if let Some(case) = self.cases().first() {
            eprintln!("{hostile:?}: {} says {:?}", case["id"], Run::said(case));
        }
        assert_eq!(self.code, code, "{hostile:?}: stderr: {}", self.stderr);
    }
}

fn every(_: &Value) -> bool {
    true
}

/// What most kinds come to: the ten cases of [`CASES`] at `hostile` end in exit `code`, every
/// case failed or errored saying `message`.
fn every_case_says(hostile: Hostile, code: i32, message: &str) {
    run(hostile, TEN, CASES).holds(hostile, code, every, message);
}

/// Runs the binary at a `hostile` handler on a free loopback port with `args` after the common
/// ones, and measures it. `cases` is how many cases the run has.
fn run(hostile: Hostile, cases: usize, args: &[&str]) -> Run {
    let scratch = Scratch::new(&format!("{hostile:?}").replace(['(', ')'], "-"));
    if let Hostile::GzipBomb = hostile {
        // Made before the clock starts: it takes a while in a debug build.
        gzip_bomb();
    }
    let port = free_port();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port))).unwrap();
    runtime.spawn(serve(listener, hostile));
    let report = scratch.0.join("r.json");
    let timeout = TIMEOUT_MS.to_string();
    let jobs = JOBS.to_string();
    let handler = format!("http://127.0.0.1:{port}/");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_b24-conform"));
    command
        .args(["run", "--handler", &handler, "--timeout-ms", &timeout, "--jobs", &jobs, "--no-regressions"])
        .args(["--format", "json", "--out"])
        .arg(&report)
        .args(args)
        .current_dir(&scratch.0)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(scratch.0.join("stdout")).unwrap())
        .stderr(std::fs::File::create(scratch.0.join("stderr")).unwrap());
    let started = Instant::now();
    let (code, rss_kib) = wait_measured(command.spawn().expect("the binary starts"), Duration::from_secs(300));
    let wall = started.elapsed();
    runtime.shutdown_background();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let report = serde_json::from_str(&read(&report)).unwrap_or(Value::Null);
    Run { code, report, stderr: read(&scratch.0.join("stderr")), rss_kib, wall, cases }
}

/// Waits for `child`: its exit code (or -signal) and peak RSS in KiB. The peak is the
/// high-water mark of the child's own memory (VmHWM), read while it runs: the `ru_maxrss` that
/// wait4 or getrusage report also counts the memory of this test process, which the child shared
/// between its spawn (vfork) and its exec. A child still running after `limit` is killed, so a
/// hang fails the test instead of stalling it.
fn wait_measured(mut child: std::process::Child, limit: Duration) -> (i32, i64) {
    use std::os::unix::process::ExitStatusExt;
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<i64>().ok()
        });
        peak = peak.max(hwm.unwrap_or(0));
        if let Some(status) = child.try_wait().expect("waitpid") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (status.code().unwrap_or_else(|| -status.signal().unwrap_or(0)), peak)
}

/// The ten cases of [`CASES`].
const TEN: usize = 10;

#[test]
fn no_answer_stops_the_run_after_a_run_of_silence() {
    // Every case of the catalog, more than the liveness limit: the run stops early.
    let run = run(Hostile::NoAnswer, 261, &["--shrink-budget", "0"]);
    run.holds_bounds(Hostile::NoAnswer);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let limit = b24_conform::fire::DEFAULT_LIVENESS_LIMIT as u64;
    let stopped = Duration::from_millis(TIMEOUT_MS * (limit + 2 * JOBS) / JOBS) + Duration::from_secs(5);
    assert!(run.wall <= stopped, "{:?}: no early stop", run.wall);
    assert!(run.stderr.contains("the handler never answered") || run.report.to_string().contains("never answered"));
}

#[test]
fn headers_one_byte_a_second() {
    every_case_says(Hostile::SlowHeaders, 3, "nothing came within 1000 ms (--timeout-ms)");
}

#[test]
fn a_body_one_byte_at_a_time() {
    every_case_says(Hostile::SlowBody, 1, "the body did not end within 1000 ms (--timeout-ms)");
}

#[test]
fn a_reset() {
    every_case_says(Hostile::Reset, 3, "the handler reset the connection (TCP RST) before answering");
}

#[test]
fn a_close_before_answering() {
    every_case_says(Hostile::Close, 3, "the handler closed the connection before answering");
}

#[test]
fn a_body_shorter_than_its_content_length() {
    every_case_says(Hostile::ShortBody, 1, "the body ended after 40 of the 100 bytes its Content-Length announced");
}

#[test]
fn an_endless_chunked_body() {
    every_case_says(Hostile::EndlessChunked, 1, "the body did not end within 1000 ms (--timeout-ms)");
}

#[test]
fn a_header_line_of_1_mib() {
    every_case_says(Hostile::HugeHeader, 1, "headers larger than the harness reads");
}

#[test]
fn ten_thousand_headers() {
    every_case_says(Hostile::ManyHeaders, 1, "headers larger than the harness reads: more than 500 headers");
}

#[test]
fn status_999() {
    every_case_says(Hostile::Status999, 1, "status 999 is not an HTTP status");
}

#[test]
fn binary_garbage() {
    every_case_says(Hostile::Garbage, 3, "not HTTP: the answer began with the bytes 00 ff 13 37");
}

#[test]
fn http_0_9() {
    let message = "not HTTP: the answer did not start with a status line (HTTP/0.9 or another protocol)";
    every_case_says(Hostile::Http09, 3, message);
}

/// Garbled bytes garble the page without stopping it from showing: a warning, which `--strict`
/// makes fail the run. Only the cases that expect a page are judged on it.
#[test]
fn invalid_utf_8_and_nul_in_an_html_body() {
    let args = [CASES, &["--strict"]].concat();
    let pages = |case: &Value| case["expect"] != "reject";
    let message = "byte 15 (0xe9) is not UTF-8";
    let run = run(Hostile::GarbledHtml, TEN, &args);
    run.holds(Hostile::GarbledHtml, 1, pages, message);
    assert!(run.cases().iter().filter(|c| pages(c)).all(|c| Run::said(c).contains("a NUL byte at 17")));
}

#[test]
fn a_redirect_loop() {
    every_case_says(Hostile::RedirectLoop, 1, "redirect loop: http://127.0.0.1:");
}

/// A redirect elsewhere is the answer, never followed: a page that sends the browser away passes
/// the cases that expect a page, and fails (with `--strict`: they are `should`) the ones that
/// expect a refusal. Nothing reaches the other address.
#[test]
fn a_redirect_to_another_address() {
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let away = Hostile::RedirectAway(elsewhere.local_addr().unwrap().port());
    let run = run(away, TEN, &[CASES, &["--strict"]].concat());
    let rejects = |case: &Value| case["expect"] == "reject";
    run.holds(away, 1, rejects, "answered 302 to a request Bitrix24 never sends");
    assert!(run.cases().iter().filter(|c| c["expect"] == "accept").all(|c| c["outcome"] == "pass"));
    assert!(elsewhere.accept().is_err(), "the other address was contacted");
}

/// The bytes after the announced body are a whole `500` answer: a harness that read them as the
/// next answer on the kept-alive connection would judge a case on another's leftovers. Each case
/// is judged on the 15 bytes announced, as a browser shows them: nothing fails.
#[test]
fn a_content_length_shorter_than_the_body_on_a_kept_alive_connection() {
    let run = run(Hostile::LyingLength, TEN, CASES);
    run.holds_bounds(Hostile::LyingLength);
    for case in run.cases() {
        assert_eq!(case["response"]["status"], 200, "{}: {}", case["id"], Run::said(case));
        assert_eq!(case["response"]["body"], &PAGE[..15], "{}", case["id"]);
    }
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Decoded up to the body cap and no further: the answer is a page of NUL bytes, cut and noted,
/// and the NULs are a warning (`--strict`: failing). One case: the checks' scans of a 1 MiB body
/// are slow in a debug build, and eight bodies at once are the endless body's test.
#[test]
fn a_gzip_bomb() {
    let run = run(Hostile::GzipBomb, 1, &["--filter", "valid/documented-example", "--strict"]);
    run.holds(Hostile::GzipBomb, 1, every, "a NUL byte at 0");
    for case in run.cases() {
        let response = &case["response"];
        assert_eq!(response["truncated"], true, "{}", case["id"]);
        let note = response["note"].as_str().unwrap_or_default();
        assert!(note.starts_with("decoded from gzip up to the body cap (1048576 bytes"), "{note}");
        let decoded = response["length"].as_u64().unwrap_or_default();
        assert!(decoded < (1 << 20) + (64 << 10), "decoded {decoded} bytes");
    }
}

#[test]
fn tls_bytes_on_a_plain_port() {
    let message = "TLS bytes on a plain http port: is the handler https? use an https:// --handler URL";
    every_case_says(Hostile::TlsBytes, 3, message);
}

/// The gzip bomb is what it says: it decodes, and to 1 GiB (checked on the first 64 MiB here).
#[test]
fn the_gzip_bomb_is_a_gzip_stream_of_zeros() {
    let mut decoder = flate2::write::GzDecoder::new(Counter(0));
    decoder.write_all(&gzip_bomb()[..gzip_bomb().len() / 16]).unwrap();
    assert!(gzip_bomb().len() < 2 << 20, "{} bytes", gzip_bomb().len());
    assert!(decoder.get_ref().0 >= 63 << 20, "{} bytes decoded", decoder.get_ref().0);
}

/// Counts the zeros written to it.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        assert!(data.iter().all(|&b| b == 0));
        self.0 += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
