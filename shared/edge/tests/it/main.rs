//! busgate-edge's integration tests, one binary: the Lambda glue from API Gateway events, the
//! order handlers, and the outbox worker against the partners port.

mod delivery;
mod lambda_events;
mod orders;
