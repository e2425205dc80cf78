//! Shared helpers of the signing tests: the official-SDK fixture and the §5 vectors.
#![allow(dead_code)]

use std::collections::BTreeMap;

use busgate_signing::{SignMethod, SpiRequest};
use serde::Deserialize;

/// `tests/fixtures/official-sdk.json` (a copy of the spec's `vectors/official-sdk.json`).
#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub top: Vec<TopCase>,
    pub spi: Vec<SpiCase>,
}

/// `TaobaoUtils.signTopRequest(params, null, secret, sign_method)` returned `sign`.
#[derive(Debug, Clone, Deserialize)]
pub struct TopCase {
    pub secret: String,
    pub sign_method: String,
    pub params: BTreeMap<String, String>,
    pub sign: String,
}

impl TopCase {
    pub fn method(&self) -> SignMethod {
        self.sign_method.parse().expect("fixture sign_method")
    }
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// A request `SpiUtils.checkSign` accepts: query `raw_query&sign=<sign>`, these headers
/// (wire values), this body.
#[derive(Debug, Clone, Deserialize)]
pub struct SpiCase {
    pub secret: String,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
    pub body_base64: String,
    pub content_type: String,
    pub sign: String,
}

impl SpiCase {
    pub fn body(&self) -> Vec<u8> {
        data_encoding::BASE64.decode(self.body_base64.as_bytes()).expect("fixture body is base64")
    }
    /// The query as it arrives, `sign` last.
    pub fn signed_query(&self) -> String {
        format!("{}&sign={}", self.raw_query, self.sign)
    }
    /// Header names listed in `top-sign-list` (looked up case-insensitively), in list order.
    pub fn signed_header_names(&self) -> Vec<String> {
        header(&self.headers, "top-sign-list").map(|l| l.split(',').map(str::to_string).collect()).unwrap_or_default()
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub fn fixture_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/official-sdk.json").to_string()
}

pub fn fixture() -> Fixture {
    let path = fixture_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("official-sdk.json parses")
}

pub fn request<'a>(query: &'a str, headers: &'a [(String, String)], ct: Option<&'a str>, body: &'a [u8]) -> SpiRequest<'a> {
    SpiRequest { raw_query: query, headers, content_type: ct, body }
}

pub const SECRET: &str = "helloworld";
pub const JSON_UTF8: &str = "application/json;charset=utf-8";
pub const FORM: &str = "application/x-www-form-urlencoded";

// §5.2 S1
pub const S1_QUERY: &str = "app_key=12345678&customerId=2200000000&format=json&method=qimen.alitrip.bus.product.querynumber&sign_method=md5&target_app_key=87654321&timestamp=2023-08-01+12%3A00%3A00&v=2.0";
pub const S1_BODY: &str = r#"{"fromCityName":"北京","toStationName":"古北水镇","departDate":"2018-08-08"}"#;
pub const S1_SIGN: &str = "DFFC7093D77C60E867390B33463161E1";
// §5.2 S2
pub const S2_QUERY: &str = "app_key=12345678&extra=&format=json&method=qimen.alitrip.bus.order.query&sign_method=md5&target_app_key=87654321&timestamp=2023-08-01%2012%3A00%3A00&v=2.0";
pub const S2_BODY: &str = r#"{"agentOrderId":"22333333","alitripOrderId":"33333334444"}"#;
pub const S2_SIGN: &str = "5D7EAF1465A21AB99C7DC2E7F2223CC6";
// §5.2 S3
pub const S3_QUERY: &str = "app_key=12345678&method=taobao.example.spi&sign_method=md5&timestamp=2023-08-01%2012%3A00%3A00&v=2.0";
pub const S3_FORM: &str = "item_id=1234565&op_type=UPDATE";
pub const S3_SIGN: &str = "1505B5B8DF36BE3D7DD69CC826A48D7B";
