//! Calls we make to partners: the outbox worker ([`delivery`]) sending TOP callbacks
//! ([`top`]), collaboration actions ([`relation`]) and Fenbeitong decisions ([`fenbeitong`]),
//! and the [`sweeper`] that keeps deadlines and requeues what is overdue.

pub mod delivery;
pub mod relation;
pub mod sweeper;
