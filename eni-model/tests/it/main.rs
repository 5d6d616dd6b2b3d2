//! Integration tests of `eni-model`: the report's cases as examples, and properties.

mod admission;
mod compare;
mod fixtures;
mod lifecycle;
mod network;
mod plan;
mod quota;
