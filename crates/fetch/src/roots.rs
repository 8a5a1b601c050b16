//! The trusted root certificates, read the way Go's crypto/x509 reads
//! them on Linux, handed to ureq as its only roots.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use ureq::tls::Certificate;

/// Certificate bundles Go's crypto/x509 tries on Linux, first found wins.
const CERT_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Directories of certificates Go's crypto/x509 reads on Linux, all of them.
const CERT_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// Adds the certificates of a PEM file that rustls accepts as roots; like
/// Go's `AppendCertsFromPEM`, the ones that do not parse are skipped.
fn add_pem(roots: &mut Vec<Certificate<'static>>, data: &[u8]) {
    let mut check = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(data).flatten() {
        if check.add(cert.clone()).is_ok() {
            roots.push(Certificate::from_der(cert.as_ref()).to_owned());
        }
    }
}

/// The trusted roots, read like Go's `loadSystemRoots`: `SSL_CERT_FILE`
/// (else the first bundle found) plus every file in `SSL_CERT_DIR`
/// (`:`-separated; else the usual directories). Read again at each call,
/// so a changed environment counts.
pub fn system_roots() -> Vec<Certificate<'static>> {
    let mut roots = Vec::new();
    let env_file = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|f| !f.is_empty());
    let files: Vec<String> = match env_file {
        Some(f) => vec![f],
        None => CERT_FILES.iter().map(|s| s.to_string()).collect(),
    };
    for f in files {
        if let Ok(data) = std::fs::read(&f) {
            add_pem(&mut roots, &data);
            break;
        }
    }
    let dirs: Vec<String> = match std::env::var("SSL_CERT_DIR") {
        Ok(d) if !d.is_empty() => d.split(':').map(str::to_string).collect(),
        _ => CERT_DIRS.iter().map(|s| s.to_string()).collect(),
    };
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if let Ok(data) = std::fs::read(e.path()) {
                add_pem(&mut roots, &data);
            }
        }
    }
    roots
}
