//! The edge: everything between a raw HTTP request and the domain. A handler verifies,
//! parses, calls the domain and renders; Lambda functions and local mode share all of it.

pub mod app;
pub mod bus;
pub mod config;
pub mod delivery;
pub mod lambda;
pub mod metrics;
pub mod partners;
pub mod pipeline;
pub mod routes;
pub mod secrets;
pub mod sweeper;
pub mod top;

pub use app::App;
pub use config::Config;
pub use pipeline::{handle, handle_path, Inbound, Outbound};
pub use routes::Route;
