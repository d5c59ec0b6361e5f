//! Reviewing pending snapshots without cargo: each `.snap.new` a run wrote with
//! `--update-snapshots` is shown as a diff against its `.snap`, then accepted (it replaces the
//! `.snap`) or rejected (it is deleted). Inside a Cargo package `cargo insta review` does the same.

use std::path::{Path, PathBuf};

use super::{diff, file, name};

/// A file operation of a review that failed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ReviewError {
    path: String,
    #[source]
    source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> ReviewError + '_ {
    move |source| ReviewError { path: path.display().to_string(), source }
}

/// A snapshot waiting for review.
#[derive(Debug)]
pub struct Pending {
    pub id: String,
    /// `<case-id>.snap.new`
    pub pending: PathBuf,
    /// `<case-id>.snap`, which may not exist yet.
    pub stored: PathBuf,
}

/// The pending snapshots in `dir`, by case id. A directory that does not exist has none.
pub fn pending(dir: &Path) -> Result<Vec<Pending>, ReviewError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(at(dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(at(dir))?;
        let file_name = entry.file_name();
        // Files of other tools (or names no case id has) are not ours to touch.
        let Some(id) = file_name.to_str().and_then(|n| n.strip_suffix(".snap.new")).and_then(name::decode) else {
            continue;
        };
        let stored = dir.join(format!("{}.snap", name::encode(&id)));
        found.push(Pending { id, pending: entry.path(), stored });
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

impl Pending {
    /// What accepting it changes: a diff against the stored snapshot, or the whole new one.
    pub fn diff(&self) -> Result<String, ReviewError> {
        let new = std::fs::read_to_string(&self.pending).map_err(at(&self.pending))?;
        let new = file::body(&new);
        match std::fs::read_to_string(&self.stored) {
            Ok(old) => Ok(diff::render(file::body(&old), new)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(format!("new snapshot:\n{}", new.lines().map(|l| format!("+{l}\n")).collect::<String>()))
            }
            Err(e) => Err(at(&self.stored)(e)),
        }
    }

    /// The pending snapshot becomes the stored one.
    pub fn accept(&self) -> Result<(), ReviewError> {
        std::fs::rename(&self.pending, &self.stored).map_err(at(&self.pending))
    }

    /// The pending snapshot is thrown away.
    pub fn reject(&self) -> Result<(), ReviewError> {
        std::fs::remove_file(&self.pending).map_err(at(&self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_and_reject() {
        let dir = std::env::temp_dir().join(format!("b24-conform-review-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a~b.snap"), "---\nexpression: \"a/b\"\n---\nstatus: 200\n").unwrap();
        std::fs::write(dir.join("a~b.snap.new"), "---\nexpression: \"a/b\"\n---\nstatus: 201\n").unwrap();
        std::fs::write(dir.join("c+1.snap.new"), "---\n---\nstatus: 400\n").unwrap();
        std::fs::write(dir.join("%zz.snap.new"), "not ours").unwrap();
        let found = pending(&dir).unwrap();
        assert_eq!(found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["a/b", "c#1"]);
        assert!(found[0].diff().unwrap().contains("-status: 200\n+status: 201\n"));
        assert_eq!(found[1].diff().unwrap(), "new snapshot:\n+status: 400\n");
        found[0].accept().unwrap();
        found[1].reject().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("a~b.snap")).unwrap(),
            "---\nexpression: \"a/b\"\n---\nstatus: 201\n"
        );
        assert!(!dir.join("c+1.snap.new").exists() && !dir.join("c+1.snap").exists());
        assert_eq!(pending(&dir).unwrap().len(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
