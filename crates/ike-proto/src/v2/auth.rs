//! Authentication in IKE_AUTH (RFC 7296 §2.15, §3.6-§3.8): the AUTH payload we send and the
//! check of the peer's, for pre-shared keys and for signatures with certificates.
//!
//! Signatures use RFC 7427 Digital Signature (auth method 14: an AlgorithmIdentifier, then the
//! signature over the signed octets) when the peer announced SIGNATURE_HASH_ALGORITHMS (RFC 7427
//! §4) in IKE_SA_INIT with a hash our key can use, and otherwise the classic methods: 1, RSA
//! PKCS#1 v1.5 with SHA-1 and a DigestInfo (RFC 7296 §3.8), and 9-11, ECDSA on P-256/384/521
//! with SHA-256/384/512 and the fixed-size r‖s signature (RFC 4754 §3, §7). The peer's
//! certificate comes in its first CERT payload (X.509 Signature encoding, §3.6), intermediates in
//! the following ones; the chain is validated against the configured trust anchors at the
//! endpoint's Unix time, the end entity's keyUsage must allow signatures, and it must name the
//! identity of the peer's ID payload (`ike_crypto::x509::matches_identity`) before its key
//! verifies the AUTH payload. CERTREQ payloads (§3.7) carry the SHA-1 hashes of our anchors'
//! SubjectPublicKeyInfo.
//!
//! Every failure of the peer is `ProtocolError::AuthenticationFailed` with a fixed reason, which
//! the responder answers with AUTHENTICATION_FAILED and the initiator turns into a local close.

use ike_crypto::kdf::v2 as kdf;
use ike_crypto::prf::PrfAlg;
use ike_crypto::rng::Rng;
use ike_crypto::sign::{
    self, Curve, EcdsaFormat, Hash, KeyKind, PublicKey, SignatureHashAlgorithm, SignatureScheme,
};
use ike_crypto::x509::{self, Certificate, ChainFailure, KeyUsage};
use ike_wire::v2::{Auth, AuthMethod as WireAuth, CertEncoding, NotifyType, Payload};

use super::payloads::ProtocolError;
use crate::v2::{
    AuthMethod, Credential, Identity, PeerCertPolicy, PeerConfig, DEFAULT_SIGNATURE_HASHES,
};

/// At most this many CERT payloads are parsed; a peer that sends more fails. The chain
/// validation refuses chains deeper than eight certificates anyway.
const MAX_CERTS: usize = 16;

/// How the peer authenticated, reported when the IKE SA is established.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerAuth {
    /// The AUTH method of the peer's AUTH payload.
    pub method: WireAuth,
    /// The signature scheme, for signature methods.
    pub scheme: Option<SignatureScheme>,
    /// Subjects of the validated chain, end entity first and trust anchor last (only the end
    /// entity for a pinned certificate without a trust store); empty for a pre-shared key.
    pub chain: Vec<String>,
}

/// The authentication state of one IKE SA.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthState {
    /// Wall-clock time (seconds since the Unix epoch) for certificate validity, as the endpoint
    /// was last told; `None` until it is told.
    pub(crate) unix_now: Option<i64>,
    /// The hash algorithms of the peer's SIGNATURE_HASH_ALGORITHMS; empty if it sent none.
    pub(crate) peer_hashes: Vec<SignatureHashAlgorithm>,
    /// How the peer authenticated, once it has.
    pub(crate) remote: Option<PeerAuth>,
}

/// Our AUTH payload, and the certificates that go before it in CERT payloads.
pub(crate) struct OwnAuth {
    pub(crate) method: WireAuth,
    pub(crate) data: Vec<u8>,
    pub(crate) certs: Vec<Vec<u8>>,
}

impl OwnAuth {
    /// The CERT payloads (X.509 Signature), end entity first.
    pub(crate) fn cert_payloads(&self) -> impl Iterator<Item = Payload<'_>> {
        self.certs.iter().map(|c| {
            Payload::Cert(ike_wire::v2::Cert {
                encoding: CertEncoding::X509Signature,
                data: c,
            })
        })
    }

    /// The AUTH payload.
    pub(crate) fn auth_payload(&self) -> Payload<'_> {
        Payload::Auth(Auth {
            method: self.method,
            data: &self.data,
        })
    }
}

/// The hash algorithms we announce for a connection: those of the peer's certificate policy,
/// or the defaults when only our side signs; none for a connection without public keys.
fn announced_hashes(peer: &PeerConfig) -> Vec<SignatureHashAlgorithm> {
    match &peer.remote_auth {
        AuthMethod::PeerCert(p) => p.hash_algorithms().to_vec(),
        _ if peer.local_auth.is_public_key() => DEFAULT_SIGNATURE_HASHES.to_vec(),
        _ => Vec::new(),
    }
}

/// The data of our SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4: 16-bit identifiers), or
/// `None` when the connection announces nothing.
pub(crate) fn hash_notify_data(peer: &PeerConfig) -> Option<Vec<u8>> {
    let hashes = announced_hashes(peer);
    (!hashes.is_empty()).then(|| {
        hashes
            .iter()
            .flat_map(|h| h.value().to_be_bytes())
            .collect()
    })
}

/// The hash algorithms of the peer's SIGNATURE_HASH_ALGORITHMS notify. A notify of odd length
/// is malformed and ignored, as if absent.
pub(crate) fn peer_hashes(payloads: &[Payload<'_>]) -> Vec<SignatureHashAlgorithm> {
    let Some(data) = payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.notify_type == NotifyType::SignatureHashAlgorithms => Some(n.data),
        _ => None,
    }) else {
        return Vec::new();
    };
    let chunks = data.chunks_exact(2);
    if !chunks.remainder().is_empty() {
        return Vec::new();
    }
    let mut hashes: Vec<SignatureHashAlgorithm> = Vec::new();
    for c in chunks {
        let Ok(raw) = <[u8; 2]>::try_from(c) else {
            continue;
        };
        let h = SignatureHashAlgorithm::from_value(u16::from_be_bytes(raw));
        if !hashes.contains(&h) {
            hashes.push(h);
        }
    }
    hashes
}

/// The Certification Authority field of our CERTREQ (RFC 7296 §3.7): the SHA-1 hashes of our
/// trust anchors' SubjectPublicKeyInfo, concatenated; `None` when we do not validate the peer's
/// certificate against anchors.
pub(crate) fn certreq_data(remote: &AuthMethod) -> Option<Vec<u8>> {
    let AuthMethod::PeerCert(policy) = remote else {
        return None;
    };
    let hashes = policy.trust()?.anchor_hashes();
    Some(hashes.concat())
}

/// Our AUTH payload over `octets` (the signed octets of §2.15) with `method`.
pub(crate) fn own_auth(
    method: &AuthMethod,
    prf: PrfAlg,
    octets: &[u8],
    peer_hashes: &[SignatureHashAlgorithm],
    rng: &mut dyn Rng,
) -> Result<OwnAuth, ProtocolError> {
    match method {
        AuthMethod::Psk(psk) => Ok(OwnAuth {
            method: WireAuth::SharedKey,
            data: kdf::psk_auth(prf, psk.expose(), octets).expose().to_vec(),
            certs: Vec::new(),
        }),
        AuthMethod::PubKey(cred) => {
            let (wire, scheme) = choose_scheme(cred, peer_hashes)?;
            let signature = sign::sign(cred.key(), scheme, octets, rng)
                .map_err(|_| ProtocolError::Unsupported("signing our AUTH payload"))?;
            let data = if wire == WireAuth::DigitalSignature {
                let mut d = sign::rfc7427_encode(scheme)
                    .map_err(|_| ProtocolError::Unsupported("RFC 7427 encoding of our scheme"))?;
                d.extend_from_slice(&signature);
                d
            } else {
                signature
            };
            Ok(OwnAuth {
                method: wire,
                data,
                certs: cred.chain().iter().map(|c| c.der().to_vec()).collect(),
            })
        }
        AuthMethod::PeerCert(_) => Err(ProtocolError::Unsupported(
            "a peer certificate policy cannot authenticate us",
        )),
        AuthMethod::PkeKey { .. } | AuthMethod::PkePeer { .. } => Err(ProtocolError::Unsupported(
            "public-key encryption is an IKEv1 method",
        )),
    }
}

/// The scheme we sign with: RFC 7427 with the first hash, in our order, that the peer
/// announced and our key can use; otherwise the classic method of the key.
fn choose_scheme(
    cred: &Credential,
    peer_hashes: &[SignatureHashAlgorithm],
) -> Result<(WireAuth, SignatureScheme), ProtocolError> {
    let kind = cred.key().kind();
    let first_announced = |order: [Hash; 3]| {
        order
            .into_iter()
            .find(|h| peer_hashes.contains(&SignatureHashAlgorithm::from(*h)))
    };
    let identity = peer_hashes.contains(&SignatureHashAlgorithm::Identity);
    let rfc7427 = match kind {
        KeyKind::Rsa { .. } => {
            first_announced([Hash::Sha256, Hash::Sha384, Hash::Sha512]).map(|hash| {
                if cred.rsa_pss() {
                    SignatureScheme::RsaPss { hash }
                } else {
                    SignatureScheme::RsaPkcs1 { hash }
                }
            })
        }
        // The curve's natural hash first (the pairing of methods 9-11 and RFC 5480 §4).
        KeyKind::Ec(curve) => {
            let order = match curve {
                Curve::P384 => [Hash::Sha384, Hash::Sha512, Hash::Sha256],
                Curve::P521 => [Hash::Sha512, Hash::Sha384, Hash::Sha256],
                _ => [Hash::Sha256, Hash::Sha384, Hash::Sha512],
            };
            first_announced(order).map(|hash| SignatureScheme::Ecdsa {
                hash,
                format: EcdsaFormat::Der,
            })
        }
        KeyKind::Ed25519 => identity.then_some(SignatureScheme::Ed25519),
        KeyKind::Ed448 => identity.then_some(SignatureScheme::Ed448),
        _ => None,
    };
    if let Some(scheme) = rfc7427 {
        return Ok((WireAuth::DigitalSignature, scheme));
    }
    let ecdsa_raw = |hash| SignatureScheme::Ecdsa {
        hash,
        format: EcdsaFormat::Raw,
    };
    match kind {
        KeyKind::Rsa { .. } => Ok((
            WireAuth::RsaSig,
            SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 },
        )),
        KeyKind::Ec(Curve::P256) => Ok((WireAuth::EcdsaP256, ecdsa_raw(Hash::Sha256))),
        KeyKind::Ec(Curve::P384) => Ok((WireAuth::EcdsaP384, ecdsa_raw(Hash::Sha384))),
        KeyKind::Ec(Curve::P521) => Ok((WireAuth::EcdsaP521, ecdsa_raw(Hash::Sha512))),
        _ => Err(ProtocolError::Unsupported(
            "no signature method the peer accepts for our key",
        )),
    }
}

/// Checks the peer's AUTH payload (and, for signatures, its CERT payloads) in `inner` against
/// `method`, the way the configuration says the peer authenticates. `octets` are the peer's
/// signed octets (§2.15), `peer_id` the identity of its ID payload, `unix_now` the wall-clock
/// time for certificate validity.
pub(crate) fn verify_peer(
    method: &AuthMethod,
    prf: PrfAlg,
    octets: &[u8],
    peer_id: &Identity,
    inner: &[Payload<'_>],
    unix_now: Option<i64>,
) -> Result<PeerAuth, ProtocolError> {
    let auth = inner
        .iter()
        .find_map(|p| match p {
            Payload::Auth(a) => Some(a),
            _ => None,
        })
        .ok_or(ProtocolError::AuthenticationFailed("no AUTH"))?;
    match method {
        AuthMethod::Psk(psk) => {
            if auth.method != WireAuth::SharedKey {
                return Err(ProtocolError::AuthenticationFailed(
                    "peer must authenticate with the pre-shared key",
                ));
            }
            let expected = kdf::psk_auth(prf, psk.expose(), octets);
            if !ike_crypto::ct_eq(expected.expose(), auth.data) {
                return Err(ProtocolError::AuthenticationFailed(
                    "the AUTH payload does not match our pre-shared key (a different key on each side?)",
                ));
            }
            Ok(PeerAuth {
                method: WireAuth::SharedKey,
                scheme: None,
                chain: Vec::new(),
            })
        }
        AuthMethod::PeerCert(policy) => {
            verify_signature(policy, octets, peer_id, auth, inner, unix_now)
        }
        AuthMethod::PubKey(_) | AuthMethod::PkeKey { .. } | AuthMethod::PkePeer { .. } => Err(
            ProtocolError::AuthenticationFailed("no method configured to authenticate the peer"),
        ),
    }
}

/// The X.509 certificates of the CERT payloads, in order. Other encodings are skipped.
fn received_certs(inner: &[Payload<'_>]) -> Result<Vec<Certificate>, ProtocolError> {
    let ders: Vec<&[u8]> = inner
        .iter()
        .filter_map(|p| match p {
            Payload::Cert(c) if c.encoding == CertEncoding::X509Signature => Some(c.data),
            _ => None,
        })
        .collect();
    parse_certs(&ders)
}

/// Parses received DER certificates (at most [`MAX_CERTS`]), the end entity first.
pub(crate) fn parse_certs(ders: &[&[u8]]) -> Result<Vec<Certificate>, ProtocolError> {
    if ders.len() > MAX_CERTS {
        return Err(ProtocolError::AuthenticationFailed("too many certificates"));
    }
    ders.iter()
        .map(|d| {
            Certificate::from_der(d)
                .map_err(|_| ProtocolError::AuthenticationFailed("malformed certificate"))
        })
        .collect()
}

fn verify_signature(
    policy: &PeerCertPolicy,
    octets: &[u8],
    peer_id: &Identity,
    auth: &Auth<'_>,
    inner: &[Payload<'_>],
    unix_now: Option<i64>,
) -> Result<PeerAuth, ProtocolError> {
    let fail = ProtocolError::AuthenticationFailed;
    if !matches!(
        auth.method,
        WireAuth::DigitalSignature
            | WireAuth::RsaSig
            | WireAuth::EcdsaP256
            | WireAuth::EcdsaP384
            | WireAuth::EcdsaP521
    ) {
        return Err(fail("peer must authenticate with a signature"));
    }
    let certs = received_certs(inner)?;
    let (key, chain) = peer_key(policy, &certs, peer_id, unix_now)?;
    let (scheme, signature) =
        scheme_for(auth.method, auth.data, key.kind(), policy.hash_algorithms())?;
    sign::verify(&key, scheme, octets, signature)
        .map_err(|_| fail("the AUTH signature does not verify with the certificate's key"))?;
    Ok(PeerAuth {
        method: auth.method,
        scheme: Some(scheme),
        chain,
    })
}

/// The peer's public key from its certificates (the end entity first; a pinned certificate
/// when it sent none), after chain validation at `unix_now` and the check that the end
/// entity names `peer_id`; also the chain's subjects, for status. Both IKE versions use it.
pub(crate) fn peer_key(
    policy: &PeerCertPolicy,
    certs: &[Certificate],
    peer_id: &Identity,
    unix_now: Option<i64>,
) -> Result<(PublicKey, Vec<String>), ProtocolError> {
    let fail = ProtocolError::AuthenticationFailed;
    let (end_entity, intermediates) = match certs.split_first() {
        Some((ee, rest)) => (ee.clone(), rest),
        None => (
            policy
                .pinned_cert()
                .cloned()
                .ok_or(fail("no certificate"))?,
            &[][..],
        ),
    };
    if policy.pinned_cert().is_some_and(|p| *p != end_entity) {
        return Err(fail("not the pinned certificate"));
    }
    let now = unix_now.ok_or(fail("no wall-clock time to validate certificates"))?;
    let chain = match policy.trust() {
        Some(trust) => trust
            .verify(&end_entity, intermediates, now)
            .map_err(|e| fail(chain_failure_reason(&e)))?,
        None => {
            // A pinned certificate trusted directly: its own validity and keyUsage still count
            // (notAfter is already expired at that very second, as in OpenSSL's check).
            if now < end_entity.not_before() {
                return Err(fail("certificate not yet valid"));
            }
            if now >= end_entity.not_after() {
                return Err(fail("certificate expired"));
            }
            if !end_entity.allows(KeyUsage::DIGITAL_SIGNATURE) {
                return Err(fail("certificate key usage forbids signatures"));
            }
            vec![end_entity.clone()]
        }
    };
    let id = x509_identity(peer_id).ok_or(fail("identity type not bound to certificates"))?;
    if !x509::matches_identity(&end_entity, &id) {
        return Err(fail("identity not in the certificate"));
    }
    let key = PublicKey::from_spki_der(&end_entity.spki_der())
        .map_err(|_| fail("unusable certificate key"))?;
    Ok((key, chain.iter().map(Certificate::subject_text).collect()))
}

/// The scheme and signature value of a received AUTH payload: method 14 names its scheme,
/// whose hash must be one we accept; the classic methods fix it, and must fit the key.
fn scheme_for<'a>(
    method: WireAuth,
    data: &'a [u8],
    kind: KeyKind,
    accepted: &[SignatureHashAlgorithm],
) -> Result<(SignatureScheme, &'a [u8]), ProtocolError> {
    let fail = ProtocolError::AuthenticationFailed;
    let ecdsa_raw = |hash| SignatureScheme::Ecdsa {
        hash,
        format: EcdsaFormat::Raw,
    };
    let scheme = match (method, kind) {
        (WireAuth::DigitalSignature, _) => {
            let (scheme, signature) = sign::rfc7427_parse(data)
                .map_err(|_| fail("malformed or unsupported RFC 7427 signature algorithm"))?;
            if !scheme
                .signature_hash_algorithm()
                .is_some_and(|h| accepted.contains(&h))
            {
                return Err(fail("signature hash algorithm not accepted"));
            }
            return Ok((scheme, signature));
        }
        (WireAuth::RsaSig, KeyKind::Rsa { .. }) => SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 },
        (WireAuth::EcdsaP256, KeyKind::Ec(Curve::P256)) => ecdsa_raw(Hash::Sha256),
        (WireAuth::EcdsaP384, KeyKind::Ec(Curve::P384)) => ecdsa_raw(Hash::Sha384),
        (WireAuth::EcdsaP521, KeyKind::Ec(Curve::P521)) => ecdsa_raw(Hash::Sha512),
        _ => {
            return Err(fail(
                "authentication method does not fit the certificate key",
            ))
        }
    };
    Ok((scheme, data))
}

/// The reason of a chain-validation failure, as a fixed string.
fn chain_failure_reason(err: &ike_crypto::CryptoError) -> &'static str {
    match ChainFailure::of(err) {
        Some(ChainFailure::Expired) => "certificate expired",
        Some(ChainFailure::NotYetValid) => "certificate not yet valid",
        Some(ChainFailure::UnknownIssuer) => "certificate not issued by a trusted CA",
        Some(ChainFailure::BadSignature) => "bad signature in the certificate chain",
        Some(ChainFailure::NotCa) => "certificate issuer is not a CA",
        Some(ChainFailure::PathLength) => "certificate path too long",
        Some(ChainFailure::KeyUsage) => "certificate key usage forbids the use",
        Some(ChainFailure::UnsupportedCriticalExtension) => {
            "unsupported critical extension in a certificate"
        }
        _ => "certificate chain invalid",
    }
}

/// The certificate-matching form of an identity; `%any` has none.
fn x509_identity(id: &Identity) -> Option<x509::Identity<'_>> {
    Some(match id {
        Identity::Addr(std::net::IpAddr::V4(a)) => x509::Identity::Ipv4(a.octets()),
        Identity::Addr(std::net::IpAddr::V6(a)) => x509::Identity::Ipv6(a.octets()),
        Identity::Fqdn(s) => x509::Identity::Fqdn(s),
        Identity::Email(s) => x509::Identity::Rfc822(s),
        Identity::Dn(d) => x509::Identity::DerDn(d),
        Identity::KeyId(k) => x509::Identity::KeyId(k),
        Identity::Any => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike_crypto::rng::SeededRng;
    use ike_crypto::sign::PrivateKey;
    use ike_wire::v2::{Cert, Notify};
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509Builder, X509NameBuilder};

    const NOW: i64 = 1_750_000_000;

    /// A self-signed P-256 end entity for `dns`, and its key.
    fn self_signed(dns: &str) -> (PrivateKey, Certificate) {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", dns).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(NOW - 10).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(NOW + 1000).unwrap())
            .unwrap();
        let san = SubjectAlternativeName::new()
            .dns(dns)
            .build(&b.x509v3_context(None, None))
            .unwrap();
        b.append_extension(san).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = Certificate::from_der(&b.build().to_der().unwrap()).unwrap();
        let key = PrivateKey::from_der(&key.private_key_to_der().unwrap()).unwrap();
        (key, cert)
    }

    fn sign_auth(
        key: &PrivateKey,
        cert: &Certificate,
        hashes: &[SignatureHashAlgorithm],
        octets: &[u8],
    ) -> OwnAuth {
        let cred = Credential::new(key.clone(), vec![cert.clone()]).unwrap();
        own_auth(
            &AuthMethod::PubKey(cred),
            PrfAlg::HmacSha256,
            octets,
            hashes,
            &mut SeededRng::new(1),
        )
        .unwrap()
    }

    fn check(
        policy: &PeerCertPolicy,
        id: &str,
        octets: &[u8],
        payloads: &[Payload<'_>],
    ) -> Result<PeerAuth, ProtocolError> {
        verify_peer(
            &AuthMethod::PeerCert(policy.clone()),
            PrfAlg::HmacSha256,
            octets,
            &Identity::parse(id),
            payloads,
            Some(NOW),
        )
    }

    fn payloads(own: &OwnAuth) -> Vec<Payload<'_>> {
        own.cert_payloads().chain([own.auth_payload()]).collect()
    }

    #[test]
    fn signatures_verify_only_over_the_signed_octets_and_with_the_right_method() {
        let (key, cert) = self_signed("a.example.org");
        let policy = PeerCertPolicy::pinned(cert.clone());
        for hashes in [&DEFAULT_SIGNATURE_HASHES[..], &[]] {
            let own = sign_auth(&key, &cert, hashes, b"signed octets");
            let how = check(&policy, "a.example.org", b"signed octets", &payloads(&own)).unwrap();
            assert_eq!(how.method, own.method);
            assert_eq!(
                check(&policy, "a.example.org", b"other octets", &payloads(&own)),
                Err(ProtocolError::AuthenticationFailed(
                    "the AUTH signature does not verify with the certificate's key"
                ))
            );
        }
        // Method 10 (P-384) with a P-256 key; method 1 with an EC key.
        let own = sign_auth(&key, &cert, &[], b"x");
        for method in [WireAuth::EcdsaP384, WireAuth::RsaSig] {
            let mut p = payloads(&own);
            p.pop();
            p.push(Payload::Auth(Auth {
                method,
                data: &own.data,
            }));
            assert_eq!(
                check(&policy, "a.example.org", b"x", &p),
                Err(ProtocolError::AuthenticationFailed(
                    "authentication method does not fit the certificate key"
                ))
            );
        }
    }

    #[test]
    fn rfc7427_hashes_we_did_not_announce_are_refused() {
        let (key, cert) = self_signed("a.example.org");
        let own = sign_auth(&key, &cert, &DEFAULT_SIGNATURE_HASHES, b"x");
        let policy = PeerCertPolicy::pinned(cert.clone())
            .with_hash_algorithms(vec![SignatureHashAlgorithm::Sha2_512]);
        assert_eq!(
            check(&policy, "a.example.org", b"x", &payloads(&own)),
            Err(ProtocolError::AuthenticationFailed(
                "signature hash algorithm not accepted"
            ))
        );
        // Garbage after the method-14 length byte.
        let p = [
            own.cert_payloads().next().unwrap(),
            Payload::Auth(Auth {
                method: WireAuth::DigitalSignature,
                data: &[3, 0x30, 0x01, 0x00, 0xff],
            }),
        ];
        assert!(matches!(
            check(&policy, "a.example.org", b"x", &p),
            Err(ProtocolError::AuthenticationFailed(_))
        ));
    }

    #[test]
    fn malformed_missing_and_too_many_certificates() {
        let (key, cert) = self_signed("a.example.org");
        let (_, other) = self_signed("a.example.org");
        let own = sign_auth(&key, &cert, &[], b"x");
        let policy = PeerCertPolicy::pinned(cert.clone());
        let garbage = Payload::Cert(Cert {
            encoding: CertEncoding::X509Signature,
            data: b"not DER",
        });
        let fail = |r| Err(ProtocolError::AuthenticationFailed(r));
        assert_eq!(
            check(
                &policy,
                "a.example.org",
                b"x",
                &[garbage, own.auth_payload()]
            ),
            fail("malformed certificate")
        );
        let many: Vec<Payload<'_>> = std::iter::repeat_n(own.cert_payloads().next().unwrap(), 17)
            .chain([own.auth_payload()])
            .collect();
        assert_eq!(
            check(&policy, "a.example.org", b"x", &many),
            fail("too many certificates")
        );
        // No CERT: the pinned certificate is used; without a pin there is nothing to check.
        assert!(check(&policy, "a.example.org", b"x", &[own.auth_payload()]).is_ok());
        let other_pin = PeerCertPolicy::pinned(other.clone());
        assert_eq!(
            check(&other_pin, "a.example.org", b"x", &payloads(&own)),
            fail("not the pinned certificate")
        );
        let trust_other = PeerCertPolicy::trusting(
            ike_crypto::x509::TrustStore::new(vec![self_signed_ca()]).unwrap(),
        );
        assert_eq!(
            check(&trust_other, "a.example.org", b"x", &[own.auth_payload()]),
            fail("no certificate")
        );
        // Identities the certificate does not name.
        for id in ["b.example.org", "%any", "@#0102"] {
            assert!(check(&policy, id, b"x", &payloads(&own)).is_err(), "{id}");
        }
    }

    fn self_signed_ca() -> Certificate {
        use openssl::x509::extension::{BasicConstraints, KeyUsage};
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "CA").unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(NOW - 10).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(NOW + 1000).unwrap())
            .unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().key_cert_sign().build().unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        Certificate::from_der(&b.build().to_der().unwrap()).unwrap()
    }

    #[test]
    fn hash_algorithm_notify_parsing() {
        let n = |d: &'static [u8]| {
            [Payload::Notify(Notify::new(
                NotifyType::SignatureHashAlgorithms,
                d,
            ))]
        };
        assert_eq!(
            peer_hashes(&n(&[0, 2, 0, 5, 0, 2, 0x12, 0x34])),
            vec![
                SignatureHashAlgorithm::Sha2_256,
                SignatureHashAlgorithm::Identity,
                SignatureHashAlgorithm::Unknown(0x1234)
            ]
        );
        assert!(peer_hashes(&n(&[0, 2, 0])).is_empty());
        assert!(peer_hashes(&[]).is_empty());
    }

    #[test]
    fn a_psk_is_checked_and_a_signature_is_not_a_psk() {
        let psk = AuthMethod::Psk(ike_crypto::Secret::from_slice(b"k"));
        let own = own_auth(&psk, PrfAlg::HmacSha256, b"x", &[], &mut SeededRng::new(1)).unwrap();
        let id = Identity::parse("a.example.org");
        let v = |p: &[Payload<'_>]| verify_peer(&psk, PrfAlg::HmacSha256, b"x", &id, p, None);
        assert!(v(&[own.auth_payload()]).is_ok());
        let sig = Payload::Auth(Auth {
            method: WireAuth::DigitalSignature,
            data: &own.data,
        });
        assert_eq!(
            v(&[sig]),
            Err(ProtocolError::AuthenticationFailed(
                "peer must authenticate with the pre-shared key"
            ))
        );
        assert_eq!(v(&[]), Err(ProtocolError::AuthenticationFailed("no AUTH")));
    }
}
