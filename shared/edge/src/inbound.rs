//! Requests partners send us: the Qimen-signed bus interfaces and the collaboration route
//! ([`pipeline`] verifies, routes and renders), and Fenbeitong's notices.

pub mod bus;
pub mod fenbeitong;
pub mod pipeline;
pub mod relation;
pub mod routes;
