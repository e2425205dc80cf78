//! No drift between local mode and AWS: every binary in `functions/` has exactly one function
//! resource in `template.yaml`, every interface route of local mode is the route of its
//! function there (same path, POST, payload v2), and the template has no route local mode lacks.

use std::collections::{BTreeMap, BTreeSet};

use busgate_edge::Route;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (binary → (method, path, payload version)) for every `AWS::Serverless::Function`.
fn template_functions() -> BTreeMap<String, Vec<(String, String, String)>> {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let mut out: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_function = false;
    let (mut method, mut path) = (String::new(), String::new());
    for line in text.lines() {
        let t = line.trim();
        // A resource starts at two-space indentation.
        if line.starts_with("  ") && !line.starts_with("   ") && t.ends_with(':') {
            in_function = false;
            current = None;
        }
        if t == "Type: AWS::Serverless::Function" {
            in_function = true;
        }
        if !in_function {
            continue;
        }
        if let Some(b) = t.strip_prefix("Binary: ") {
            let b = b.trim().to_string();
            assert!(!out.contains_key(&b), "two function resources build the binary {b}");
            out.insert(b.clone(), Vec::new());
            current = Some(b);
        } else if let Some(m) = t.strip_prefix("Method: ") {
            method = m.trim().to_string();
        } else if let Some(p) = t.strip_prefix("Path: ") {
            path = p.trim().to_string();
        } else if let Some(v) = t.strip_prefix("PayloadFormatVersion: ") {
            let f = current.clone().expect("an event inside a function");
            out.get_mut(&f).unwrap().push((method.clone(), path.clone(), v.trim().trim_matches('"').to_string()));
        }
    }
    out
}

#[test]
fn every_function_binary_has_one_resource_and_every_route_matches() {
    let dirs: BTreeSet<String> =
        std::fs::read_dir(root().join("functions")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let template = template_functions();
    let in_template: BTreeSet<String> = template.keys().cloned().collect();
    assert_eq!(dirs, in_template, "functions/ and template.yaml list different binaries");

    for route in Route::ALL {
        let events = template.get(route.function()).unwrap_or_else(|| panic!("no function for {route:?}"));
        assert_eq!(
            events,
            &vec![("POST".to_string(), route.path().to_string(), "2.0".to_string())],
            "{} must be served by {} as POST, payload v2",
            route.path(),
            route.function()
        );
        assert!(dirs.contains(route.function()));
    }
    let http_functions: BTreeSet<&str> = template.iter().filter(|(_, e)| !e.is_empty()).map(|(f, _)| f.as_str()).collect();
    let mut routes: BTreeSet<&str> = Route::ALL.iter().map(|r| r.function()).collect();
    routes.insert("console");
    assert_eq!(http_functions, routes, "a template route that local mode does not serve");
    // The console: its pages behind the Cognito JWT authorizer; only the sign-in page and its
    // assets open (local mode serves the same paths under /console/).
    let ev = |m: &str, p: &str| (m.to_string(), p.to_string(), "2.0".to_string());
    assert_eq!(
        template["console"],
        vec![ev("ANY", "/console/{proxy+}"), ev("GET", "/console"), ev("GET", "/console/sign-in"), ev("GET", "/console/assets/{file}")]
    );
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let console = &text[text.find("  ConsoleFunction:").unwrap()..text.find("  ConsoleLogGroup:").unwrap()];
    for (event, next) in [("Pages", "Home"), ("Home", "SignIn")] {
        let block = &console[console.find(&format!("        {event}:")).unwrap()..console.find(&format!("        {next}:")).unwrap()];
        assert!(block.contains("Authorizer: ConsoleAuthorizer"), "{block}");
    }
    assert_eq!(text.matches("Authorizer: ConsoleAuthorizer").count(), 2, "only the console's pages are behind the authorizer");
    let api = entry(&text, "HttpApi");
    assert!(api.contains("issuer: !Sub https://cognito-idp.${AWS::Region}.amazonaws.com/${ConsoleUserPool}"), "{api}");
    assert!(api.contains("- !Ref ConsoleUserPoolClient"), "{api}");
}

#[test]
fn every_function_main_only_wires_its_own_route() {
    for route in Route::ALL {
        let main = std::fs::read_to_string(root().join("functions").join(route.function()).join("src/main.rs")).unwrap();
        let call = match route {
            Route::Relation => "lambda::run_relation()".to_string(),
            Route::FenbeitongNotify => "lambda::run_fenbeitong()".to_string(),
            Route::Bus(bus) => format!("lambda::run_bus::<bus::{bus:?}>()"),
        };
        assert!(main.contains(&call), "functions/{}/src/main.rs does not call {call}", route.function());
        assert!(main.lines().count() < 20, "functions/{}/src/main.rs should only wire", route.function());
    }
}

/// The lines of a section's entry (`  Name:` and the lines indented under it).
fn entry(template: &str, name: &str) -> String {
    let mut lines = template.lines().skip_while(|l| *l != format!("  {name}:"));
    let head = lines.next().unwrap_or_else(|| panic!("{name} not in template.yaml"));
    let body: Vec<&str> = lines.take_while(|l| l.starts_with("    ")).collect();
    format!("{head}\n{}", body.join("\n"))
}

#[test]
fn settings_a_production_stack_needs_have_no_empty_default() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for required in ["TopAppKey", "RelationAppName", "SecretsExtensionLayerArn"] {
        let block = entry(&template, required);
        assert!(!block.contains("Default:"), "{required} must be given at deploy time:\n{block}");
        assert!(block.contains("AllowedPattern: \"^") && !block.contains("]*$\""), "{required} must refuse an empty value:\n{block}");
    }
    // The worker gets every partner setting it reads.
    let worker = &template[template.find("  OutboxWorkerFunction:").unwrap()..template.find("  OutboxWorkerEventSource:").unwrap()];
    for var in [
        "BUSGATE_TOP_URL",
        "BUSGATE_TOP_APP_KEY",
        "BUSGATE_TOP_SECRET_PARAM",
        "BUSGATE_TOP_SESSION_PARAM",
        "BUSGATE_RELATION_APP_NAME",
        "BUSGATE_FENBEITONG_URL",
        "BUSGATE_FENBEITONG_ACCESS_TOKEN_PARAM",
        "BUSGATE_FENBEITONG_SIGN_KEY_PARAM",
    ] {
        assert!(worker.contains(&format!("{var}:")), "outbox-worker does not get {var}");
    }
}

/// Symbols of a built function binary (`nm`), from the target directory of this test.
fn symbols(function: &str) -> String {
    let bin = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join(function);
    assert!(bin.exists(), "{} is not built: run `cargo build --workspace --bins` (infra/test.sh does)", bin.display());
    let out = std::process::Command::new("nm").arg("--demangle").arg(&bin).output().expect("nm (binutils) runs");
    // Code only: the destructors of types a function carries but never uses (the App's
    // Fenbeitong token cache, say) are not another interface's code.
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.contains("drop_in_place<")).collect::<Vec<_>>().join("\n")
}

#[test]
fn each_function_links_only_what_its_interface_uses() {
    // Demangled paths of the code a catalogue read must not carry.
    let others = [
        "aws_sdk_sqs::",
        "busgate_domain::orders::",
        "busgate_domain::cases::",
        "busgate_domain::notices::",
        "busgate_wire::orders::",
        "busgate_wire::fenbeitong::",
        "busgate_wire::callbacks::",
        "busgate_edge::inbound::relation::",
        "busgate_edge::inbound::fenbeitong::",
        "busgate_edge::outbound::",
        "busgate_adapters::partners::",
    ];
    for function in ["seats", "from-cities", "to-cities", "lines", "stopped-schedules"] {
        let syms = symbols(function);
        assert!(syms.contains("busgate_edge::inbound::bus::catalogue::"), "{function} has no catalogue handler?");
        for other in others {
            assert!(!syms.contains(other), "{function} links {other}");
        }
    }
    // A writer has the queue client and its own domain, not the partners'.
    let create = symbols("orders-create");
    assert!(create.contains("aws_sdk_sqs::") && create.contains("busgate_domain::orders::"));
    assert!(!create.contains("busgate_domain::notices::") && !create.contains("busgate_edge::inbound::bus::catalogue::seats"));
    let relation = symbols("relation");
    assert!(relation.contains("busgate_domain::cases::") && !relation.contains("busgate_domain::orders::create"));
}

#[test]
fn only_the_worker_links_an_https_client_for_partners_and_no_function_builds_an_env_filter() {
    // Secrets come over plain HTTP from the extension (hyper, which the runtime links anyway);
    // the log level is a level filter, not tracing-subscriber's regex-based EnvFilter.
    let functions = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions")).unwrap();
    let mut checked = 0;
    for entry in functions {
        let function = entry.unwrap().file_name().to_string_lossy().into_owned();
        let syms = symbols(&function);
        assert!(!syms.contains("regex_automata::"), "{function} links regex-automata");
        assert!(!syms.contains("tracing_subscriber::filter::env::"), "{function} links EnvFilter");
        assert_eq!(syms.contains("reqwest::"), function == "outbox-worker", "{function}: reqwest linked iff it calls partners");
        checked += 1;
    }
    assert_eq!(checked, 16, "every function crate checked");
}
