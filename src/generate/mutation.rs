//! Mutation operators: each bends the fields of a valid request in one named way.

use serde::{Deserialize, Serialize};

use crate::payload::Field;

/// One change to a request's fields. Suite files name them: `{ remove = "member_id" }`,
/// `{ set = { field = "PLACEMENT", value = "CRM_LEAD_DETAIL_TAB" } }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// Drop the field entirely.
    Remove(String),
    /// Give the field this exact value (added at its documented place when absent). For
    /// PLACEMENT_OPTIONS the value is the raw string, so it can be anything but JSON.
    Set { field: String, value: String },
}

impl Mutation {
    /// Applies this mutation to `fields`.
    pub fn apply(&self, fields: &mut Vec<Field>) {
        match self {
            Mutation::Remove(name) => fields.retain(|f| &f.name != name),
            Mutation::Set { field, value } => match fields.iter_mut().find(|f| &f.name == field) {
                Some(existing) => existing.value.clone_from(value),
                None => fields.push(Field::new(field, value.clone())),
            },
        }
    }

    /// The field this mutation touches.
    pub fn field(&self) -> &str {
        match self {
            Mutation::Remove(name) => name,
            Mutation::Set { field, .. } => field,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Payload, Place};

    #[test]
    fn remove_and_set() {
        let mut fields = Payload::documented_example().to_fields();
        Mutation::Remove("member_id".into()).apply(&mut fields);
        assert!(!fields.iter().any(|f| f.name == "member_id"));
        Mutation::Set { field: "LANG".into(), value: "xx".into() }.apply(&mut fields);
        Mutation::Set { field: "X_NEW".into(), value: "1".into() }.apply(&mut fields);
        let lang = fields.iter().find(|f| f.name == "LANG").unwrap();
        assert_eq!((lang.value.as_str(), lang.place), ("xx", Place::Query));
        assert_eq!(fields.last().unwrap().place, Place::Body);
    }
}
