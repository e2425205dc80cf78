//! Partner wire formats: strict JSON intake, and one envelope renderer per partner.

pub mod fenbeitong;
pub mod fliggy;
pub mod json;
pub mod orders;
pub mod relation;
