//! TLS for client connections (rustls with ring): load a PEM certificate and key, or
//! generate a self-signed pair once into the data directory (as mysqld does on first
//! start) and reuse it afterwards.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// File names of the generated pair inside the data directory.
pub const GENERATED_CERT: &str = "server-cert.pem";
pub const GENERATED_KEY: &str = "server-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("bad PEM in {path}: {msg}")]
    Pem { path: String, msg: String },
    #[error("generating a certificate: {0}")]
    Generate(String),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config from PEM certificate chain and key files.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
        path: cert.display().to_string(),
        source,
    })?;
    let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
        path: key.display().to_string(),
        source,
    })?;
    from_pem(&cert_pem, &key_pem, &cert.display().to_string())
}

fn from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    what: &str,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: what.to_string(),
            msg: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: what.to_string(),
            msg: "no certificate".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
        path: what.to_string(),
        msg: e.to_string(),
    })?;
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(cfg))
}

/// A self-signed certificate for localhost, as PEM (certificate, key).
pub fn generate_pem() -> Result<(String, String), TlsError> {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

/// The pair in `datadir`, generated there if absent.
pub fn load_or_generate(datadir: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert = datadir.join(GENERATED_CERT);
    let key = datadir.join(GENERATED_KEY);
    if !cert.exists() || !key.exists() {
        let (c, k) = generate_pem()?;
        for (path, data) in [(&cert, c), (&key, k)] {
            std::fs::write(path, data).map_err(|source| TlsError::Write {
                path: path.display().to_string(),
                source,
            })?;
        }
        tracing::info!(
            "generated a self-signed TLS certificate in {}",
            cert.display()
        );
    }
    load(&cert, &key)
}

/// A throwaway self-signed config (in-memory servers).
pub fn ephemeral() -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (c, k) = generate_pem()?;
    from_pem(c.as_bytes(), k.as_bytes(), "generated certificate")
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_pair_loads_and_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        super::load_or_generate(dir.path()).unwrap();
        let first = std::fs::read(dir.path().join(super::GENERATED_CERT)).unwrap();
        super::load_or_generate(dir.path()).unwrap();
        let second = std::fs::read(dir.path().join(super::GENERATED_CERT)).unwrap();
        assert_eq!(first, second);
        super::ephemeral().unwrap();
    }
}
