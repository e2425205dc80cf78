//! `busgate sign top|spi`: the signatures TOP and Qimen expect, for debugging a mismatch.
//!
//! Only the signature goes to stdout; notes and errors go to stderr.

use std::io::Read;
use std::path::PathBuf;

use busgate_signing::{parse_query, spi_sign, top_sign, SignMethod, SpiError, SpiRequest};

const DEFAULT_SPI_CONTENT_TYPE: &str = "application/json;charset=utf-8";

#[derive(clap::Subcommand)]
pub enum SignCommand {
    /// Sign an outbound TOP API call; prints the uppercase `sign`.
    ///
    /// Pass every parameter that is sent, `sign_method` included (it is signed like any
    /// other): busgate sign top --secret S --sign-method hmac sign_method=hmac method=... v=2.0
    #[command(after_help = "A secret starting with '-' is written --secret=VALUE.")]
    Top(TopArgs),
    /// Compute the `sign` Qimen sends with an SPI call (MD5 over headers named in
    /// top-sign-list, the query, the form fields or the raw body).
    #[command(after_help = "A secret starting with '-' is written --secret=VALUE.")]
    Spi(SpiArgs),
}

#[derive(clap::Args)]
pub struct TopArgs {
    /// App secret.
    #[arg(long)]
    secret: String,
    /// Algorithm: md5, hmac (HMAC-MD5) or hmac-sha256. Only chooses the algorithm: the
    /// `sign_method` parameter must be passed as NAME=VALUE as well.
    #[arg(long, default_value = "md5", value_parser = ["md5", "hmac", "hmac-sha256"])]
    sign_method: String,
    /// Raw body appended after the parameters (Qimen/batch body-carrying calls only); `-` for stdin.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// Parameters as NAME=VALUE (split at the first `=`), values not URL-encoded. Blank values
    /// are not signed, `sign` is ignored.
    #[arg(value_name = "NAME=VALUE")]
    params: Vec<String>,
}

#[derive(clap::Args)]
pub struct SpiArgs {
    /// App secret (the merchant app's, whose key arrives as target_app_key).
    #[arg(long)]
    secret: String,
    /// The query string exactly as in the URL (URL-encoded), without `sign`.
    #[arg(long, value_name = "RAW_QUERY")]
    query: String,
    /// The raw request body; `-` reads stdin. For a form content type it holds the form fields.
    #[arg(long, value_name = "FILE")]
    body_file: PathBuf,
    /// A request header as on the wire, 'Name: value' (repeatable). Headers count only when a
    /// `top-sign-list` header names them.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Content-Type of the request (text types sign the body, form types sign the form fields).
    #[arg(long, value_name = "TYPE", default_value = DEFAULT_SPI_CONTENT_TYPE)]
    content_type: String,
}

pub fn run(cmd: SignCommand) -> Result<(), String> {
    let sign = match cmd {
        SignCommand::Top(args) => run_top(args)?,
        SignCommand::Spi(args) => run_spi(args)?,
    };
    println!("{sign}");
    Ok(())
}

fn run_top(args: TopArgs) -> Result<String, String> {
    let method: SignMethod = args.sign_method.parse()?;
    let mut params = Vec::with_capacity(args.params.len());
    for p in &args.params {
        let (name, value) = p.split_once('=').ok_or_else(|| format!("parameter `{p}` is not NAME=VALUE"))?;
        if name.is_empty() {
            return Err(format!("parameter `{p}` has an empty name"));
        }
        params.push((name, value));
    }
    // A common cause of mismatches: `sign_method` says one thing, the algorithm another.
    if let Some((_, sent)) = params.iter().rev().find(|(n, _)| *n == "sign_method") {
        if *sent != method.as_str() {
            eprintln!("warning: parameter sign_method={sent} but signing with {} (choose the algorithm with --sign-method)", method.as_str());
        }
    } else {
        eprintln!("note: no sign_method parameter; TOP requires one and signs it like the others");
    }
    if params.iter().any(|(n, _)| *n == "sign") {
        eprintln!("note: the `sign` parameter is never signed; ignored");
    }
    let body = args.body_file.as_deref().map(read_body).transpose()?;
    Ok(top_sign(&params, body.as_deref(), &args.secret, method))
}

fn run_spi(args: SpiArgs) -> Result<String, String> {
    let query = args.query.strip_prefix('?').unwrap_or(&args.query);
    let headers = args.headers.iter().map(|h| parse_header(h)).collect::<Result<Vec<_>, _>>()?;
    let body = read_body(&args.body_file)?;
    if !headers.is_empty() && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("top-sign-list")) {
        eprintln!("note: no top-sign-list header, so no header is signed");
    }
    let req = SpiRequest { raw_query: query, headers: &headers, content_type: Some(&args.content_type), body: &body };
    let sign = spi_sign(&req, &args.secret).map_err(|e| match e {
        SpiError::UnsupportedContentType(ct) => format!(
            "unsupported content type `{ct}`: Qimen signs application/json, text/xml, application/xml, \
             text/plain (body) or application/x-www-form-urlencoded (form fields)"
        ),
        other => other.to_string(),
    })?;
    if let Some(sent) = parse_query(query).get("sign") {
        let verdict = if *sent == sign { "matches" } else { "does NOT match" };
        eprintln!("note: the query already carries sign={sent}; it {verdict} (sign itself is not signed)");
    }
    Ok(sign)
}

/// `Name: value` → (name, value); whitespace around both is dropped, as an HTTP server does.
fn parse_header(h: &str) -> Result<(String, String), String> {
    let (name, value) = h.split_once(':').ok_or_else(|| format!("header `{h}` is not 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("header `{h}` has an empty name"));
    }
    Ok((name.to_string(), value.trim_matches([' ', '\t']).to_string()))
}

fn read_body(path: &std::path::Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read the body from stdin: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read body file `{}`: {e}", path.display()))
    }
}
