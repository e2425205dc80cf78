//! busgate-edge's integration tests, one binary: the Lambda glue from API Gateway events and
//! the order handlers.

mod lambda_events;
mod orders;
