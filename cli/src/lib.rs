//! The `busgate` command's library: local mode and the operator tools, shared with the tests.

pub mod demo;
pub mod local;
