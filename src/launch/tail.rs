//! The last lines a started handler wrote: what a person needs to see when it fails to start or
//! dies, kept in bounded memory however much it writes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncRead, AsyncReadExt};

/// Lines kept; older ones are dropped.
const LINES: usize = 20;
/// Bytes kept of one line; the rest of a longer line is dropped.
const LINE_BYTES: usize = 1000;

#[derive(Debug, Default)]
pub(super) struct Tail {
    lines: VecDeque<String>,
}

impl Tail {
    fn push(&mut self, line: &[u8]) {
        if self.lines.len() == LINES {
            self.lines.pop_front();
        }
        let line = String::from_utf8_lossy(line);
        self.lines.push_back(line.trim_end_matches('\r').to_owned());
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

/// The tail stays readable even if a drain panicked while holding it.
pub(super) fn lock(tail: &Mutex<Tail>) -> MutexGuard<'_, Tail> {
    tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads `stream` to its end into `tail`, line by line. Each stream assembles its own lines, so
/// stdout and stderr interleave by whole lines.
pub(super) async fn drain(mut stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(read @ 1..) = stream.read(&mut chunk).await {
        for &byte in &chunk[..read] {
            if byte == b'\n' {
                lock(&tail).push(&line);
                line.clear();
            } else if line.len() < LINE_BYTES {
                line.push(byte);
            }
        }
    }
    if !line.is_empty() {
        lock(&tail).push(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_last_lines_each_cut_to_size() {
        let mut text = String::new();
        for i in 0..LINES + 10 {
            text.push_str(&format!("line {i}\r\n"));
        }
        text.push_str(&"x".repeat(LINE_BYTES * 3));
        let tail = Arc::new(Mutex::new(Tail::default()));
        drain(text.as_bytes(), tail.clone()).await;
        let lines = lock(&tail).lines();
        assert_eq!(lines.len(), LINES);
        assert_eq!(lines[0], "line 11");
        assert_eq!(lines[LINES - 2], format!("line {}", LINES + 9));
        assert_eq!(lines[LINES - 1].len(), LINE_BYTES);
    }
}
