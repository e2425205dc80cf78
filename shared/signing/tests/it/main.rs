//! busgate-signing's tests, one binary: the published vectors, the official SDK's cases,
//! properties, the Python signer and Fenbeitong's signature.

mod common;
mod fenbeitong;
mod properties;
mod python_signer;
mod timestamp;
mod vectors;
