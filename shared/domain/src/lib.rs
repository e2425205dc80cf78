//! Busgate's domain: the business rules of a custom bus operator selling on Fliggy, and the
//! ports (small async traits) through which those rules reach storage and queues.
//!
//! Nothing here knows about AWS or HTTP: handlers in `busgate-edge` verify and parse a
//! request, call into this crate, and render the answer; adapters in `busgate-adapters`
//! implement the ports on DynamoDB/SQS and on the embedded store of local mode.

pub mod clock;
pub mod outbox;
pub mod queue;
pub mod store;

pub mod cases;
pub mod catalogue;
pub mod notices;
pub mod orders;

pub use clock::{gmt8, Clock, ManualClock, SystemClock};
