//! The operator's decision for Fenbeitong (partners.md §2.1, §2.5) as its call: the `data`
//! and its route, rendered at each attempt from the decision the outbox holds. The signed form
//! around it is `busgate_signing::fenbeitong`'s.

use serde::Serialize;

/// Approve a refund/rebook apply ([LIKELY] public route of `notifyApplyAgree`; confirm with
/// Fenbeitong).
pub const APPROVE_PATH: &str = "/openapi/func/apply/order/changeAndRefund/notifyApplyAgree";
/// Reject (repulse) an apply, official page 4103.
pub const REJECT_PATH: &str = "/openapi/func/apply/common/repulse";
/// Approval scene `category` of refund/rebook applies in the repulse call.
pub const REFUND_CHANGE_CATEGORY: &str = "9";

/// `data` of an approve call: `{"apply_id":…,"third_id":…}`.
#[derive(Serialize)]
struct Approve<'a> {
    apply_id: &'a str,
    third_id: &'a str,
}

/// `data` of a reject call: `{"apply_id":…,"category":"9","comment":…,"third_id":…}`.
#[derive(Serialize)]
struct Reject<'a> {
    apply_id: &'a str,
    category: &'a str,
    comment: &'a str,
    third_id: &'a str,
}

/// The `data` JSON text of a decision on apply `apply_id`. `third_id` is our id for the apply
/// (Busgate uses the apply id itself). Route-level `employee_id`/`employee_type`, if Fenbeitong requires them, are form
/// fields added by the sender from its configuration.
pub fn decision_data(apply_id: &str, third_id: &str, approve: bool, comment: &str) -> String {
    let text = if approve {
        serde_json::to_string(&Approve { apply_id, third_id })
    } else {
        serde_json::to_string(&Reject { apply_id, category: REFUND_CHANGE_CATEGORY, comment, third_id })
    };
    text.expect("plain strings serialise")
}

/// The call of a decision: its route and `data`.
pub fn decision_call(apply_id: &str, approve: bool, comment: &str) -> (&'static str, String) {
    (if approve { APPROVE_PATH } else { REJECT_PATH }, decision_data(apply_id, apply_id, approve, comment))
}

/// The route a decision `data` goes to: [`REJECT_PATH`] when it carries `"category":"9"`,
/// else [`APPROVE_PATH`]. For decisions committed as their `data` text, before the outbox
/// held the decision itself.
pub fn decision_path(data: &str) -> &'static str {
    let category = serde_json::from_str::<serde_json::Value>(data).ok().and_then(|v| v.get("category").and_then(|c| c.as_str().map(str::to_string)));
    if category.as_deref() == Some(REFUND_CHANGE_CATEGORY) {
        REJECT_PATH
    } else {
        APPROVE_PATH
    }
}
