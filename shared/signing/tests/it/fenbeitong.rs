//! Fenbeitong's call signature (partners.md §2.5): the published vectors and one computed
//! independently (Python's hashlib), over a decision's `data` as the domain renders it.

use busgate_signing::fenbeitong::{sign, sign_request};

#[test]
fn sign_matches_independent_vectors() {
    // partners.md §2.5 vectors
    let key = "e376f7f93020af4958c51de227d63368";
    assert_eq!(sign("151550234600", r#"{"type":"6"}"#, key), "7fab5c3367286ca9aa935ff774617999");
    assert_eq!(sign("1635820323000", r#"{"apply_id":"567687687987899","third_id":"T-1"}"#, key), "e58c949db4f6deb95268424cac48eb26");
    // computed with: python3 -c 'import hashlib; print(hashlib.md5(("timestamp=1700000000123&data="
    //   + DATA + "&sign_key=k3y-测试").encode("utf-8")).hexdigest())'
    let data = r#"{"apply_id":"567687687987899","category":"9","comment":"行程未变更","third_id":"567687687987899"}"#;
    let req = sign_request(data, 1_700_000_000_123, "k3y-测试");
    assert_eq!(req.timestamp, "1700000000123");
    assert_eq!(req.sign, "8c0f1384a3a3b21ae5295976024cc69a");
    assert_eq!(req.data, data);
    assert_eq!(
        req.form_body("tok en"),
        "access_token=tok+en&timestamp=1700000000123&sign=8c0f1384a3a3b21ae5295976024cc69a&data=%7B%22apply_id%22%3A%22567687687987899%22%2C%22category%22%3A%229%22%2C%22comment%22%3A%22%E8%A1%8C%E7%A8%8B%E6%9C%AA%E5%8F%98%E6%9B%B4%22%2C%22third_id%22%3A%22567687687987899%22%7D"
    );
}
