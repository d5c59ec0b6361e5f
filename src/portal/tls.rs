//! The portal over https (PROTOCOL.md 5: the official SDKs call the portal over https only).
//! wiremock speaks plain HTTP, so a TLS front terminates TLS on its own loopback port and pipes
//! the decrypted bytes to the wiremock server. The certificate is issued by a CA made for the run
//! (the [`Authority`]), whose PEM a handler is told to trust through a file.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// Why the run's CA could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    #[error("cannot issue the run's certificates: {0}")]
    Issue(#[from] rcgen::Error),
    #[error("cannot configure TLS with the run's certificate: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot write the run's CA certificate to {path}: {source}")]
    CaFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The CA made for one run, and the certificate it issued for the mock portals (127.0.0.1 and
/// localhost, so one certificate serves every portal of the run). Dropping it removes the CA file.
pub struct Authority {
    ca_pem: String,
    ca_file: PathBuf,
    acceptor: TlsAcceptor,
    hosts: HostCertificates,
}

impl Drop for Authority {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("ca_file", &self.ca_file).finish_non_exhaustive()
    }
}

impl Authority {
    /// Makes a CA, issues the portals' certificate, and writes the CA's PEM to a file of its own
    /// in the temporary directory.
    pub fn new() -> Result<Authority, AuthorityError> {
        let credentials = Credentials::issue()?;
        let config = server_config()?.with_single_cert(vec![credentials.leaf], credentials.key)?;
        let ca_file = write_ca_file(&credentials.ca_pem)?;
        let hosts = HostCertificates {
            issuer: Arc::new(credentials.issuer),
            validity: credentials.validity,
            issued: Arc::default(),
        };
        Ok(Authority { ca_pem: credentials.ca_pem, ca_file, acceptor: TlsAcceptor::from(Arc::new(config)), hosts })
    }

    /// Certificates for any host name, issued by this CA as they are asked for.
    pub fn host_certificates(&self) -> HostCertificates {
        self.hosts.clone()
    }

    /// The CA's certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The file holding [`Authority::ca_pem`], for handlers (SSL_CERT_FILE and friends).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
}

/// A TLS server configuration of the run: ring, the safe protocol versions (1.2 and 1.3), no
/// client certificates.
fn server_config() -> Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert>, rustls::Error>
{
    Ok(rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth())
}

/// At most this many host names keep their certificate for reuse; past it, each handshake with
/// a new name gets one issued afresh (a handler that calls thousands of hosts costs time, not
/// memory).
const KEPT_HOSTS: usize = 256;

/// Certificates for whatever host name a client asks for, issued by the run's CA on first use
/// and kept (the intercepting proxy's: `portal-1.bitrix24.test`, oauth.bitrix.info, and any host
/// it refuses). Clones share what was issued.
#[derive(Clone)]
pub struct HostCertificates {
    issuer: Arc<Issuer<'static, KeyPair>>,
    validity: (OffsetDateTime, OffsetDateTime),
    issued: Arc<Mutex<HashMap<String, Arc<CertifiedKey>>>>,
}

impl std::fmt::Debug for HostCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCertificates").finish_non_exhaustive()
    }
}

impl HostCertificates {
    /// A TLS acceptor that presents the certificate of the name the client sends (SNI), or of
    /// `host` when it sends none (clients send no SNI for an IP address).
    pub fn acceptor(&self, host: &str) -> Result<TlsAcceptor, AuthorityError> {
        let resolver = ByName { certificates: self.clone(), fallback: host.to_owned() };
        let config = server_config()?.with_cert_resolver(Arc::new(resolver));
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// The certificate for `host` (a DNS name or an IP address), issued now if not yet.
    pub fn get(&self, host: &str) -> Result<Arc<CertifiedKey>, AuthorityError> {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        if let Some(key) = self.issued.lock().unwrap_or_else(|p| p.into_inner()).get(&host) {
            return Ok(key.clone());
        }
        let san = match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.clone().try_into()?),
        };
        let (leaf, key) = leaf(&self.issuer, &host, vec![san], self.validity)?;
        let key = Arc::new(CertifiedKey::from_der(vec![leaf], key, &rustls::crypto::ring::default_provider())?);
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if issued.len() < KEPT_HOSTS {
            issued.insert(host, key.clone());
        }
        Ok(key)
    }
}

/// Picks the certificate by the name the client asked for.
#[derive(Debug)]
struct ByName {
    certificates: HostCertificates,
    fallback: String,
}

impl ResolvesServerCert for ByName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.certificates.get(hello.server_name().unwrap_or(&self.fallback)).ok()
    }
}

/// TLS handshakes the front refused: a handler that does not trust the run's CA, or speaks plain
/// http to the https portal, fails here and nowhere else the portal can see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakeFailures {
    pub count: usize,
    /// Why the first one failed, as rustls says it (e.g. `received fatal alert: UnknownCA`).
    pub first: String,
}

impl HandshakeFailures {
    /// Both tallies in one, the earlier first reason kept.
    pub fn merge(self, other: HandshakeFailures) -> HandshakeFailures {
        let first = if self.count > 0 { self.first } else { other.first };
        HandshakeFailures { count: self.count + other.count, first }
    }
}

/// How long a client has to complete its handshake; one that connects and says nothing must not
/// hold a task for the rest of the run.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// How long, and how much, a connection whose server stopped reading is still read from.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: u64 = 8 << 20;

/// A running TLS front; dropping it closes its port and its connections.
pub(super) struct TlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
    failures: Arc<Mutex<HandshakeFailures>>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    /// Listens on `addr` and relays every TLS connection, with `authority`'s certificate, to the
    /// plain server at `backend`.
    pub async fn start(addr: SocketAddr, backend: SocketAddr, authority: &Authority) -> io::Result<TlsFront> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let failures = Arc::new(Mutex::new(HandshakeFailures::default()));
        let task = tokio::spawn(serve(listener, authority.acceptor.clone(), backend, failures.clone()));
        Ok(TlsFront { addr, task, failures })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn handshake_failures(&self) -> HandshakeFailures {
        lock(&self.failures).clone()
    }
}

/// The tally stays readable even if a relay panicked while holding it.
fn lock(failures: &Mutex<HandshakeFailures>) -> MutexGuard<'_, HandshakeFailures> {
    failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    backend: SocketAddr,
    failures: Arc<Mutex<HandshakeFailures>>,
) {
    // Owned by this task, so aborting the front also aborts every connection it relays.
    let mut connections = JoinSet::new();
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of file descriptors, typically: wait for connections to close, don't spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(relay(tcp, acceptor.clone(), backend, failures.clone()));
    }
}

async fn relay(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    backend: SocketAddr,
    failures: Arc<Mutex<HandshakeFailures>>,
) -> io::Result<()> {
    // Records are written as they come; without TCP_NODELAY a small answer waits ~40 ms on the
    // client's delayed ACK (STACK.md, Nagle).
    tcp.set_nodelay(true)?;
    let handshake = match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
        Ok(handshake) => handshake,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no handshake within 10 s")),
    };
    let tls = handshake.inspect_err(|e| {
        let mut failures = lock(&failures);
        if failures.count == 0 {
            failures.first = e.to_string();
        }
        failures.count += 1;
    })?;
    let plain = TcpStream::connect(backend).await?;
    plain.set_nodelay(true)?;
    let (mut client_read, mut client_write) = tokio::io::split(tls);
    let (mut backend_read, mut backend_write) = plain.into_split();
    let upstream = async {
        // The server may answer early and close while the client is still sending (431 on a
        // 1 MiB URL): the rest is read and dropped, as a server's lingering close does. Closing
        // with it unread would reset the connection, and the client would lose the answer.
        if tokio::io::copy(&mut client_read, &mut backend_write).await.is_err() {
            let mut rest = (&mut client_read).take(LINGER_BYTES);
            let _ = tokio::time::timeout(LINGER, tokio::io::copy(&mut rest, &mut tokio::io::sink())).await;
        }
        let _ = backend_write.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut backend_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
    Ok(())
}

/// The run's CA and the portal's certificate, issued by it.
struct Credentials {
    ca_pem: String,
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    /// The CA, to issue more certificates with ([`HostCertificates`]), for as long.
    issuer: Issuer<'static, KeyPair>,
    validity: (OffsetDateTime, OffsetDateTime),
}

impl Credentials {
    fn issue() -> Result<Credentials, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        // A little slack before now for clocks that disagree; a month covers any run, and stays
        // under the validity limits some TLS clients put on leaf certificates.
        let (not_before, not_after) = (now - time::Duration::hours(1), now + time::Duration::days(30));

        let mut ca = CertificateParams::default();
        ca.distinguished_name.push(DnType::CommonName, "b24-conform run CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        (ca.not_before, ca.not_after) = (not_before, not_after);
        let ca_key = KeyPair::generate()?;
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        let issuer = Issuer::new(ca, ca_key);

        let sans = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)), SanType::DnsName("localhost".try_into()?)];
        let validity = (not_before, not_after);
        let (leaf, key) = leaf(&issuer, "b24-conform mock portal", sans, validity)?;
        Ok(Credentials { ca_pem, leaf, key, issuer, validity })
    }
}

/// A server certificate for `sans`, issued by `issuer`, and its key.
fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    sans: Vec<SanType>,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rcgen::Error> {
    // webpki refuses a CA certificate as an end entity (STACK.md): the leaf is CA:FALSE.
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name.push(DnType::CommonName, name);
    leaf.subject_alt_names = sans;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    (leaf.not_before, leaf.not_after) = (not_before, not_after);
    let leaf_key = KeyPair::generate()?;
    let leaf_der = leaf.signed_by(&leaf_key, issuer)?.der().clone();
    Ok((leaf_der, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()))))
}

/// Writes the CA's PEM to a file of its own in the temporary directory, named by process and a
/// counter so that runs side by side, in one process or many, never share one.
fn write_ca_file(ca_pem: &str) -> Result<PathBuf, AuthorityError> {
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    let name = format!("b24-conform-ca-{}-{}.pem", std::process::id(), WRITTEN.fetch_add(1, Ordering::Relaxed));
    let path = std::env::temp_dir().join(name);
    // create_new: never follow a link someone left at that name in a shared temporary directory.
    let written = OpenOptions::new().write(true).create_new(true).open(&path).and_then(|mut file| {
        file.write_all(ca_pem.as_bytes()).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })
    });
    written.map(|()| path.clone()).map_err(|source| AuthorityError::CaFile { path, source })
}
