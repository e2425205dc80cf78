//! Cross-check with `tests/tools/qimen_sign.py`, an independent Python (stdlib) signer: it
//! must reproduce S1 and the official-SDK signs, and Busgate must verify what it produces.
//! Skipped (with a note on stderr) when `python3` is not installed.

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use busgate_signing::{url_decode, verify_spi};
use common::*;

const TOOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/tools/qimen_sign.py");

fn python() -> Option<&'static str> {
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => Some("python3"),
        _ => {
            eprintln!("python3 not found: skipping the qimen_sign.py cross-check");
            None
        }
    }
}

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("busgate-signing-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The decoded (name, value) pairs of a raw query, in order.
fn decoded_pairs(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (url_decode(k), url_decode(v))
        })
        .collect()
}

fn run(python: &str, args: &[String], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new(python)
        .arg(TOOL)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "qimen_sign.py failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

fn param_args(pairs: &[(String, String)]) -> Vec<String> {
    pairs.iter().map(|(k, v)| format!("--param={k}={v}")).collect()
}

#[test]
fn python_signer_reproduces_s1() {
    let Some(py) = python() else { return };
    let body = TempFile::new("s1.json", S1_BODY.as_bytes());
    let mut args = vec!["--secret".to_string(), SECRET.to_string(), "--body-file".into(), body.0.display().to_string()];
    args.extend(param_args(&decoded_pairs(S1_QUERY)));
    let query = run(py, &args, None);
    assert_eq!(query, format!("{S1_QUERY}&sign={S1_SIGN}"));
    let headers = Vec::new();
    assert_eq!(verify_spi(&request(&query, &headers, Some(JSON_UTF8), S1_BODY.as_bytes()), SECRET), Ok(()));

    // The body from standard input gives the same.
    let mut args = vec!["--secret".to_string(), SECRET.to_string(), "--body-file".into(), "-".into()];
    args.extend(param_args(&decoded_pairs(S1_QUERY)));
    assert_eq!(run(py, &args, Some(S1_BODY.as_bytes())), format!("{S1_QUERY}&sign={S1_SIGN}"));
}

#[test]
fn python_signer_reproduces_s3_form() {
    let Some(py) = python() else { return };
    let body = TempFile::new("s3.form", S3_FORM.as_bytes());
    let mut args = vec!["--secret=helloworld".to_string(), format!("--body-file={}", body.0.display()), format!("--content-type={FORM}")];
    args.extend(param_args(&decoded_pairs(S3_QUERY)));
    let query = run(py, &args, None);
    assert!(query.ends_with(&format!("&sign={S3_SIGN}")), "{query}");
    let headers = Vec::new();
    assert_eq!(verify_spi(&request(&query, &headers, Some(FORM), S3_FORM.as_bytes()), SECRET), Ok(()));
}

#[test]
fn python_signer_with_headers_verifies_in_busgate() {
    let Some(py) = python() else { return };
    const BODY: &str = r#"{"cityName":"香港"}"#;
    let body = TempFile::new("h.json", BODY.as_bytes());
    let wire_headers = [("top-sign-list", "x-b,X-A"), ("X-B", "v%3D1+2"), ("x-a", "%E4%B8%AD"), ("x-other", "1")];
    let mut args = vec!["--secret=-dash".to_string(), format!("--body-file={}", body.0.display())];
    args.extend(param_args(&[("method".into(), "qimen.alitrip.bus.product.querystation".into()), ("extra".into(), "".into())]));
    args.extend(wire_headers.iter().map(|(k, v)| format!("--header={k}: {v}")));
    let query = run(py, &args, None);
    let headers: Vec<(String, String)> = wire_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(verify_spi(&request(&query, &headers, Some(JSON_UTF8), BODY.as_bytes()), "-dash"), Ok(()));
    // Without the signed header, it no longer verifies.
    let fewer: Vec<(String, String)> = headers.iter().filter(|(k, _)| k != "x-a").cloned().collect();
    assert!(verify_spi(&request(&query, &fewer, Some(JSON_UTF8), BODY.as_bytes()), "-dash").is_err());
}

#[test]
fn python_signer_module_reproduces_every_official_spi_case() {
    let Some(py) = python() else { return };
    let cases = fixture().spi;
    // One process for all cases, through the importable `signed_query` function.
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "secret": c.secret,
                "params": decoded_pairs(&c.raw_query),
                "headers": c.headers,
                "body_base64": c.body_base64,
                "content_type": c.content_type,
            })
        })
        .collect();
    let script = r#"
import base64, json, sys
sys.path.insert(0, sys.argv[1])
import qimen_sign
out = []
for c in json.load(sys.stdin):
    body = base64.b64decode(c["body_base64"])
    params = [tuple(p) for p in c["params"]]
    headers = [tuple(h) for h in c["headers"]]
    out.append(qimen_sign.signed_query(c["secret"], params, body, headers, c["content_type"]))
json.dump(out, sys.stdout)
"#;
    let tools_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/tools");
    let mut child = Command::new(py)
        .args(["-c", script, tools_dir])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    child.stdin.take().unwrap().write_all(serde_json::to_string(&input).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let queries: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(queries.len(), cases.len());
    for (i, (case, query)) in cases.iter().zip(&queries).enumerate() {
        assert!(query.ends_with(&format!("&sign={}", case.sign)), "spi[{i}]: {query} vs {}", case.sign);
        // Python's quote_plus encoding differs from the fixture's; Busgate verifies it anyway.
        let body = case.body();
        let req = request(query, &case.headers, Some(&case.content_type), &body);
        assert_eq!(verify_spi(&req, &case.secret), Ok(()), "spi[{i}]: {query}");
    }
}
