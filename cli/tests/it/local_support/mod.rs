//! The real `busgate local` binary for the load and crash tests (included with `mod`; it holds
//! no tests of its own).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use busgate_cli::local::DEMO_QIMEN_SECRET;
use busgate_edge::Route;

/// A Qimen call of `route` on local mode, signed now with the demo secret.
pub fn signed_url(base: &str, route: Route, body: &[u8]) -> String {
    let timestamp = busgate_signing::format_timestamp(chrono::Utc::now());
    format!("{base}{}?{}", route.path(), busgate_signing::qimen_query(route.default_method().unwrap(), body, DEMO_QIMEN_SECRET, &timestamp))
}

/// Starts `busgate local` on an ephemeral port with its store in `data` and the demo secret
/// (`configure` adds the test's own settings, stderr among them), and returns it with its base
/// URL once the banner says it is ready.
pub fn start(data: &Path, configure: impl FnOnce(&mut Command)) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_busgate"));
    cmd.args(["local", "--addr", "127.0.0.1:0", "--data"]).arg(data).env_remove("BUSGATE_QIMEN_SECRET").stdout(Stdio::piped());
    configure(&mut cmd);
    let mut child = cmd.spawn().expect("busgate local starts");
    // The banner's first line names the address.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "local mode exited before it was ready");
        if let Some(rest) = line.trim().strip_prefix("Busgate local mode is ready on ") {
            break rest.to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, base)
}
