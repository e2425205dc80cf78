//! The edge: everything between a raw HTTP request and the domain. A handler verifies,
//! parses, calls the domain and renders; Lambda functions and local mode share all of it.

pub mod app;
pub mod config;
pub mod inbound;
pub mod lambda;
pub mod metrics;
pub mod outbound;
pub mod secrets;

pub use app::App;
pub use config::Config;
pub use inbound::pipeline::{handle, handle_path, Inbound, Outbound};
pub use inbound::routes::{BusRoute, Route};
