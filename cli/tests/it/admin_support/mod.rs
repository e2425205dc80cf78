//! Helpers of the back-office tests: a temp store folder, the real `busgate` binary, the demo
//! catalogue as a file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use busgate_domain::catalogue::{demo_catalogue, CatalogueFile, PlannedDeparture};
use busgate_domain::gmt8;
use chrono::{NaiveDate, Utc};
use serde_json::Value;

/// A fresh folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join("busgate-admin-tests").join(format!("{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes a test's folder (left in place when the test fails, for a look).
pub fn cleanup(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// A port nothing listens on (so that no local mode answers).
pub const NO_SERVER: &str = "http://127.0.0.1:1";

/// What a run of the binary printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    pub fn failed(&self) -> &Self {
        assert_ne!(self.code, 0, "expected a failure\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

fn run_command(mut cmd: Command) -> Run {
    let Output { status, stdout, stderr } = cmd.output().expect("busgate runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The `busgate` binary with a clean environment for the back office.
pub fn command(args: &[&str], extra_env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_busgate"));
    cmd.args(args);
    for var in ["BUSGATE_SERVER", "BUSGATE_DATA", "BUSGATE_TARGET", "BUSGATE_LOG", "BUSGATE_NOTIFY_COALESCE_SECS"] {
        cmd.env_remove(var);
    }
    cmd.env("BUSGATE_OPERATOR", "测试员");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `busgate ARGS --data DATA --server NO_SERVER` (the embedded store, opened directly).
pub fn busgate(data: &Path, args: &[&str]) -> Run {
    busgate_env(data, args, &[])
}

pub fn busgate_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    let data = data.to_str().unwrap().to_string();
    all.extend(["--data", &data, "--server", NO_SERVER]);
    run_command(command(&all, env))
}

/// Runs `busgate ARGS --server URL`.
pub fn busgate_at(server: &str, args: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--server", server]);
    run_command(command(&all, &[]))
}

/// Today in GMT+8 (the operator's day).
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&gmt8()).date_naive()
}

/// The demo catalogue of today.
pub fn demo() -> CatalogueFile {
    demo_catalogue(today())
}

/// Writes a catalogue file into `dir`.
pub fn write_file(dir: &Path, name: &str, file: &CatalogueFile) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, file.to_json()).unwrap();
    path
}

/// A departure of the demo catalogue at least two days ahead, on sale and not stopped.
pub fn future_departure(file: &CatalogueFile, line_id: &str) -> PlannedDeparture {
    let planned = file.planned_departures().unwrap();
    planned
        .into_iter()
        .find(|p| file.lines[p.line_index].line.id == line_id && p.stop.is_none() && p.date >= today() + chrono::Duration::days(2))
        .expect("a future demo departure")
}

/// Path of a catalogue fixture of the domain's tests.
pub fn domain_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/domain/tests/fixtures/catalogue").join(name)
}

/// Path of a Fenbeitong notice fixture.
pub fn fenbeitong_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fenbeitong").join(name)
}
