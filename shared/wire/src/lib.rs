//! Partner wire formats: everything a partner reads or sends, so that the domain speaks only
//! the business. [`fliggy`] (the bus envelope), [`json`] (strict field intake), [`orders`]
//! (order and refund views, codes, refusals), [`relation`] (collaboration messages and
//! answers), [`fenbeitong`] (notice intake and answers).

pub mod callbacks;
pub mod catalogue;
pub mod fenbeitong;
pub mod fliggy;
pub mod json;
pub mod orders;
pub mod relation;
