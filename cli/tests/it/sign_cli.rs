//! `busgate sign top|spi` against the published vectors (qimen-top.md §5) and the official-SDK
//! fixture.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_busgate");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/official-sdk.json");

const S1_QUERY: &str = "app_key=12345678&customerId=2200000000&format=json&method=qimen.alitrip.bus.product.querynumber&sign_method=md5&target_app_key=87654321&timestamp=2023-08-01+12%3A00%3A00&v=2.0";
const S1_BODY: &str = r#"{"fromCityName":"北京","toStationName":"古北水镇","departDate":"2018-08-08"}"#;
const S1_SIGN: &str = "DFFC7093D77C60E867390B33463161E1";
const S3_QUERY: &str = "app_key=12345678&method=taobao.example.spi&sign_method=md5&timestamp=2023-08-01%2012%3A00%3A00&v=2.0";
const S3_SIGN: &str = "1505B5B8DF36BE3D7DD69CC826A48D7B";

fn busgate<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run busgate");
    if let Some(input) = stdin {
        // The command may exit (on an error) before reading its input.
        match child.stdin.take().unwrap().write_all(input) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    child.wait_with_output().unwrap()
}

/// Runs and expects success; returns stdout, which must be exactly one line.
fn sign_ok<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> String {
    let out = busgate(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with('\n') && stdout.matches('\n').count() == 1, "stdout {stdout:?}");
    stdout.trim_end().to_string()
}

/// Runs and expects a failure with a message on stderr and nothing on stdout; returns stderr.
fn sign_err<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> String {
    let out = busgate(args, stdin);
    assert!(!out.status.success(), "unexpected success: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "stdout {:?}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.trim().is_empty());
    stderr
}

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("busgate-sign-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
    fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn fixture() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect("read the fixture")).unwrap()
}

/// Standard base64 (the fixture's bodies); the CLI crate has no base64 dependency.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// sign top

fn t3_args(sign_method: &str) -> Vec<String> {
    [
        "method=taobao.item.seller.get",
        "app_key=12345678",
        "session=test",
        "timestamp=2016-01-01 12:00:00",
        "format=json",
        "v=2.0",
        "fields=num_iid,title,nick,price,num",
        "num_iid=11223344",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("sign_method={sign_method}")])
    .collect()
}

#[test]
fn top_t5a_md5_is_the_default() {
    let params = [
        "method=taobao.bus.agent.bookticket.confirm",
        "app_key=12345678",
        "session=test",
        "timestamp=2016-01-01 12:00:00",
        "format=json",
        "v=2.0",
        "simplify=true",
        "sign_method=md5",
        r#"param_agent_confirm_book_r_q={"agent_order_id":"3232323","success":true,"ticket_count":1,"fetch_tickets_address":"xxx汽车站"}"#,
    ];
    let mut args = vec!["sign", "top", "--secret", "helloworld"];
    args.extend(params);
    assert_eq!(sign_ok(&args, None), "3CB936EF323E3280FF5114A2D46F1153");
    let mut explicit = vec!["sign", "top", "--secret", "helloworld", "--sign-method", "md5"];
    explicit.extend(params);
    assert_eq!(sign_ok(&explicit, None), "3CB936EF323E3280FF5114A2D46F1153");
}

#[test]
fn top_t4_hmac_sha256() {
    let mut args: Vec<String> = ["sign", "top", "--secret", "helloworld", "--sign-method", "hmac-sha256"].map(String::from).to_vec();
    args.extend(t3_args("hmac-sha256"));
    assert_eq!(sign_ok(&args, None), "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8");
}

#[test]
fn top_t3_hmac_and_value_split_at_first_equals() {
    let mut args: Vec<String> = ["sign", "top", "--secret=helloworld", "--sign-method=hmac"].map(String::from).to_vec();
    args.extend(t3_args("hmac"));
    assert_eq!(sign_ok(&args, None), "D56D7858309C31B6251083A874D48273");
    // `a==b` is a=`=b`: the same as MD5 over "helloworld" "a=b" "helloworld" (Python hashlib).
    assert_eq!(sign_ok(&["sign", "top", "--secret", "helloworld", "a==b"], None), "E5106AF3CD38F31DDA43A2575DC52339");
}

#[test]
fn top_sign_method_mismatch_warns_on_stderr_only() {
    let mut args: Vec<String> = ["sign", "top", "--secret", "helloworld"].map(String::from).to_vec();
    args.extend(t3_args("hmac"));
    let out = busgate(&args, None);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim_end().len(), 32, "only the (md5) signature on stdout: {stdout:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sign_method=hmac"));
}

#[test]
fn official_sdk_top_cases() {
    let fixture = fixture();
    let cases = fixture["top"].as_array().unwrap();
    assert_eq!(cases.len(), 100);
    for (i, case) in cases.iter().enumerate() {
        let mut args = vec![
            "sign".to_string(),
            "top".into(),
            // `=` form: some secrets start with `-` (one is just "-").
            format!("--secret={}", case["secret"].as_str().unwrap()),
            format!("--sign-method={}", case["sign_method"].as_str().unwrap()),
            "--".into(),
        ];
        for (k, v) in case["params"].as_object().unwrap() {
            args.push(format!("{k}={}", v.as_str().unwrap()));
        }
        assert_eq!(sign_ok(&args, None), case["sign"].as_str().unwrap(), "top[{i}]");
    }
}

#[test]
fn secrets_starting_with_a_dash() {
    // top[10] of the fixture: secret "-".
    let args = ["sign", "top", "--secret=-", "--sign-method", "hmac", "x_nrz0=zZ", "app_key1=市TU", "sign_method=hmac"];
    assert_eq!(sign_ok(&args, None), "0238FD167B61764240C9D49D81DB11C7");
    // A longer one, with the `=` form.
    let a = sign_ok(&["sign", "top", "--secret=-x-y", "a=1"], None);
    let b = sign_ok(&["sign", "spi", "--secret=-x-y", "--query", "a=1", "--body-file", "-"], Some(b""));
    // MD5("-x-y" "a1" "-x-y"): md5 TOP and SPI agree without a body (Python hashlib).
    assert_eq!(a, "9103D652D0DA1791D2AD8290B421CA37");
    assert_eq!(b, a);
    // Without `=`, clap refuses it rather than mistaking it for a flag or signing with another secret.
    let err = sign_err(&["sign", "top", "--secret", "-x-y", "a=1"], None);
    assert!(err.contains("unexpected argument '-x'"), "{err}");
}

#[test]
fn top_errors() {
    let err = sign_err(&["sign", "top", "--secret", "s", "--sign-method", "sha1", "a=1"], None);
    assert!(err.contains("sha1"), "{err}");
    let err = sign_err(&["sign", "top", "--secret", "s", "noequals"], None);
    assert!(err.contains("noequals") && err.contains("NAME=VALUE"), "{err}");
    let err = sign_err(&["sign", "top", "--secret", "s", "=v"], None);
    assert!(err.contains("empty name"), "{err}");
    let err = sign_err(&["sign", "top", "a=1"], None);
    assert!(err.contains("--secret"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// sign spi

#[test]
fn spi_s1_from_file_and_stdin() {
    let body = TempFile::new("s1.json", S1_BODY.as_bytes());
    let args = ["sign", "spi", "--secret", "helloworld", "--query", S1_QUERY, "--body-file", &body.arg()];
    assert_eq!(sign_ok(&args, None), S1_SIGN);
    // The JSON content type is the default; stating it gives the same.
    let args = ["sign", "spi", "--secret", "helloworld", "--query", S1_QUERY, "--body-file", "-", "--content-type", "application/json;charset=utf-8"];
    assert_eq!(sign_ok(&args, Some(S1_BODY.as_bytes())), S1_SIGN);
    // A leading `?` is tolerated; a `sign` already in the query is not signed (a note says if it matches).
    let query = format!("?{S1_QUERY}&sign={S1_SIGN}");
    let out = busgate(&["sign", "spi", "--secret", "helloworld", "--query", &query, "--body-file", "-"], Some(S1_BODY.as_bytes()));
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), S1_SIGN);
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches"));
}

#[test]
fn spi_s1_reserialised_body_differs() {
    let spaced = r#"{"fromCityName": "北京", "toStationName": "古北水镇", "departDate": "2018-08-08"}"#;
    let args = ["sign", "spi", "--secret", "helloworld", "--query", S1_QUERY, "--body-file", "-"];
    assert_ne!(sign_ok(&args, Some(spaced.as_bytes())), S1_SIGN);
}

#[test]
fn spi_s3_form() {
    let args =
        ["sign", "spi", "--secret", "helloworld", "--query", S3_QUERY, "--body-file", "-", "--content-type", "application/x-www-form-urlencoded"];
    assert_eq!(sign_ok(&args, Some(b"item_id=1234565&op_type=UPDATE")), S3_SIGN);
}

#[test]
fn spi_official_sdk_cases_with_headers() {
    let fixture = fixture();
    let cases: Vec<&serde_json::Value> = fixture["spi"].as_array().unwrap().iter().filter(|c| !c["headers"].as_array().unwrap().is_empty()).collect();
    assert!(cases.len() >= 10, "the fixture has header cases");
    for (i, case) in cases.iter().enumerate() {
        let mut args = vec![
            "sign".to_string(),
            "spi".into(),
            format!("--secret={}", case["secret"].as_str().unwrap()),
            format!("--query={}", case["raw_query"].as_str().unwrap()),
            "--body-file=-".into(),
            format!("--content-type={}", case["content_type"].as_str().unwrap()),
        ];
        for h in case["headers"].as_array().unwrap() {
            args.push(format!("--header={}: {}", h[0].as_str().unwrap(), h[1].as_str().unwrap()));
        }
        let body = base64_decode(case["body_base64"].as_str().unwrap());
        assert_eq!(sign_ok(&args, Some(&body)), case["sign"].as_str().unwrap(), "header case {i}: {case}");
    }
    // Dropping a signed header changes the sign.
    let case = cases.iter().find(|c| c["headers"].as_array().unwrap().iter().any(|h| h[0] != "top-sign-list" && h[1] != "")).unwrap();
    let mut args = vec![
        "sign".to_string(),
        "spi".into(),
        format!("--secret={}", case["secret"].as_str().unwrap()),
        format!("--query={}", case["raw_query"].as_str().unwrap()),
        "--body-file=-".into(),
    ];
    args.extend(
        case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0] == "top-sign-list")
            .map(|h| format!("--header=top-sign-list: {}", h[1].as_str().unwrap())),
    );
    let body = base64_decode(case["body_base64"].as_str().unwrap());
    assert_ne!(sign_ok(&args, Some(&body)), case["sign"].as_str().unwrap());
}

#[test]
fn spi_errors() {
    let err = sign_err(
        &["sign", "spi", "--secret", "s", "--query", "a=1", "--body-file", "-", "--content-type", "multipart/form-data; boundary=x"],
        Some(b"x"),
    );
    assert!(err.contains("unsupported content type"), "{err}");
    let err = sign_err(&["sign", "spi", "--secret", "s", "--query", "a=1", "--body-file", "/nonexistent/busgate-body"], None);
    assert!(err.contains("/nonexistent/busgate-body"), "{err}");
    let err = sign_err(&["sign", "spi", "--secret", "s", "--query", "a=1", "--body-file", "-", "--header", "no-colon"], Some(b"{}"));
    assert!(err.contains("no-colon"), "{err}");
    let err = sign_err(
        &["sign", "spi", "--secret", "s", "--query", "a=1", "--body-file", "-", "--content-type", "application/json;charset=GBK"],
        Some("{\"城市\":1}".as_bytes()),
    );
    assert!(err.contains("GBK"), "{err}");
    let err = sign_err(
        &["sign", "spi", "--secret", "s", "--query", "a=1", "--body-file", "-", "--content-type", "application/json;charset=x-unknown"],
        Some(b"{}"),
    );
    assert!(err.contains("x-unknown"), "{err}");
    let err = sign_err(&["sign", "spi", "--secret", "s", "--body-file", "-"], Some(b"{}"));
    assert!(err.contains("--query"), "{err}");
}
