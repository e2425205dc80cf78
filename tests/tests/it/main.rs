//! busgate-tests' integration and end-to-end tests, one binary (one link of the whole
//! workspace instead of one per file). Each module is one concern; `busgate_tests` (src/)
//! holds the helpers.

mod admin_aws;
mod aws_stack;
mod catalogue_e2e;
mod conformance;
mod console_browser;
mod delivery_faults;
mod fenbeitong_e2e;
/// The order fixture of busgate-wire's tests (a catalogue and request builders).
#[path = "../../../shared/wire/tests/it/fixture.rs"]
mod fixture;
mod hardening;
mod local_e2e;
mod notice_link;
mod orders_concurrency;
mod refund_callbacks;
mod relation_e2e;
mod request_binding;
mod secrets_hygiene;
mod sim;
mod template_drift;
mod worker_batch;
