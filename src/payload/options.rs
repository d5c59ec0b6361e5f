//! PLACEMENT_OPTIONS: the JSON string that tells a handler where it was opened — which site and
//! page for LANDING_SETTINGS, which block for LANDING_BLOCK_*.

use serde_json::{Map, Value};

use super::json::to_bitrix_json;

/// The context of a placement call: the keys its family documents (`SITE_ID`, `LID`; `ID`,
/// `CODE`, `LID`), each read as a string, in the documentation's order, plus whatever else
/// Bitrix24 adds (it adds `URI` for any placement).
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementOptions {
    pub keys: Vec<(String, String)>,
    pub extra: Map<String, Value>,
}

impl PlacementOptions {
    /// Options with these documented keys, in this order, and `extra` after them.
    pub fn new(keys: &[(&str, String)], extra: Map<String, Value>) -> PlacementOptions {
        PlacementOptions { keys: keys.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(), extra }
    }

    /// Reads options as a handler should: a JSON object with each of `keys`, each a string or a
    /// number (the docs show strings, the landing editor's JS passes numbers, PROTOCOL.md 7.6).
    pub fn parse(text: &str, keys: &[&str]) -> Result<PlacementOptions, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut object) = value else {
            return Err(format!("a JSON {} where an object is expected", kind(&value)));
        };
        let mut read = Vec::with_capacity(keys.len());
        for &key in keys {
            let value = match object.shift_remove(key) {
                Some(Value::String(s)) => s,
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => return Err(format!("{key} is a JSON {}, not a string or number", kind(&other))),
                None => return Err(format!("{key} is missing")),
            };
            read.push((key.to_owned(), value));
        }
        Ok(PlacementOptions { keys: read, extra: object })
    }

    /// The value of a documented key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The options as Bitrix24 encodes them: PHP's `Json::encode`, keys in documented order.
    pub fn to_json(&self) -> String {
        let mut object = Map::new();
        for (key, value) in &self.keys {
            object.insert(key.clone(), Value::String(value.clone()));
        }
        object.extend(self.extra.clone());
        to_bitrix_json(&Value::Object(object))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: &[&str] = &["SITE_ID", "LID"];

    #[test]
    fn numbers_are_read_as_ids() {
        let options = PlacementOptions::parse(r#"{"SITE_ID":30,"LID":0,"URI":"/x"}"#, SETTINGS).unwrap();
        assert_eq!((options.get("SITE_ID"), options.get("LID")), (Some("30"), Some("0")));
        assert_eq!(options.extra["URI"], "/x");
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(PlacementOptions::parse("[1]", SETTINGS).unwrap_err().contains("array"));
        assert!(PlacementOptions::parse("{\"SITE_ID\":\"1\"", SETTINGS).unwrap_err().contains("not JSON"));
        assert!(PlacementOptions::parse("{\"SITE_ID\":\"1\"}", SETTINGS).unwrap_err().contains("LID"));
        let block = PlacementOptions::parse(r#"{"ID":"996","LID":"30"}"#, &["ID", "CODE", "LID"]);
        assert_eq!(block.unwrap_err(), "CODE is missing");
    }

    #[test]
    fn the_documented_keys_come_first_as_strings() {
        let options = PlacementOptions::parse(r#"{"URI":"/p","LID":30,"ID":996,"CODE":"c"}"#, &["ID", "CODE", "LID"]);
        assert_eq!(options.unwrap().to_json(), r#"{"ID":"996","CODE":"c","LID":"30","URI":"\/p"}"#);
    }
}
