//! The malformed space: a valid request bent by one to three mutations, each drawn from every
//! operator over every documented field. Values are printable text, so that shrinking can cut a
//! failing value down to the one character that matters.

use proptest::prelude::*;
use proptest::sample::select;

use super::{Draft, Mutation, valid_payload};
use crate::payload::{FIELDS, Family};

pub(super) fn malformed(family: Family) -> impl Strategy<Value = Draft> {
    // Only the mutations shrink: the valid request under them is valid whatever it is, and
    // shrinking its tokens character by character would spend the budget on nothing.
    (proptest::collection::vec(mutation(family), 1..=3), valid_payload(family).no_shrink())
        .prop_map(|(mutations, payload)| Draft { payload, mutations })
}

/// Printable ASCII, markup and quote characters included.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ -~]{0,32}").expect("a valid regex")
}

fn field() -> impl Strategy<Value = String> {
    select(FIELDS.iter().map(|f| f.name.to_owned()).collect::<Vec<_>>())
}

/// Wire text no browser sends: invalid percent-encoding, bytes that are not UTF-8, NUL, controls.
const BAD_ENCODINGS: &[&str] = &["%ZZ", "%", "%FF%FE", "%C3%28", "%00", "%01%1B%7F"];

/// The keys of the family's options, and the URI Bitrix24 adds to any placement's.
fn option_keys(family: Family) -> Vec<&'static str> {
    family.option_keys().iter().copied().chain(["URI"]).collect()
}

fn mutation(family: Family) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (field(), text()).prop_map(|(field, value)| Mutation::Set { field, value }),
        field().prop_map(Mutation::Remove),
        field().prop_map(Mutation::Empty),
        field().prop_map(Mutation::Blank),
        (field(), text()).prop_map(|(field, value)| Mutation::Duplicate { field, value }),
        field().prop_map(Mutation::PhpArray),
        field().prop_map(Mutation::Move),
        (field(), 1usize..8192).prop_map(|(field, bytes)| Mutation::Oversize { field, bytes }),
        (field(), select(BAD_ENCODINGS)).prop_map(|(field, bad)| Mutation::Raw { field, encoded: bad.to_owned() }),
        (prop_oneof![select(option_keys(family)).prop_map(str::to_owned), text()], text())
            .prop_map(|(key, value)| Mutation::Option { key, value }),
    ]
}
