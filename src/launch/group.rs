//! The process group of a started handler: signalling the group reaches the children a shell,
//! `php -S` or `npm start` leaves behind, which a signal to the leader's pid alone does not
//! (STACK.md, Other).

use std::time::{Duration, Instant};

/// A process group, named by its leader's pid.
#[derive(Clone, Copy, Debug)]
pub(super) struct ProcessGroup(libc::pid_t);

impl ProcessGroup {
    /// The group led by `pid`, a process started with `process_group(0)`. `None` for pids that
    /// would make `kill(-pid, …)` reach far more than one group (0: our own, 1: every process).
    pub fn led_by(pid: u32) -> Option<ProcessGroup> {
        libc::pid_t::try_from(pid).ok().filter(|&pid| pid > 1).map(ProcessGroup)
    }

    /// Sends `signal` to every process of the group; false when none could be signalled.
    fn signal(self, signal: libc::c_int) -> bool {
        // SAFETY: kill has no memory effects; a negative pid names the group, and `led_by`
        // keeps it away from 0 and -1.
        unsafe { libc::kill(-self.0, signal) == 0 }
    }

    /// Whether a process of the group still runs.
    #[cfg(target_os = "linux")]
    pub fn running(self) -> bool {
        // A zombie still counts for kill(-pgid, 0), and an init that does not reap orphans (the
        // PID 1 of some containers) keeps them forever: read the processes' states instead.
        let Ok(processes) = std::fs::read_dir("/proc") else { return self.signal(0) };
        let group = self.0.to_string();
        processes.flatten().any(|process| {
            let Some((state, pgrp)) = state_and_group(&process.path().join("stat")) else { return false };
            if pgrp != group {
                return false;
            }
            // The leader thread shows Z as soon as it exits, while the process's other threads
            // may still hold its files, listening socket included: every thread must be done.
            let Ok(threads) = std::fs::read_dir(process.path().join("task")) else { return alive(&state) };
            threads.flatten().any(|thread| state_and_group(&thread.path().join("stat")).is_some_and(|(s, _)| alive(&s)))
        })
    }

    /// Whether a process of the group still runs.
    #[cfg(not(target_os = "linux"))]
    pub fn running(self) -> bool {
        self.signal(0)
    }

    /// SIGTERM to the group, then SIGKILL to what still runs after `grace`. Blocks meanwhile:
    /// it runs when a run ends, and the process may exit right after.
    pub fn stop(self, grace: Duration) {
        if !self.signal(libc::SIGTERM) {
            return;
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal(libc::SIGKILL);
    }
}

/// The state and process group of a `/proc/…/stat` file: `pid (comm) state ppid pgrp …`, where
/// comm may itself hold spaces and parentheses.
#[cfg(target_os = "linux")]
fn state_and_group(stat: &std::path::Path) -> Option<(String, String)> {
    let stat = std::fs::read_to_string(stat).ok()?;
    let (_, after_comm) = stat.rsplit_once(')')?;
    let mut fields = after_comm.split_whitespace();
    let (state, _ppid, pgrp) = (fields.next()?, fields.next()?, fields.next()?);
    Some((state.to_owned(), pgrp.to_owned()))
}

/// Neither a zombie nor dead.
#[cfg(target_os = "linux")]
fn alive(state: &str) -> bool {
    state != "Z" && state != "X"
}
