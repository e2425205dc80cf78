//! busgate-wire's integration tests, one binary: the domain's sales and notices as the
//! partners read them (rendered and parsed by this crate).

mod cases_inbound;
mod cases_outbound;
mod cases_support;
mod fixture;
mod notices_cases;
mod notices_proptest;
mod notices_service;
mod notices_validate;
mod orders;
mod refunds;
mod round_trips;
