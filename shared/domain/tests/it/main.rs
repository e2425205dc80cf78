//! busgate-domain's integration tests, one binary: the catalogue's import, rules, queries
//! and properties on the memory store.

mod catalogue_import;
mod catalogue_props;
mod catalogue_queries;
mod catalogue_rules;
