//! PLACEMENT_OPTIONS: the JSON string that tells a LANDING_SETTINGS handler which site and page.

use serde_json::{Map, Value};

use super::json::to_bitrix_json;

/// The context of a LANDING_SETTINGS call: `SITE_ID` (the site) and `LID` (the page the editor
/// was opened from), plus whatever else Bitrix24 adds (it adds `URI` for any placement).
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementOptions {
    pub site_id: String,
    pub lid: String,
    pub extra: Map<String, Value>,
}

impl PlacementOptions {
    /// Reads options as a handler should: a JSON object with SITE_ID and LID, each a string or a
    /// number (the docs show strings, the landing editor's JS passes numbers, PROTOCOL.md 7.6).
    pub fn parse(text: &str) -> Result<PlacementOptions, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut object) = value else {
            return Err(format!("a JSON {} where an object is expected", kind(&value)));
        };
        let mut id = |key: &str| match object.shift_remove(key) {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!("{key} is a JSON {}, not a string or number", kind(&other))),
            None => Err(format!("{key} is missing")),
        };
        let site_id = id("SITE_ID")?;
        let lid = id("LID")?;
        Ok(PlacementOptions { site_id, lid, extra: object })
    }

    /// The options as Bitrix24 encodes them: PHP's `Json::encode`, keys in documented order.
    pub fn to_json(&self) -> String {
        let mut object = Map::new();
        object.insert("SITE_ID".into(), Value::String(self.site_id.clone()));
        object.insert("LID".into(), Value::String(self.lid.clone()));
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

    #[test]
    fn numbers_are_read_as_ids() {
        let options = PlacementOptions::parse(r#"{"SITE_ID":30,"LID":0,"URI":"/x"}"#).unwrap();
        assert_eq!((options.site_id.as_str(), options.lid.as_str()), ("30", "0"));
        assert_eq!(options.extra["URI"], "/x");
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(PlacementOptions::parse("[1]").unwrap_err().contains("array"));
        assert!(PlacementOptions::parse("{\"SITE_ID\":\"1\"").unwrap_err().contains("not JSON"));
        assert!(PlacementOptions::parse("{\"SITE_ID\":\"1\"}").unwrap_err().contains("LID"));
    }
}
