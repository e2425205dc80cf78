//! The case state machine (partners.md §1.5–§1.6 and the Busgate decisions), one pure
//! function for both kinds of case and both directions. Inbound messages, operator commands
//! (checked before anything is written) and delivery outcomes (applied when Fliggy accepts
//! our message) all go through [`transition`].
//!
//! ```text
//! Fliggy-owned (opener Fliggy, handler us)
//!   (none) -startRelation(in)-> OPEN      (none) -notify(in)-> NOTIFIED
//!   OPEN         urgeCase(in)*, reply(out)*, startRelation(in) again = re-delivery
//!   OPEN         -result(out)-> RESULT_SENT     -sendBack(out)-> SENT_BACK
//!   RESULT_SENT  urgeCase(in)*, result(out) again (supplement)
//!   SENT_BACK    urgeCase(in)*, -startRelation(in, same case_id)-> OPEN (reopen)
//!   NOTIFIED     notify(in) again = re-delivery
//!   any open     -endRelation(in)-> CLOSED;  CLOSED: endRelation(in) again = success
//!   reply(in)    a note on any open case
//!
//! Supplier-owned (opener us, handler Fliggy)
//!   (none) -open-> DRAFT -startRelation(out, accepted)-> OPEN
//!   OPEN         urgeCase(out)*, reply(out)*
//!   OPEN         -result(in)-> RESULT_RECEIVED (result(in) again = supplement)
//!   OPEN         -sendBack(in)-> SENT_BACK -startRelation(out, resubmit)-> OPEN
//!   any open     -endRelation(out)-> CLOSED (withdraw)
//!   DRAFT        counts as OPEN for Fliggy's result/sendBack/reply (it evidently has the
//!                case; our delivery outcome has not been recorded yet)
//! ```

use super::model::{Actor, CaseError, CaseState, Owner, RelationType};

use CaseState::*;
use RelationType::*;

/// Who may send `t` on a case owned by `owner`: `None` = either side.
pub fn sender_of(owner: Owner, t: RelationType) -> Option<Actor> {
    let opener = match owner {
        Owner::Fliggy => Actor::Fliggy,
        Owner::Supplier => Actor::Supplier,
    };
    let handler = match owner {
        Owner::Fliggy => Actor::Supplier,
        Owner::Supplier => Actor::Fliggy,
    };
    match t {
        StartRelation | UrgeCase | EndRelation => Some(opener),
        // notify-only cases are offered to Fliggy only (§1.5).
        Notify => Some(Actor::Fliggy),
        Result | SendBack => Some(handler),
        Reply => None,
    }
}

/// The state a message opens a new case in, or `None` if it cannot open one.
pub fn opening(actor: Actor, t: RelationType) -> Option<(Owner, CaseState)> {
    match (actor, t) {
        (Actor::Fliggy, StartRelation) => Some((Owner::Fliggy, Open)),
        (Actor::Fliggy, Notify) => Some((Owner::Fliggy, Notified)),
        (Actor::Supplier, StartRelation) => Some((Owner::Supplier, Draft)),
        _ => None,
    }
}

/// The next state of a case in `state`, owned by `owner`, when `actor` sends `t`; or the
/// refusal of its kind. `label` names the case in messages (`case 0000000`).
///
/// Checks, in order: direction ([`CaseError::Direction`]), closed ([`CaseError::CaseClosed`], except a repeated
/// `endRelation` from Fliggy), then the transition table ([`CaseError::InvalidTransition`]).
pub fn transition(owner: Owner, state: CaseState, actor: Actor, t: RelationType, label: &str) -> std::result::Result<CaseState, CaseError> {
    // notify-only collaboration is offered from Fliggy to us only (§1.5).
    if t == Notify && actor == Actor::Supplier {
        return Err(CaseError::Direction("notify is sent only by Fliggy".into()));
    }
    if t == Notify && owner == Owner::Supplier {
        return Err(CaseError::Direction("notify is not offered on a supplier-initiated case".into()));
    }
    if let Some(sender) = sender_of(owner, t) {
        if sender != actor {
            return Err(CaseError::Direction(format!("{t} for a {} case must come from {}", owner.label(), sender.label())));
        }
    }
    if state == Closed {
        if t == EndRelation && actor == Actor::Fliggy {
            return Ok(Closed);
        }
        return Err(CaseError::CaseClosed(format!("{label} is closed")));
    }
    let next = match (owner, actor, t, state) {
        // Fliggy-owned, from Fliggy.
        (Owner::Fliggy, Actor::Fliggy, StartRelation, Open | ResultSent) => Some(state),
        (Owner::Fliggy, Actor::Fliggy, StartRelation, SentBack) => Some(Open),
        (Owner::Fliggy, Actor::Fliggy, Notify, Notified) => Some(Notified),
        (Owner::Fliggy, Actor::Fliggy, UrgeCase, Open | ResultSent | SentBack) => Some(state),
        (Owner::Fliggy, Actor::Fliggy, EndRelation, _) => Some(Closed),
        // Fliggy-owned, from us.
        (Owner::Fliggy, Actor::Supplier, Result, Open | ResultSent) => Some(ResultSent),
        (Owner::Fliggy, Actor::Supplier, SendBack, Open) => Some(SentBack),
        (Owner::Fliggy, Actor::Supplier, Reply, Open) => Some(Open),
        // Supplier-owned, from Fliggy.
        (Owner::Supplier, Actor::Fliggy, Result, Draft | Open | ResultReceived) => Some(ResultReceived),
        (Owner::Supplier, Actor::Fliggy, SendBack, Draft | Open) => Some(SentBack),
        // Supplier-owned, from us.
        (Owner::Supplier, Actor::Supplier, StartRelation, Draft | SentBack) => Some(Open),
        (Owner::Supplier, Actor::Supplier, UrgeCase | Reply, Open) => Some(Open),
        (Owner::Supplier, Actor::Supplier, EndRelation, _) => Some(Closed),
        // A reply from Fliggy is a note on any open case (§1.5).
        (_, Actor::Fliggy, Reply, _) => Some(state),
        _ => None,
    };
    next.ok_or_else(|| {
        if state == Notified {
            CaseError::InvalidTransition(format!("{t} not allowed on notify-only case"))
        } else {
            CaseError::InvalidTransition(format!("{t} not allowed on {label} in state {state}"))
        }
    })
}
