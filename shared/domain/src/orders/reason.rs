//! Why an order operation was refused, in the business's terms. `busgate_wire::orders` words
//! each reason for Fliggy (the passenger reads it as `retDesc`, `bookFaildMsg` or
//! `refundDesc`); the domain never spells a partner's text.

use serde::{Deserialize, Deserializer, Serialize};

use crate::catalogue::{NotRefundable, SegmentError};

use super::model::TicketStatus;

/// A reason shown to whoever asked. Kept in records (a stored create refusal, a failed
/// issue), tagged: `{"reason":"mismatch","detail":{"mismatch":"price_changed"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum Reason {
    /// The request does not match the departure as sold (a `1401` detail).
    Mismatch(Mismatch),
    /// The refund fee changed since the fee query (refunds/apply's `1401`).
    SurchargeChanged,
    /// The order was cancelled (closed unpaid, or its lock expired).
    OrderCancelled,
    /// The order was closed (its issue failed) and no cause was recorded.
    OrderClosed,
    /// The order has not been issued.
    OrderNotIssued,
    /// Close asked of a paid order: it is refunded instead.
    OrderPaid,
    /// A ticket's state forbids a refund (refunding, refunded, never issued).
    Ticket(TicketStatus),
    /// The refund rule forbids a refund now.
    NotRefundable(NotRefundable),
    /// The refund was approved; it cannot be rejected any more.
    RefundApproved,
    /// The refund was rejected; it cannot be approved any more.
    RefundRejected,
    /// No ticket of the order may still be refunded.
    NothingToRefund,
    /// The departure is not stopped.
    DepartureNotStopped,
    /// An async issue missed its deadline.
    IssueTimedOut,
    /// The operator failed an async issue without saying why.
    IssueFailed,
    /// Words someone gave: the operator's, or those of a record written before reasons were
    /// typed. Shown as they are.
    Said(String),
}

/// What in a create does not match the departure (`1401`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mismatch", rename_all = "snake_case")]
pub enum Mismatch {
    /// Outside the departure's sale window.
    NotOnSale,
    /// The departure's date or time differs from the request's.
    TimeChanged,
    /// The segment cannot be sold.
    Segment { problem: SegmentError },
    /// The custom pick-up point is outside the area station's geofence.
    PickUpOutsideArea,
    /// The custom drop-off point is outside the area station's geofence.
    DropOffOutsideArea,
    /// A child ticket on a segment without a child fare.
    NoChildFare,
    /// A price differs from the segment's fares.
    PriceChanged,
}

impl std::fmt::Display for Reason {
    /// For logs and operators' diagnostics, in English; the partner's words are wire's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Mismatch(Mismatch::Segment { problem }) => write!(f, "mismatch: {problem}"),
            Reason::Mismatch(m) => write!(f, "mismatch: {m:?}"),
            Reason::Ticket(s) => write!(f, "ticket is {s:?}"),
            Reason::NotRefundable(n) => write!(f, "not refundable: {n:?}"),
            Reason::Said(text) => f.write_str(text),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Reads a stored reason: the tagged form, or the plain text that records written before
/// reasons were typed hold (read as [`Reason::Said`]).
pub(crate) fn stored<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Reason>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(Reason),
        Text(String),
    }
    Ok(Option::<Stored>::deserialize(d)?.map(|s| match s {
        Stored::Typed(r) => r,
        Stored::Text(t) => Reason::Said(t),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Holder {
        #[serde(default, deserialize_with = "stored")]
        why: Option<Reason>,
    }

    #[test]
    fn typed_reasons_round_trip_and_old_texts_read_as_said() {
        let reasons = [
            Reason::Mismatch(Mismatch::PriceChanged),
            Reason::Mismatch(Mismatch::Segment { problem: SegmentError::NotBoarding("SHA2".into()) }),
            Reason::Mismatch(Mismatch::Segment { problem: SegmentError::OutOfOrder }),
            Reason::Ticket(TicketStatus::Refunded),
            Reason::NotRefundable(NotRefundable::Tier { min_hours: 2, max_hours: Some(12) }),
            Reason::IssueTimedOut,
            Reason::Said("车辆故障".into()),
        ];
        for r in reasons {
            let text = serde_json::to_string(&Holder { why: Some(r.clone()) }).unwrap();
            let back: Holder = serde_json::from_str(&text).unwrap();
            assert_eq!(back.why, Some(r), "{text}");
        }
        let old: Holder = serde_json::from_str(r#"{"why":"出票超时"}"#).unwrap();
        assert_eq!(old.why, Some(Reason::Said("出票超时".into())));
        let none: Holder = serde_json::from_str("{}").unwrap();
        assert_eq!(none.why, None);
    }
}
