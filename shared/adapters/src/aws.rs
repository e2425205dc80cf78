//! The one AWS configuration helper. Every SDK client is built from it, so the rustls/ring
//! HTTP client is always set (without it the slim SDK build panics at the first call).
//!
//! Two sources: a Lambda function reads its region, credentials and endpoint overrides straight
//! from its environment ([`function_config`]: nothing to load, no provider chain linked or run
//! at init); the operator's machine (the CLI's `--target aws`, the tests) loads aws-config's
//! default chains ([`aws_config`]: profiles, SSO, web identity, instance metadata).

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_types::base64;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The ring-based rustls HTTP client every SDK client uses, trusting the system's CA bundle.
fn http_client() -> aws_sdk_sqs::config::SharedHttpClient {
    https_client(trust_store(&env))
}

fn https_client(trust: TrustStore) -> aws_sdk_sqs::config::SharedHttpClient {
    let tls = TlsContext::builder().with_trust_store(trust).build().expect("a TLS context without server names always builds");
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).tls_context(tls).build_https()
}

/// The system's CA bundles, where OpenSSL's layouts put them (Lambda's Amazon Linux 2023
/// first, then Debian/Ubuntu, Alpine).
const CA_BUNDLES: &[&str] = &[
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

/// The roots the SDK clients trust: the system's one CA bundle file (`SSL_CERT_FILE` when set,
/// else the first of [`CA_BUNDLES`] there is), when rustls reads every certificate in it;
/// otherwise the SDK's native roots. Why: the native loader reads the bundle *and* every file
/// of the hashed certificate directory, the same certificates again; measured on Debian, that
/// was 8 of a function's 12 ms of CPU at init. The SDK parses a bundle given to it once per
/// client (about 1 ms each), still well under that. `SSL_CERT_DIR` set asks for a directory:
/// native roots then.
fn trust_store(env: &dyn Fn(&str) -> Option<String>) -> TrustStore {
    let native = || TrustStore::empty().with_native_roots(true);
    if env("SSL_CERT_DIR").is_some() {
        return native();
    }
    // An explicit SSL_CERT_FILE is that file or, unreadable, the native loader (which reports it).
    let pem = match env("SSL_CERT_FILE") {
        Some(path) => std::fs::read(path).ok(),
        None => CA_BUNDLES.iter().find_map(|path| std::fs::read(path).ok()),
    };
    match pem.as_deref().and_then(trusted_bundle) {
        Some(bundle) => TrustStore::empty().with_pem_certificate(bundle),
        None => native(),
    }
}

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

/// The bundle to hand the SDK: every certificate of `pem`, re-encoded as plain PEM (64-column
/// lines, nothing between blocks), if there is at least one and rustls takes every one as a
/// trust anchor; `None` otherwise. The SDK `expect`s each certificate it is given to parse
/// (the native loader skips bad ones instead), so a bundle that is not clean is left to the
/// native loader rather than risk a panic at init.
fn trusted_bundle(pem: &[u8]) -> Option<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    let certificates = certificates(pem)?;
    let (valid, invalid) =
        rustls::RootCertStore::empty().add_parsable_certificates(certificates.iter().map(|der| CertificateDer::from(der.as_slice())));
    if valid == 0 || invalid > 0 {
        return None;
    }
    let mut bundle = Vec::with_capacity(pem.len());
    for der in &certificates {
        bundle.extend_from_slice(PEM_BEGIN);
        bundle.push(b'\n');
        for line in base64::encode(der).as_bytes().chunks(64) {
            bundle.extend_from_slice(line);
            bundle.push(b'\n');
        }
        bundle.extend_from_slice(PEM_END);
        bundle.push(b'\n');
    }
    Some(bundle)
}

/// The DER of each `CERTIFICATE` block of a PEM bundle, in order (text outside blocks, such as
/// the labels of Amazon Linux's bundle, and other block types are skipped); `None` if a block
/// is not base64 or not closed. rustls' own PEM reader finds the same certificates (tested),
/// several times slower.
fn certificates(pem: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut block: Option<Vec<u8>> = None;
    for line in pem.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
        match (&mut block, line) {
            (None, PEM_BEGIN) => block = Some(Vec::with_capacity(2048)),
            (None, _) => {}
            (Some(base64), PEM_END) => {
                out.push(base64::decode(std::str::from_utf8(base64).ok()?).ok()?);
                block = None;
            }
            (Some(base64), line) => base64.extend_from_slice(line),
        }
    }
    block.is_none().then_some(out)
}

/// Loads the AWS configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL_*` for emulators) with the ring-based rustls HTTP client.
pub async fn aws_config() -> SdkConfig {
    let http = http_client();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await
}

/// A Lambda function's configuration, from the environment the Lambda service gives every
/// function: `AWS_REGION`, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`
/// (valid for the execution environment's life), and the `AWS_ENDPOINT_URL[_<SERVICE>]`
/// overrides (the offline stack's emulators). The SDK clients add their defaults (retry,
/// timeouts, Tokio sleep, identity cache) themselves.
pub fn function_config() -> SdkConfig {
    let mut b = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).http_client(http_client()).service_config(EnvEndpoints);
    b.set_region(env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).map(Region::new));
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let credentials = Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        b.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    b.build()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Endpoint overrides from the environment, as aws-config reads them: the service's own
/// variable (`AWS_ENDPOINT_URL_DYNAMODB`), else the global one (`AWS_ENDPOINT_URL`).
#[derive(Debug)]
struct EnvEndpoints;

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        env(&format!("{}_{service}", key.env())).or_else(|| env(key.env()))
    }
}

/// A configuration for an emulator at `endpoint` with fixed test credentials and region: it
/// never consults the default provider chains (which would try the instance metadata service).
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let http = http_client();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "emulator"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The DynamoDB table alone (functions that never send to the queue).
pub fn connect_store(sdk: &SdkConfig, table: &str) -> crate::DynamoStore {
    crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table)
}

/// The production adapters: the DynamoDB table and the SQS queue pair, on one configuration.
pub fn connect(sdk: &SdkConfig, table: &str, queue_url: &str, dlq_url: &str) -> (crate::DynamoStore, crate::SqsQueue) {
    (crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table), crate::SqsQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url, dlq_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_overrides_read_the_service_variable_then_the_global_one() {
        // Variables of this test's own prefix: no other test reads them.
        let key = |service| ServiceConfigKey::builder().service_id(service).env("BUSGATE_TEST_ENDPOINT").profile("endpoint_url").build().unwrap();
        std::env::set_var("BUSGATE_TEST_ENDPOINT_DYNAMODB", "http://127.0.0.1:8000");
        std::env::set_var("BUSGATE_TEST_ENDPOINT_SECRETS_MANAGER", " ");
        assert_eq!(EnvEndpoints.load_config(key("DynamoDB")).as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(EnvEndpoints.load_config(key("SQS")), None);
        std::env::set_var("BUSGATE_TEST_ENDPOINT", "http://127.0.0.1:5000");
        assert_eq!(EnvEndpoints.load_config(key("SQS")).as_deref(), Some("http://127.0.0.1:5000"));
        // A blank service variable is absent; a service id with a space becomes `_`.
        assert_eq!(EnvEndpoints.load_config(key("Secrets Manager")).as_deref(), Some("http://127.0.0.1:5000"));
    }

    const AMAZON_ROOT_CA_1: &str = include_str!("../fixtures/amazon-root-ca-1.pem");

    #[test]
    fn a_bundle_is_taken_whole_or_left_to_the_native_loader() {
        let certificates_in = |bundle: Option<Vec<u8>>| bundle.map(|b| certificates(&b).unwrap().len());
        assert_eq!(certificates_in(trusted_bundle(AMAZON_ROOT_CA_1.as_bytes())), Some(1));
        // Labels between blocks (Amazon Linux writes them) and CRLF line ends are fine.
        let labelled = format!("# Amazon Root CA 1\n{AMAZON_ROOT_CA_1}\n# again\n{}", AMAZON_ROOT_CA_1.replace('\n', "\r\n"));
        let bundle = trusted_bundle(labelled.as_bytes()).unwrap();
        assert_eq!(certificates_in(Some(bundle.clone())), Some(2));
        // What the SDK is given is plain PEM that rustls' own reader reads to the same certificates.
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let by_rustls: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&bundle).map(|c| c.unwrap().to_vec()).collect();
        assert_eq!(by_rustls, certificates(labelled.as_bytes()).unwrap());
        assert!(bundle.split(|&b| b == b'\n').all(|line| line.len() <= 64), "64-column lines");
        // One block that is base64 but no certificate spoils the bundle (the SDK would panic on it).
        let not_a_certificate = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        assert_eq!(trusted_bundle(format!("{AMAZON_ROOT_CA_1}{not_a_certificate}").as_bytes()), None);
        // Broken PEM (no end line, bad base64), no certificate at all, nothing.
        assert_eq!(trusted_bundle(AMAZON_ROOT_CA_1.replace("-----END CERTIFICATE-----", "").as_bytes()), None);
        assert_eq!(trusted_bundle(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), None);
        assert_eq!(trusted_bundle(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), None);
        assert_eq!(trusted_bundle(b""), None);
    }

    #[test]
    fn the_system_bundles_read_as_rustls_reads_them() {
        // Every bundle of this machine: the certificates found are exactly those rustls' own
        // PEM reader finds (which the native loader uses).
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        for path in CA_BUNDLES {
            let Ok(pem) = std::fs::read(path) else { continue };
            let by_rustls: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem).map(|c| c.unwrap().to_vec()).collect();
            assert_eq!(certificates(&pem).unwrap(), by_rustls, "{path}");
        }
    }

    #[tokio::test]
    async fn clients_build_on_the_system_trust_store() {
        // The SDK loads the trust store when a client is built (and `expect`s custom
        // certificates to parse): building one on this machine's store must not panic.
        let client = aws_sdk_dynamodb::Client::new(&function_config());
        assert!(client.config().http_client().is_some());
    }

    fn fixture(name: &str) -> String {
        format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    /// A DynamoDB endpoint over TLS on loopback, its certificate (`localhost`, 127.0.0.1)
    /// issued by the test CA of `fixtures/tls/`: answers every call `{}` (GetItem: no item)
    /// and records the `X-Amz-Target` of each request served. Both certificates are valid
    /// from 2000 to 2125, so the test passes whatever the clock says (under faketime too).
    async fn https_dynamodb() -> (std::net::SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::sync::{Arc, Mutex};
        use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls::{crypto::ring, ServerConfig};
        let chain = CertificateDer::pem_file_iter(fixture("tls/localhost.pem")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("tls/localhost.key")).unwrap();
        let tls = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(Mutex::new(Vec::new()));
        let log = served.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, log) = (acceptor.clone(), log.clone());
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends here.
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let answer = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                        log.lock().unwrap().push(target);
                        async { hyper::Response::builder().header("content-type", "application/x-amz-json-1.0").body(String::from("{}")) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), answer).await;
                });
            }
        });
        (addr, served)
    }

    #[tokio::test]
    async fn calls_go_through_to_a_server_the_bundle_trusts_and_to_no_other() {
        let (addr, served) = https_dynamodb().await;
        // A client as the functions build it, with `SSL_CERT_FILE` naming `bundle`.
        let client = |bundle: String| {
            let trust = trust_store(&|name| (name == "SSL_CERT_FILE").then(|| bundle.clone()));
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .endpoint_url(format!("https://localhost:{}", addr.port()))
                .http_client(https_client(trust))
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .build();
            aws_sdk_dynamodb::Client::from_conf(config)
        };
        let get = |client: aws_sdk_dynamodb::Client| async move {
            client.get_item().table_name("busgate").key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into())).send().await
        };
        // A labelled bundle, Amazon's root first and the test CA last: every certificate of it
        // is trusted, so the call is answered.
        let bundle = std::env::temp_dir().join(format!("busgate-tls-test-{}.pem", std::process::id()));
        let test_ca = std::fs::read_to_string(fixture("tls/test-ca.pem")).unwrap();
        std::fs::write(&bundle, format!("# Amazon Root CA 1\n{AMAZON_ROOT_CA_1}\n# Busgate test CA\n{test_ca}")).unwrap();
        let answer = get(client(bundle.display().to_string())).await;
        let _ = std::fs::remove_file(&bundle);
        assert!(answer.expect("answered over TLS").item.is_none());
        assert_eq!(*served.lock().unwrap(), ["DynamoDB_20120810.GetItem"]);
        // Amazon's root alone does not vouch for the test server: refused at the handshake,
        // nothing sent. (The system's roots, which the SDK would fall back to, do not either.)
        let refused = get(client(fixture("amazon-root-ca-1.pem"))).await.unwrap_err();
        assert!(matches!(refused, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)), "{refused:?}");
        assert_eq!(served.lock().unwrap().len(), 1);
    }
}
