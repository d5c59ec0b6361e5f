//! Generators: valid payloads drawn from the whole valid space, and the mutations that turn a
//! valid payload into one a right portal never sends.

mod mutation;
mod valid;

pub use mutation::Mutation;
pub use valid::{valid_payload, valid_payloads};
