//! rustls client configuration: the bundled web PKI roots or `--cacert`'s, a client
//! certificate for mTLS (`--cert`/`--key`), ALPN for HTTP/2, `--sni`, and `--insecure`.

use std::path::Path;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};

/// What `--cacert`, `--cert`/`--key` and `--sni` change, read and checked once before the run.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Trusted instead of the bundled web PKI roots.
    pub roots: Option<Arc<rustls::RootCertStore>>,
    /// The client certificate chain and its key, for servers that ask for one.
    pub identity: Option<Arc<CertifiedKey>>,
    /// Sent as SNI and verified instead of the URL's host.
    pub sni: Option<String>,
}

impl TlsOptions {
    /// Reads the PEM files; each error is one line naming the flag and the file.
    pub fn load(
        cacert: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        sni: Option<&str>,
    ) -> Result<Self, String> {
        let roots = cacert
            .map(|path| {
                let certs = read_certs(path, "--cacert")?;
                let mut store = rustls::RootCertStore::empty();
                for cert in certs {
                    store.add(cert).map_err(|e| {
                        format!(
                            "--cacert {}: not a usable CA certificate: {e}",
                            path.display()
                        )
                    })?;
                }
                Ok::<_, String>(Arc::new(store))
            })
            .transpose()?;
        let identity = match (cert, key) {
            (None, None) => None,
            (Some(_), None) => {
                return Err("--cert needs --key (the certificate's private key)".into());
            }
            (None, Some(_)) => return Err("--key needs --cert (the client certificate)".into()),
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "--cert")?;
                let der = read(key, "--key")?;
                let private = PrivateKeyDer::from_pem_slice(&der).map_err(|e| {
                    format!("--key {}: no PEM private key in it ({e})", key.display())
                })?;
                let certified = CertifiedKey::from_der(chain, private, &ring::default_provider())
                    .map_err(|e| match e {
                    rustls::Error::InconsistentKeys(_) => format!(
                        "--key {} does not match the certificate in --cert {}",
                        key.display(),
                        cert.display()
                    ),
                    e => format!("--key {}: {e}", key.display()),
                })?;
                Some(Arc::new(certified))
            }
        };
        let sni = sni
            .map(|name| {
                ServerName::try_from(name.to_string())
                    .map(|_| name.to_string())
                    .map_err(|e| format!("--sni {name:?}: {e}"))
            })
            .transpose()?;
        Ok(Self {
            roots,
            identity,
            sni,
        })
    }
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {}: cannot read the file: {e}", path.display()))
}

fn read_certs(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path, flag)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{flag} {}: not a PEM certificate file ({e})",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{flag} {}: no PEM certificate in it",
            path.display()
        ));
    }
    Ok(certs)
}

pub fn client_config(
    insecure: bool,
    http2: bool,
    options: &TlsOptions,
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let builder = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
    } else {
        let roots = match &options.roots {
            Some(roots) => rustls::RootCertStore::clone(roots),
            None => rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        builder.with_root_certificates(roots)
    };
    let mut config = match &options.identity {
        Some(identity) => {
            builder.with_client_cert_resolver(Arc::new(Identity(Arc::clone(identity))))
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Arc::new(config)
}

/// `--cert`/`--key`: the one client certificate, offered whenever a server asks.
#[derive(Debug)]
struct Identity(Arc<CertifiedKey>);

impl ResolvesClientCert for Identity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// `--insecure`: accept any certificate, but still check handshake signatures so the
/// connection is a real TLS connection.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
