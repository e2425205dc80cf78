//! The `busgate` command's library: local mode and the operator tools, shared with the tests.

pub mod admin;
pub mod demo;
pub mod local;
pub mod sim;
