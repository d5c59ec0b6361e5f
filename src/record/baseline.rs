//! Known deviations as data: a calendar day, one deviation of a baseline file, and what a
//! baseline made of a run. The baseline file itself (reading, judging, writing) is
//! `crate::baseline`'s.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A calendar day, as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    year: u32,
    month: u32,
    day: u32,
}

impl Date {
    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Date::from_days(seconds / 86_400)
    }

    /// The day `days` after 1970-01-01 (Howard Hinnant's civil-from-days, for days ≥ 0).
    pub(crate) fn from_days(days: u64) -> Date {
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400) as u32 + u32::from(month <= 2);
        Date { year, month, day }
    }
}

impl FromStr for Date {
    type Err = String;

    fn from_str(text: &str) -> Result<Date, String> {
        let wrong = || format!("{text:?} is not a date; write YYYY-MM-DD");
        let mut parts = text.split('-');
        let mut next = |len: usize| {
            parts
                .next()
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
        };
        let (Some(year), Some(month), Some(day)) = (next(4), next(2), next(2)) else { return Err(wrong()) };
        if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(wrong());
        }
        Ok(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        // A TOML date (`expires = 2027-01-31`) or a string holding one.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Native(toml::value::Datetime),
            Text(String),
        }
        let text = match Written::deserialize(deserializer)? {
            Written::Native(datetime) => datetime.to_string(),
            Written::Text(text) => text,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One known deviation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub case: String,
    pub check: String,
    /// Why it is accepted for now: a ticket, a decision.
    pub reason: String,
    /// From this day on the deviation fails the run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
}

impl Deviation {
    pub fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|date| date <= today)
    }
}

/// What a baseline made of a run, for the reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BaselineReport {
    pub file: String,
    /// Failures the baseline accepts: reported, not failing the run.
    pub known: Vec<Deviation>,
    /// Entries past their date whose failure is back to failing the run.
    pub expired: Vec<Deviation>,
    /// Entries whose case ran and no longer fails their check: remove them.
    pub fixed: Vec<Deviation>,
}

impl BaselineReport {
    /// `1 known, 0 expired, 2 fixed`: what each report says of the baseline first.
    pub fn counts(&self) -> String {
        format!("{} known, {} expired, {} fixed", self.known.len(), self.expired.len(), self.fixed.len())
    }
}
