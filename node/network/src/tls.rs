//! JAMNP-S's TLS 1.3 (JAMNP-S "Encryption and handshake"): each side
//! presents a self-signed X.509 certificate of its Ed25519 key whose single
//! alternative name is `N(k)` of that key; each side checks the other's
//! certificate (Ed25519 signature algorithm, Ed25519 key, alternative name
//! matching the key, and when dialing, the key it meant to reach), and the
//! TLS handshake signature proves the peer holds the key. ALPN names the
//! protocol version and the chain (JAMNP-S "ALPN").

use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::peer::{alt_name, PeerId};

/// The protocol version `V` of the ALPN identifier.
pub const PROTOCOL_VERSION: u8 = 0;

/// `jamnp-s/V/H` (or `jamnp-s/V/H/builder`): `H` the first 8 nibbles of the
/// genesis header hash in lower-case hex.
pub fn alpn(genesis: &[u8; 32], builder: bool) -> Vec<u8> {
    let [a, b, c, d, ..] = *genesis;
    let mut id = format!("jamnp-s/{PROTOCOL_VERSION}/{a:02x}{b:02x}{c:02x}{d:02x}");
    if builder {
        id.push_str("/builder");
    }
    id.into_bytes()
}

/// Why a certificate or TLS configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The certificate does not parse as X.509.
    #[error("the certificate does not parse: {0}")]
    Parse(String),
    /// Its signature algorithm is not Ed25519.
    #[error("the certificate's signature algorithm is not Ed25519")]
    NotEd25519Signature,
    /// Its key is not an Ed25519 key.
    #[error("the certificate's key is not an Ed25519 key")]
    NotEd25519Key,
    /// It has not exactly one alternative name.
    #[error("the certificate has {0} alternative names, one expected")]
    AltNames(usize),
    /// Its alternative name is not the one of its key.
    #[error("the certificate's alternative name {found} is not {expected}, its key's")]
    AltNameMismatch {
        /// The name in the certificate.
        found: String,
        /// `N(k)` of its key.
        expected: String,
    },
    /// The peer is not the one dialed.
    #[error("the peer is {found}, {expected} was dialed")]
    UnexpectedPeer {
        /// Who answered.
        found: String,
        /// Who was dialed.
        expected: String,
    },
    /// Building a certificate or a TLS configuration failed.
    #[error("TLS setup: {0}")]
    Setup(String),
}

/// The AlgorithmIdentifier of Ed25519 (RFC 8410): `SEQUENCE { OID 1.3.101.112 }`.
const ED25519_ALGORITHM: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// An Ed25519 SubjectPublicKeyInfo (RFC 8410) before its 32 key octets.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A PKCS #8 v1 Ed25519 private key (RFC 8410) before its 32 secret octets.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// One DER element at the front of `input`: its content and the rest.
fn der_element(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    (end <= input.len()).then(|| (&input[header..end], &input[end..]))
}

/// The certificate's outer `signatureAlgorithm`, whole: the element after
/// the `tbsCertificate` in `Certificate ::= SEQUENCE { tbs, alg, signature }`.
fn signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    let (content, _) = der_element(cert)?;
    let (_tbs, rest) = der_element(content)?;
    let (_, after) = der_element(rest)?;
    Some(&rest[..rest.len() - after.len()])
}

/// Checks a peer's certificate as JAMNP-S asks: an Ed25519 signature
/// algorithm, an Ed25519 key and one alternative name, `N(k)` of that key.
/// The peer's key.
pub fn check_certificate(cert: &CertificateDer<'_>) -> Result<PeerId, CertError> {
    let parsed =
        webpki::EndEntityCert::try_from(cert).map_err(|e| CertError::Parse(format!("{e:?}")))?;
    if signature_algorithm(cert.as_ref()) != Some(&ED25519_ALGORITHM[..]) {
        return Err(CertError::NotEd25519Signature);
    }
    let spki = parsed.subject_public_key_info();
    let spki = spki.as_ref();
    if spki.len() != ED25519_SPKI_PREFIX.len() + 32 || spki[..12] != ED25519_SPKI_PREFIX {
        return Err(CertError::NotEd25519Key);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&spki[12..]);
    let names: Vec<&str> = parsed
        .valid_dns_names()
        .chain(parsed.valid_uri_names())
        .collect();
    if names.len() != 1 {
        return Err(CertError::AltNames(names.len()));
    }
    let expected = alt_name(&key);
    if names[0] != expected {
        return Err(CertError::AltNameMismatch {
            found: names[0].to_owned(),
            expected,
        });
    }
    Ok(PeerId(key))
}

/// A node's TLS identity: its Ed25519 secret, its key and its certificate.
pub struct Identity {
    id: PeerId,
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity of the Ed25519 secret `secret` (an RFC 8032 secret
    /// key, e.g. JIP-5's `ed25519_secret`), with a self-signed certificate.
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, CertError> {
        let public =
            ed25519_zebra::VerificationKeyBytes::from(&ed25519_zebra::SigningKey::from(*secret));
        let id = PeerId(<[u8; 32]>::from(public));
        Self::with_name(secret, id, &id.alt_name())
    }

    /// A certificate of `secret` naming `name` (tests make bad ones).
    pub(crate) fn with_name(secret: &[u8; 32], id: PeerId, name: &str) -> Result<Self, CertError> {
        let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
        pkcs8.extend_from_slice(secret);
        let key = PrivatePkcs8KeyDer::from(pkcs8);
        let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&key, &rcgen::PKCS_ED25519)
            .map_err(|e| CertError::Setup(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])
            .map_err(|e| CertError::Setup(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params
            .self_signed(&pair)
            .map_err(|e| CertError::Setup(e.to_string()))?;
        Ok(Self {
            id,
            cert: cert.der().clone(),
            key,
        })
    }

    /// The node's peer id (its Ed25519 key).
    pub fn id(&self) -> PeerId {
        self.id
    }

    /// The certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }
}

/// rustls on ring: its key exchanges are the classical ones (no
/// post-quantum hybrid, which is why rustls deprecates this constructor);
/// JAMNP-S asks for TLS 1.3 with Ed25519 and nothing more, and ring keeps
/// the C/assembly build small next to aws-lc-rs.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn refuse(e: CertError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(e))))
}

/// Both sides' certificate check: [`check_certificate`], then TLS 1.3's
/// handshake signature with the certificate's Ed25519 key.
#[derive(Debug)]
struct PeerVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl PeerVerifier {
    fn new() -> Self {
        Self {
            algorithms: provider().signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let peer = check_certificate(end_entity).map_err(refuse)?;
        // The dialer names the peer it means by its alternative name.
        if let ServerName::DnsName(name) = server_name {
            if name.as_ref() != peer.alt_name() {
                return Err(refuse(CertError::UnexpectedPeer {
                    found: peer.alt_name(),
                    expected: name.as_ref().to_owned(),
                }));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if dss.scheme != SignatureScheme::ED25519 {
            return Err(rustls::Error::PeerMisbehaved(
                rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
            ));
        }
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

impl ClientCertVerifier for PeerVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        check_certificate(end_entity).map_err(refuse)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls12_signature(self, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls13_signature(self, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

fn setup<E: std::fmt::Display>(e: E) -> CertError {
    CertError::Setup(e.to_string())
}

/// The accepting side's QUIC crypto: TLS 1.3, a client certificate
/// required and checked, `jamnp-s/0/H` and `jamnp-s/0/H/builder` offered.
pub fn server_config(
    identity: &Identity,
    genesis: &[u8; 32],
) -> Result<QuicServerConfig, CertError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(setup)?
        .with_client_cert_verifier(Arc::new(PeerVerifier::new()))
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )
        .map_err(setup)?;
    config.alpn_protocols = vec![alpn(genesis, false), alpn(genesis, true)];
    QuicServerConfig::try_from(config).map_err(setup)
}

/// The dialing side's QUIC crypto with the ALPN identifier `alpn`.
pub fn client_config(identity: &Identity, alpn: Vec<u8>) -> Result<QuicClientConfig, CertError> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(setup)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PeerVerifier::new()))
        .with_client_auth_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )
        .map_err(setup)?;
    config.alpn_protocols = vec![alpn];
    QuicClientConfig::try_from(config).map_err(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_names_version_and_genesis_prefix() {
        let mut genesis = [0u8; 32];
        genesis[..5].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x99]);
        assert_eq!(alpn(&genesis, false), b"jamnp-s/0/deadbeef");
        assert_eq!(alpn(&genesis, true), b"jamnp-s/0/deadbeef/builder");
    }

    #[test]
    fn our_certificate_passes_the_check_with_our_key() {
        let identity = Identity::from_secret(&[7; 32]).expect("an identity");
        assert_eq!(check_certificate(identity.certificate()), Ok(identity.id()));
        // The key is the RFC 8032 public key of the secret.
        let public =
            ed25519_zebra::VerificationKeyBytes::from(&ed25519_zebra::SigningKey::from([7u8; 32]));
        assert_eq!(identity.id().0, <[u8; 32]>::from(public));
    }

    #[test]
    fn a_certificate_naming_another_key_is_refused() {
        let other = Identity::from_secret(&[8; 32]).expect("an identity").id();
        let liar = Identity::with_name(&[7; 32], other, &other.alt_name()).expect("a certificate");
        assert!(matches!(
            check_certificate(liar.certificate()),
            Err(CertError::AltNameMismatch { .. })
        ));
        assert!(matches!(
            check_certificate(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])),
            Err(CertError::Parse(_))
        ));
    }
}
