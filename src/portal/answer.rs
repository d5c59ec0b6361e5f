//! Bitrix24's answer envelopes (PROTOCOL.md 2.3, 2.4): success with its `time` block, error
//! without one, and the headers every REST answer carries (`frame::CORS`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// One answer of the portal: an HTTP status and a JSON envelope.
pub(super) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// `{"result":…, "total":…, "next":…, "time":{…}}`: the SDKs fail without `time`.
    pub fn success(result: Value, total: Option<usize>) -> Answer {
        let mut body = json!({ "result": result });
        if let Some(total) = total {
            body["total"] = json!(total);
        }
        body["time"] = time_block();
        Answer { status: 200, body }
    }

    /// `{"error":CODE, "error_description":TEXT}`; Bitrix24 adds no `time` to errors.
    pub fn error(status: u16, code: &str, description: &str) -> Answer {
        Answer { status, body: json!({ "error": code, "error_description": description }) }
    }

    /// An answer with a body given whole (the OAuth server's).
    pub fn raw(status: u16, body: Value) -> Answer {
        Answer { status, body }
    }

    pub fn error_code(&self) -> Option<String> {
        self.body.get("error").and_then(Value::as_str).map(str::to_owned)
    }

    /// The body as sent.
    pub fn body_bytes(&self) -> Vec<u8> {
        self.body.to_string().into_bytes()
    }

    /// The answer with the headers every REST answer carries (CORS among them).
    pub fn into_response(self) -> ResponseTemplate {
        let answer = ResponseTemplate::new(self.status);
        let answer =
            super::frame::CORS.iter().fold(answer, |answer, (name, value)| answer.insert_header(*name, *value));
        answer.set_body_raw(self.body_bytes(), "application/json; charset=utf-8")
    }
}

/// The `time` block of a success answer (api-reference/data-types.md#time), with the cloud's
/// load-limiter fields: no time spent on the method so far (`operating`), and when that count
/// starts again (`operating_reset_at`, ten minutes on, as in the docs' examples).
fn time_block() -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
    let date = iso8601(now as i64);
    json!({"start": now, "finish": now, "duration": 0.0, "processing": 0.0, "date_start": date, "date_finish": date,
           "operating_reset_at": now as i64 + 600, "operating": 0})
}

/// Seconds since the Unix epoch.
pub(super) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// `2025-09-09T16:31:11+00:00` for a unix time (days-to-civil, H. Hinnant's algorithm).
pub(super) fn iso8601(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(iso8601(1_757_424_671), "2025-09-09T13:31:11+00:00");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00+00:00");
    }
}
