//! The `busgate` command's tests, one binary: the back office, local mode's load and crash
//! tests, the signer.

mod admin_cli;
mod admin_local;
mod admin_refunds;
mod admin_support;
mod local_crash;
mod local_load;
mod local_support;
mod sign_cli;
