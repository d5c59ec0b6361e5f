//! The handler under test, started by the harness (`--handler-cmd`): `sh -c COMMAND` in a
//! process group of its own, told where the portal is through its environment, waited for
//! until it listens, watched while the cases run, and stopped, children and all, at the end.

mod group;
mod tail;

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::portal::{Authority, Portal};
use group::ProcessGroup;
use tail::Tail;

/// How long a stopped handler has to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How often the wait for the handler looks again.
const POLL: Duration = Duration::from_millis(50);
/// How long the output of a handler that exited may take to reach its end: a child it left
/// behind can hold the pipes open for ever.
const LAST_WORDS: Duration = Duration::from_millis(500);

/// The environment a started handler gets: what an app knows of the portal it is installed on
/// (where it is, its OAuth server, its member_id), the app's own OAuth client (which a refresh
/// needs), and which CA to trust when the portal speaks https. The CA variables are the ones the
/// usual clients read: OpenSSL (Python's `ssl`, PHP streams, Ruby, Go), Python's requests,
/// Node.js, the curl tool.
pub fn environment(portal: &Portal, authority: Option<&Authority>) -> Vec<(&'static str, String)> {
    let client = portal.client();
    let mut environment = vec![
        ("B24_PORTAL_URL", portal.origin()),
        ("B24_OAUTH_URL", portal.oauth_url()),
        ("B24_SERVER_ENDPOINT", portal.server_endpoint()),
        ("B24_MEMBER_ID", portal.member_id()),
        ("B24_CLIENT_ID", client.id),
        ("B24_CLIENT_SECRET", client.secret),
    ];
    if let Some(authority) = authority {
        let ca_file = authority.ca_file().display().to_string();
        for name in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE"] {
            environment.push((name, ca_file.clone()));
        }
    }
    environment
}

/// Why the started handler could not serve the run.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot start --handler-cmd {command:?}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "something already listens at {url}: the run would test it instead of what --handler-cmd {command:?} \
         starts; stop it, or give --handler another port"
    )]
    AlreadyListening { command: String, url: String },
    #[error("--handler-cmd {command:?} exited ({status}) before it listened at {url}{}", last_output(.output))]
    Exited { command: String, url: String, status: String, output: Vec<String> },
    #[error("--handler-cmd {command:?} exited ({status}) while the cases ran{}", last_output(.output))]
    Died { command: String, status: String, output: Vec<String> },
    #[error(
        "--handler-cmd {command:?} did not listen at {url} within {waited_ms} ms (--handler-wait-ms){}",
        last_output(.output)
    )]
    NotListening { command: String, url: String, waited_ms: u128, output: Vec<String> },
}

fn last_output(lines: &[String]) -> String {
    if lines.is_empty() {
        return "; it wrote nothing".to_owned();
    }
    let mut text = "; its last output:".to_owned();
    for line in lines {
        text.push_str("\n  | ");
        text.push_str(line);
    }
    text
}

/// A started handler; dropping it stops its whole process group.
pub struct HandlerProcess {
    command: String,
    group: ProcessGroup,
    /// The leader's exit status once it has exited; a task owns the child and reaps it.
    exit: watch::Receiver<Option<ExitStatus>>,
    output: Arc<Mutex<Tail>>,
    drains: Vec<JoinHandle<()>>,
}

impl Drop for HandlerProcess {
    fn drop(&mut self) {
        self.group.stop(GRACE);
        for drain in &self.drains {
            drain.abort();
        }
    }
}

impl HandlerProcess {
    /// Starts `sh -c command` with `environment` added to ours, and waits up to `wait` until
    /// something accepts connections at `url`'s host and port.
    pub async fn start(
        command: &str,
        url: &Url,
        environment: &[(&str, String)],
        wait: Duration,
    ) -> Result<HandlerProcess, LaunchError> {
        // Whatever listens there now is not the handler the command starts.
        if listening(url, POLL).await.is_ok() {
            return Err(LaunchError::AlreadyListening { command: command.to_owned(), url: url.to_string() });
        }
        let spawn_error = |source| LaunchError::Spawn { command: command.to_owned(), source };
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .envs(environment.iter().map(|(name, value)| (name, value)))
            // Its own group: a terminal's Ctrl-C does not reach it, and stopping the group
            // reaches every process it started.
            .process_group(0)
            .stdin(Stdio::null())
            // Both kept for the error message; its stdout must not mix with the report.
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let group = child.id().and_then(ProcessGroup::led_by).ok_or_else(|| {
            spawn_error(std::io::Error::other("the shell exited before its process group could be known"))
        })?;
        let output = Arc::new(Mutex::new(Tail::default()));
        let mut drains = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            drains.push(tokio::spawn(tail::drain(stdout, output.clone())));
        }
        if let Some(stderr) = child.stderr.take() {
            drains.push(tokio::spawn(tail::drain(stderr, output.clone())));
        }
        let (exited, exit) = watch::channel(None);
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                let _ = exited.send(Some(status));
            }
        });
        let process = HandlerProcess { command: command.to_owned(), group, exit, output, drains };
        process.await_listening(url, wait).await?;
        Ok(process)
    }

    async fn await_listening(&self, url: &Url, wait: Duration) -> Result<(), LaunchError> {
        let started = Instant::now();
        loop {
            let exited = *self.exit.borrow();
            if let Some(status) = exited {
                return Err(LaunchError::Exited {
                    command: self.command.clone(),
                    url: url.to_string(),
                    status: status.to_string(),
                    output: self.last_words().await,
                });
            }
            let left = wait.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(LaunchError::NotListening {
                    command: self.command.clone(),
                    url: url.to_string(),
                    waited_ms: wait.as_millis(),
                    output: self.last_words().await,
                });
            }
            if listening(url, left.min(POLL * 4)).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(POLL.min(left)).await;
        }
    }

    /// Resolves when the handler's shell exits, with why: a handler that dies while the cases
    /// run must end the run, not turn every remaining case into a connection error.
    pub async fn died(&self) -> LaunchError {
        let mut exit = self.exit.clone();
        // An error means the task that waits for the child is gone: only a runtime shutting
        // down does that.
        let status = exit.wait_for(Option::is_some).await.ok().and_then(|status| *status);
        let status = status.map_or_else(|| "unknown status".to_owned(), |status| status.to_string());
        LaunchError::Died { command: self.command.clone(), status, output: self.last_words().await }
    }

    /// What the handler wrote last, once its pipes are read to their end (or after a moment,
    /// when a child it left behind holds them open).
    async fn last_words(&self) -> Vec<String> {
        let deadline = Instant::now() + LAST_WORDS;
        while self.drains.iter().any(|drain| !drain.is_finished()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tail::lock(&self.output).lines()
    }
}

/// Whether something accepts TCP connections at `url`'s host and port within `within`; the
/// reason when not.
pub(crate) async fn listening(url: &Url, within: Duration) -> Result<(), String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let connect = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port));
    match tokio::time::timeout(within, connect).await {
        // Probing a free port of the ephemeral range can pick that very port as the source, and
        // TCP then connects the socket to itself.
        Ok(Ok(stream)) if stream.local_addr().ok() == stream.peer_addr().ok() => {
            Err("nothing listens (the probe connected to itself)".to_owned())
        }
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {} ms", within.as_millis())),
    }
}
