//! Fenbeitong's signed API call (partners.md §2.5): form-encoded `access_token`, `timestamp`,
//! `sign`, `data`, where
//! `sign = lowercase_hex(md5("timestamp=" + ts + "&data=" + data + "&sign_key=" + key))`.

use md5::{Digest, Md5};

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
    crate::hex_lower(&h.finalize())
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
        crate::encode_query(&self.form_fields(access_token))
    }
}
