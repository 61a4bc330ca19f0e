//! Phase 1 authentication (RFC 2409 §5.1, §5.4; RFC 4754 §8): the HASH_I/HASH_R payload with a
//! pre-shared key, or with signatures the certificates (CERT, X.509) and SIG_I/SIG_R, the
//! signature over HASH_I/HASH_R. DSS signatures (method 2) are DSA with SHA-1 over HASH_I and
//! HASH_R computed with HMAC-SHA1 whatever the negotiated hash ("DSS is only defined with
//! SHA's 160 bit output", §5.1), r‖s each as long as q.
//!
//! IKEv1 negotiates one method for both ends in the SA payload, so a connection with
//! signatures must use them both ways: its own key decides the method (RSA signatures, or ECDSA
//! on P-256/P-384/P-521 with SHA-256/384/512) and the peer must authenticate with the same.
//! RSA signatures are PKCS#1 v1.5 type 1 padding over the bare hash, with no DigestInfo, and
//! are verified strictly (the signature exactly as long as the modulus, the padding whole);
//! ECDSA signatures are r‖s over the bare HASH_I/HASH_R taken as the digest, as strongSwan
//! makes and checks them (hashing the HASH again, one reading of RFC 4754, does not
//! interoperate). The peer's certificate chain is validated and its identity must be in the
//! end-entity certificate, exactly as for IKEv2.

use ike_crypto::sign::{self, Curve, KeyKind, SignatureScheme};
use ike_crypto::Secret;
use ike_wire::v1::{CertEncoding, OakleyAuthMethod, PayloadType};

use super::main_mode::Step;
use super::protect::{self, Chain};
use super::sa::IsakmpSa;
use super::Ctx;
use crate::config::{AuthMethod, Identity, PeerConfig};
use crate::status::DropReason;
use crate::v2::{EngineError, PeerAuth, ProtocolError};

/// The Phase 1 authentication method of a connection: what it proposes and accepts.
pub(crate) fn auth_method(peer: &PeerConfig) -> Result<OakleyAuthMethod, EngineError> {
    let bad = |why| EngineError::InvalidConfig(peer.name.clone(), crate::config::ConfigError(why));
    match (&peer.local_auth, &peer.remote_auth) {
        (AuthMethod::Psk(_), AuthMethod::Psk(_)) => Ok(OakleyAuthMethod::PreSharedKey),
        (AuthMethod::PubKey(c), AuthMethod::PeerCert(_)) => match c.key().kind() {
            KeyKind::Rsa { .. } => Ok(OakleyAuthMethod::RsaSignatures),
            KeyKind::Ec(Curve::P256) => Ok(OakleyAuthMethod::EcdsaP256),
            KeyKind::Ec(Curve::P384) => Ok(OakleyAuthMethod::EcdsaP384),
            KeyKind::Ec(Curve::P521) => Ok(OakleyAuthMethod::EcdsaP521),
            KeyKind::Dsa { .. } => Ok(OakleyAuthMethod::DssSignatures),
            _ => Err(bad(
                "IKEv1 signatures need an RSA, DSA or ECDSA (P-256/384/521) key",
            )),
        },
        (
            AuthMethod::PkeKey {
                decryptor, revised, ..
            },
            AuthMethod::PkePeer { cert, revised: r2 },
        ) if revised == r2 => {
            let rsa = matches!(
                sign::PublicKey::from_spki_der(&cert.spki_der()).map(|k| k.kind()),
                Ok(KeyKind::Rsa { .. })
            );
            if !rsa || decryptor.modulus_len() == 0 {
                return Err(bad("public-key encryption needs RSA keys on both sides"));
            }
            Ok(if *revised {
                OakleyAuthMethod::RsaRevisedEncryption
            } else {
                OakleyAuthMethod::RsaEncryption
            })
        }
        _ => Err(bad(
            "IKEv1 authenticates both ends with one method: pre-shared keys on both sides, certificates on both, or public-key encryption (the same mode) on both",
        )),
    }
}

/// The signature scheme of a method (RFC 2409 §5.1, RFC 4754 §8).
fn scheme(method: OakleyAuthMethod) -> Option<SignatureScheme> {
    Some(match method {
        OakleyAuthMethod::RsaSignatures => SignatureScheme::RsaPkcs1BareHash,
        // DSS is defined with SHA-1 only: DSA with SHA-1 over HASH_I/HASH_R (which the DSS
        // method computes with HMAC-SHA1, see `auth_hash`), r‖s.
        OakleyAuthMethod::DssSignatures => SignatureScheme::Dsa {
            hash: sign::Hash::Sha1,
        },
        OakleyAuthMethod::EcdsaP256 | OakleyAuthMethod::EcdsaP384 | OakleyAuthMethod::EcdsaP521 => {
            SignatureScheme::EcdsaBareHash
        }
        _ => return None,
    })
}

/// The curve an ECDSA method names.
fn curve(method: OakleyAuthMethod) -> Option<Curve> {
    Some(match method {
        OakleyAuthMethod::EcdsaP256 => Curve::P256,
        OakleyAuthMethod::EcdsaP384 => Curve::P384,
        OakleyAuthMethod::EcdsaP521 => Curve::P521,
        _ => return None,
    })
}

/// A Certificate Request payload body for any X.509 authority (RFC 2408 §3.10: an empty
/// authority asks for any).
pub(crate) fn certreq_body() -> Vec<u8> {
    vec![CertEncoding::X509Signature.value()]
}

impl IsakmpSa {
    fn method(&self) -> OakleyAuthMethod {
        self.chosen
            .map_or(OakleyAuthMethod::PreSharedKey, |c| c.auth)
    }

    /// Whether the negotiated method is a signature method.
    pub(crate) fn uses_signatures(&self) -> bool {
        scheme(self.method()).is_some()
    }

    /// Our proof after our ID payload: HASH, or our certificates and SIG.
    pub(crate) fn add_proof(
        &self,
        c: &mut Chain,
        peer: &PeerConfig,
        initiator: bool,
        id_b: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Step> {
        let hash = self.auth_hash(initiator, id_b)?;
        self.add_proof_of(c, peer, &hash, ctx)
    }

    /// Our proof of `hash`: the HASH payload itself, or our certificates and SIG over it.
    pub(crate) fn add_proof_of(
        &self,
        c: &mut Chain,
        peer: &PeerConfig,
        hash: &Secret,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Step> {
        let Some(sch) = scheme(self.method()) else {
            c.add(PayloadType::Hash, hash.expose());
            return Ok(());
        };
        let AuthMethod::PubKey(cred) = &peer.local_auth else {
            return Err(Step::Fail(ProtocolError::LocalFailure("no private key")));
        };
        for cert in cred.chain() {
            let mut body = vec![CertEncoding::X509Signature.value()];
            body.extend_from_slice(cert.der());
            c.add(PayloadType::Cert, &body);
        }
        let sig = sign::sign(cred.key(), sch, hash.expose(), &mut *ctx.rng)
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("signing failed")))?;
        c.add(PayloadType::Sig, &sig);
        Ok(())
    }

    /// Checks the peer's proof in a decrypted chain (or a clear Aggressive Mode message 2):
    /// HASH against ours, or its certificates and SIG. `initiator`: the proof is the
    /// initiator's. A wrong hash is dropped (a forgery or a wrong key, indistinguishable); a
    /// wrong signature fails the exchange.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn verify_proof(
        &self,
        peer: &PeerConfig,
        initiator: bool,
        id_b: &[u8],
        id: &Identity,
        body: &[u8],
        l: &[(u8, usize, usize)],
        unix_now: Option<i64>,
    ) -> Result<Option<PeerAuth>, Step> {
        let want = self.auth_hash(initiator, id_b)?;
        self.verify_proof_of(peer, &want, id, body, l, unix_now)
    }

    /// Checks the peer's proof of `want` in a chain: HASH equal to it, or certificates and a
    /// SIG over it.
    pub(crate) fn verify_proof_of(
        &self,
        peer: &PeerConfig,
        want: &Secret,
        id: &Identity,
        body: &[u8],
        l: &[(u8, usize, usize)],
        unix_now: Option<i64>,
    ) -> Result<Option<PeerAuth>, Step> {
        let Some(sch) = scheme(self.method()) else {
            let hash = protect::find_body(body, l, PayloadType::Hash)
                .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
            if !ike_crypto::ct_eq(want.expose(), hash) {
                tracing::info!(target: "ike", "{}: the peer's HASH does not verify (pre-shared key mismatch?)", super::sa::exchange_name(self.exchange));
                return Err(Step::Drop(DropReason::IntegrityCheckFailed));
            }
            return Ok(None);
        };
        let fail = |why| Step::Fail(ProtocolError::AuthenticationFailed(why));
        let AuthMethod::PeerCert(policy) = &peer.remote_auth else {
            return Err(fail("no certificate policy for the peer"));
        };
        let sig = protect::find_body(body, l, PayloadType::Sig).ok_or(fail("no SIG payload"))?;
        let ders: Vec<&[u8]> = l
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0 == PayloadType::Cert.value())
            .map(|(i, _)| protect::body_of(body, l, i))
            .filter_map(|b| match b.split_first() {
                Some((&enc, der)) if enc == CertEncoding::X509Signature.value() => Some(der),
                _ => None,
            })
            .collect();
        let certs = crate::v2::auth::parse_certs(&ders).map_err(|e| match e {
            ProtocolError::AuthenticationFailed(w) => fail(w),
            _ => fail("malformed certificate"),
        })?;
        let (key, chain) =
            crate::v2::auth::peer_key(policy, &certs, id, unix_now).map_err(|e| match e {
                ProtocolError::AuthenticationFailed(w) => fail(w),
                _ => fail("certificate refused"),
            })?;
        let fits = match (sch, key.kind()) {
            (SignatureScheme::RsaPkcs1BareHash, KeyKind::Rsa { .. }) => true,
            (SignatureScheme::EcdsaBareHash, KeyKind::Ec(c)) => curve(self.method()) == Some(c),
            (SignatureScheme::Dsa { .. }, KeyKind::Dsa { .. }) => true,
            _ => false,
        };
        if !fits {
            return Err(fail(
                "the negotiated method does not fit the certificate key",
            ));
        }
        sign::verify(&key, sch, want.expose(), sig)
            .map_err(|_| fail("the SIG payload does not verify with the certificate's key"))?;
        Ok(Some(PeerAuth {
            method: ike_wire::v2::AuthMethod::from(match self.method() {
                OakleyAuthMethod::RsaSignatures => 1u8,
                OakleyAuthMethod::DssSignatures => 3,
                OakleyAuthMethod::EcdsaP256 => 9,
                OakleyAuthMethod::EcdsaP384 => 10,
                _ => 11,
            }),
            scheme: Some(sch),
            chain,
        }))
    }

    /// SKEYID for the negotiated method (RFC 2409 §5).
    pub(crate) fn skeyid(
        &self,
        peer: &PeerConfig,
        prf: ike_crypto::prf::PrfAlg,
        ni: &[u8],
        nr: &[u8],
        gxy: &[u8],
    ) -> Result<Secret, Step> {
        if self.uses_signatures() {
            return Ok(ike_crypto::kdf::v1::skeyid_sig(prf, ni, nr, gxy));
        }
        if self.pke_mode().is_some() {
            return ike_crypto::kdf::v1::skeyid_pke(prf, ni, nr, &self.icookie, &self.rcookie)
                .map_err(|_| Step::Fail(ProtocolError::LocalFailure("key derivation failed")));
        }
        let AuthMethod::Psk(k) = &peer.local_auth else {
            return Err(Step::Fail(ProtocolError::LocalFailure("no pre-shared key")));
        };
        Ok(ike_crypto::kdf::v1::skeyid_psk(prf, k.expose(), ni, nr))
    }
}
