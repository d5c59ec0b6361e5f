//! Partitions: a plan split into N parts that N machines run at once (`--partition K/N`); the
//! parts together run each case exactly once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Part `k` of `n` (both from 1) of a plan: the cases whose index in the whole plan (from 1)
/// leaves `k - 1` when divided by `n`. Dealt round the parts like cards, so each part gets a
/// share of every group, not the whole of one. Written `K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Partition {
    pub k: usize,
    pub n: usize,
}

/// A `--partition` value that is not `K/N` with 1 ≤ K ≤ N.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    #[error("expected K/N, part K of N (e.g. 1/4), found {0:?}")]
    Shape(String),
    #[error("N must be at least 1, found {0}")]
    NoParts(String),
    #[error("K must be 1..=N, found {0}")]
    OutOfRange(String),
}

impl Partition {
    /// Part `k` of `n`, when 1 ≤ `k` ≤ `n`.
    pub fn new(k: usize, n: usize) -> Result<Partition, PartitionError> {
        match (k, n) {
            (_, 0) => Err(PartitionError::NoParts(format!("{k}/{n}"))),
            (1.., _) if k <= n => Ok(Partition { k, n }),
            _ => Err(PartitionError::OutOfRange(format!("{k}/{n}"))),
        }
    }

    /// Whether the case at `index` of the whole plan (from 1) is in this part.
    pub fn holds(self, index: usize) -> bool {
        index % self.n == self.k - 1
    }

    /// How many of the indices `1..=total` this part holds.
    pub fn share(self, total: usize) -> usize {
        match self.k - 1 {
            0 => total / self.n,
            first if first <= total => (total - first) / self.n + 1,
            _ => 0,
        }
    }

    /// Whether this part reports the installation. Every part installs the app (its cases need
    /// it installed), but only part 1 reports it, so that the merged parts report it once.
    pub fn reports_install(self) -> bool {
        self.k == 1
    }
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(text: &str) -> Result<Partition, PartitionError> {
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| PartitionError::Shape(text.to_owned()));
        let (k, n) = text.split_once('/').ok_or_else(|| PartitionError::Shape(text.to_owned()))?;
        Partition::new(number(k)?, number(n)?)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl TryFrom<String> for Partition {
    type Error = PartitionError;

    fn try_from(text: String) -> Result<Partition, PartitionError> {
        text.parse()
    }
}

impl From<Partition> for String {
    fn from(partition: Partition) -> String {
        partition.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_says_what_is_wrong() {
        assert_eq!("2/4".parse(), Ok(Partition { k: 2, n: 4 }));
        assert_eq!("1/1".parse::<Partition>().map(|p| p.to_string()), Ok("1/1".to_owned()));
        assert_eq!("5/4".parse::<Partition>().unwrap_err().to_string(), "K must be 1..=N, found 5/4");
        assert_eq!("0/4".parse::<Partition>().unwrap_err().to_string(), "K must be 1..=N, found 0/4");
        assert_eq!("1/0".parse::<Partition>().unwrap_err().to_string(), "N must be at least 1, found 1/0");
        for bad in ["4", "a/4", "1/-4", "", "1/2/3"] {
            assert!(
                bad.parse::<Partition>().unwrap_err().to_string().starts_with("expected K/N, part K of N"),
                "{bad}"
            );
        }
        assert_eq!(serde_json::to_string(&Partition { k: 3, n: 4 }).unwrap(), "\"3/4\"");
        assert_eq!(serde_json::from_str::<Partition>("\"3/4\"").unwrap(), Partition { k: 3, n: 4 });
        assert!(serde_json::from_str::<Partition>("\"5/4\"").is_err());
    }

    #[test]
    fn the_parts_share_every_index_once() {
        for n in 1..=5 {
            for total in 0..=13 {
                let parts: Vec<Partition> = (1..=n).map(|k| Partition::new(k, n).unwrap()).collect();
                for index in 1..=total {
                    assert_eq!(parts.iter().filter(|p| p.holds(index)).count(), 1, "{index} of {total} in {n} parts");
                }
                for part in &parts {
                    assert_eq!(part.share(total), (1..=total).filter(|&i| part.holds(i)).count(), "{part} of {total}");
                }
                assert_eq!(parts.iter().filter(|p| p.reports_install()).count(), 1);
            }
        }
    }
}
