//! The operator's decision, sent back to Fenbeitong as a signed API call (partners.md §2.1,
//! §2.5): form-encoded `access_token`, `timestamp`, `sign`, `data`, where
//! `sign = lowercase_hex(md5("timestamp=" + ts + "&data=" + data + "&sign_key=" + key))`.

use md5::{Digest, Md5};
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
/// (Busgate uses the apply id itself). Fixed at decision time, so every retry sends the same
/// bytes. Route-level `employee_id`/`employee_type`, if Fenbeitong requires them, are form
/// fields added by the sender from its configuration.
pub fn decision_data(apply_id: &str, third_id: &str, approve: bool, comment: &str) -> String {
    let text = if approve {
        serde_json::to_string(&Approve { apply_id, third_id })
    } else {
        serde_json::to_string(&Reject { apply_id, category: REFUND_CHANGE_CATEGORY, comment, third_id })
    };
    text.expect("plain strings serialise")
}

/// The route a decision `data` goes to: [`REJECT_PATH`] when it carries `"category":"9"`,
/// else [`APPROVE_PATH`]. (The outbox destination carries only `company` and `data`.)
pub fn decision_path(data: &str) -> &'static str {
    let category = serde_json::from_str::<serde_json::Value>(data).ok().and_then(|v| v.get("category").and_then(|c| c.as_str().map(str::to_string)));
    if category.as_deref() == Some(REFUND_CHANGE_CATEGORY) {
        REJECT_PATH
    } else {
        APPROVE_PATH
    }
}

/// `lowercase_hex(md5("timestamp=" + timestamp + "&data=" + data + "&sign_key=" + sign_key))`
/// over UTF-8 bytes.
pub fn sign(timestamp: &str, data: &str, sign_key: &str) -> String {
    let mut h = Md5::new();
    h.update(b"timestamp=");
    h.update(timestamp.as_bytes());
    h.update(b"&data=");
    h.update(data.as_bytes());
    h.update(b"&sign_key=");
    h.update(sign_key.as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// A signed Fenbeitong call, without the access token (fetched by the sender). The sign key is
/// not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Milliseconds since the epoch, decimal (13 digits today).
    pub timestamp: String,
    pub data: String,
    pub sign: String,
}

/// Signs `data` at `timestamp_ms`.
pub fn sign_request(data: &str, timestamp_ms: i64, sign_key: &str) -> SignedRequest {
    let timestamp = timestamp_ms.to_string();
    let sign = sign(&timestamp, data, sign_key);
    SignedRequest { timestamp, data: data.to_string(), sign }
}

impl SignedRequest {
    /// The form fields, in the documented order: `access_token`, `timestamp`, `sign`, `data`.
    pub fn form_fields<'a>(&'a self, access_token: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![("access_token", access_token), ("timestamp", &self.timestamp), ("sign", &self.sign), ("data", &self.data)]
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn form_body(&self, access_token: &str) -> String {
        encode_form(&self.form_fields(access_token))
    }
}

/// `application/x-www-form-urlencoded` encoding (UTF-8; unreserved characters kept, space as
/// `+`, everything else `%XX`).
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}
