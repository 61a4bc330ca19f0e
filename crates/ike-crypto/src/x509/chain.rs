//! Certificate chain validation against configured trust anchors (RFC 5280 §6), through
//! OpenSSL's `X509_verify_cert`, plus the checks strongSwan makes that OpenSSL's default
//! (non-strict) mode does not.

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509StoreContext, X509};

use super::{Certificate, KeyUsage};
use crate::CryptoError;

/// Why a chain did not validate. [`CryptoError::Certificate`] carries the reason as text that
/// starts with [`ChainFailure::as_str`] and a colon, followed by which certificate failed;
/// [`ChainFailure::of`] reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChainFailure {
    /// A certificate of the chain is past its notAfter time.
    Expired,
    /// A certificate of the chain is before its notBefore time.
    NotYetValid,
    /// No path leads to a trust anchor: unknown or missing issuer, wrong anchor, or a
    /// self-signed certificate that is not an anchor.
    UnknownIssuer,
    /// A signature in the chain does not verify, or an issuer's key is unusable.
    BadSignature,
    /// An issuer (or a trust anchor) lacks basicConstraints cA TRUE.
    NotCa,
    /// An issuer's pathLenConstraint is exceeded, or the chain is longer than the depth limit.
    PathLength,
    /// keyUsage forbids the use: an issuer without keyCertSign, or an end entity without
    /// digitalSignature (or keyEncipherment for [`EndEntityUse::KeyEncipherment`]).
    KeyUsage,
    /// A certificate has a critical extension that is not understood.
    UnsupportedCriticalExtension,
    /// Anything else OpenSSL reports (the text names the OpenSSL reason).
    Other,
}

impl ChainFailure {
    const ALL: [Self; 9] = [
        Self::Expired,
        Self::NotYetValid,
        Self::UnknownIssuer,
        Self::BadSignature,
        Self::NotCa,
        Self::PathLength,
        Self::KeyUsage,
        Self::UnsupportedCriticalExtension,
        Self::Other,
    ];

    /// The stable prefix of the error text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not yet valid",
            Self::UnknownIssuer => "unknown issuer",
            Self::BadSignature => "bad signature",
            Self::NotCa => "not a CA",
            Self::PathLength => "path length exceeded",
            Self::KeyUsage => "key usage",
            Self::UnsupportedCriticalExtension => "unsupported critical extension",
            Self::Other => "invalid",
        }
    }

    /// The reason of a chain-validation error, if `err` is one.
    pub fn of(err: &CryptoError) -> Option<Self> {
        let CryptoError::Certificate(text) = err else {
            return None;
        };
        let (prefix, _) = text.split_once(':')?;
        Self::ALL.into_iter().find(|r| r.as_str() == prefix)
    }

    fn error(self, detail: impl std::fmt::Display) -> CryptoError {
        CryptoError::Certificate(format!("{}: {detail}", self.as_str()))
    }

    /// Maps an `X509_V_ERR_*` code (`openssl/x509_vfy.h`).
    fn from_openssl(code: i32) -> Self {
        match code {
            2 | 18 | 19 | 20 | 21 => Self::UnknownIssuer,
            4 | 6 | 7 => Self::BadSignature,
            9 | 13 => Self::NotYetValid,
            10 | 14 => Self::Expired,
            22 | 25 => Self::PathLength,
            // 79 is X509_V_ERR_INVALID_CA since OpenSSL 3.0; before, it was 24.
            79 => Self::NotCa,
            24 if openssl::version::number() < 0x3000_0000 => Self::NotCa,
            32 | 39 => Self::KeyUsage,
            34 => Self::UnsupportedCriticalExtension,
            _ => Self::Other,
        }
    }
}

/// What the end entity's key is going to be used for, which decides the keyUsage bit it must
/// have when it has the extension.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndEntityUse {
    /// AUTH payload signatures (IKEv2, IKEv1 signature modes): digitalSignature.
    #[default]
    Signature,
    /// IKEv1 public-key encryption modes (RFC 2409 §5.2, §5.3): keyEncipherment.
    KeyEncipherment,
}

/// The configured trust anchors (strongSwan's `cacerts`), and chain validation up to them.
///
/// Every anchor terminates a chain, self-signed or not (OpenSSL's `X509_V_FLAG_PARTIAL_CHAIN`),
/// as in strongSwan, where any configured CA certificate is trusted. An anchor's own signature
/// is not checked; its validity period is.
#[derive(Clone, Debug)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
}

/// Chains longer than this (end entity, up to 7 intermediates, anchor) are refused.
const MAX_DEPTH: i32 = 8;

fn backend(_: openssl::error::ErrorStack) -> CryptoError {
    CryptoError::Backend("X509_verify_cert")
}

impl TrustStore {
    /// A store of `anchors`. Each must be a CA certificate (basicConstraints cA TRUE) whose
    /// keyUsage, if present, allows keyCertSign; strongSwan discards such anchors with a
    /// warning, we refuse them so that a configuration mistake is seen. Duplicates are merged.
    /// An empty list is an error.
    pub fn new(anchors: Vec<Certificate>) -> Result<Self, CryptoError> {
        if anchors.is_empty() {
            return Err(ChainFailure::Other.error("no trust anchors configured"));
        }
        let mut unique: Vec<Certificate> = Vec::with_capacity(anchors.len());
        for a in anchors {
            if !a.is_ca() {
                return Err(ChainFailure::NotCa.error(format_args!(
                    "trust anchor \"{}\" lacks basicConstraints cA TRUE",
                    a.subject_text()
                )));
            }
            if !a.allows(KeyUsage::KEY_CERT_SIGN) {
                return Err(ChainFailure::KeyUsage.error(format_args!(
                    "trust anchor \"{}\" lacks keyCertSign",
                    a.subject_text()
                )));
            }
            if !unique.contains(&a) {
                unique.push(a);
            }
        }
        Ok(Self { anchors: unique })
    }

    /// The anchors, in configuration order.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    /// The SHA-1 hashes of the anchors' SubjectPublicKeyInfo, for the Certification Authority
    /// field of an IKEv2 CERTREQ payload (RFC 7296 §3.7), in configuration order, each once.
    pub fn anchor_hashes(&self) -> Vec<[u8; 20]> {
        let mut hashes: Vec<[u8; 20]> = Vec::with_capacity(self.anchors.len());
        for h in self.anchors.iter().map(Certificate::spki_sha1) {
            if !hashes.contains(&h) {
                hashes.push(h);
            }
        }
        hashes
    }

    /// Validates `end_entity` for signatures ([`EndEntityUse::Signature`]); see
    /// [`TrustStore::verify_for`].
    pub fn verify(
        &self,
        end_entity: &Certificate,
        intermediates: &[Certificate],
        now: i64,
    ) -> Result<Vec<Certificate>, CryptoError> {
        self.verify_for(end_entity, intermediates, now, EndEntityUse::Signature)
    }

    /// Validates `end_entity` and whichever of `intermediates` lead to an anchor (in any order,
    /// as peers send them in CERT payloads; unrelated ones are ignored) at `now` (seconds since
    /// the Unix epoch; the caller's clock, so tests can replay), and returns the chain from the
    /// end entity to the anchor.
    ///
    /// OpenSSL checks every signature, every validity period (anchor included), basicConstraints
    /// and pathLenConstraint, keyUsage keyCertSign of issuers that have keyUsage, name
    /// constraints and unknown critical extensions. On top of that, as strongSwan does, every
    /// issuer must have basicConstraints cA TRUE (OpenSSL also accepts a v3 issuer without
    /// basicConstraints that has keyCertSign), and the end entity's keyUsage, when present, must
    /// allow `usage`. No revocation checking is done.
    ///
    /// Errors are [`CryptoError::Certificate`] whose text starts with a [`ChainFailure`] reason.
    pub fn verify_for(
        &self,
        end_entity: &Certificate,
        intermediates: &[Certificate],
        now: i64,
        usage: EndEntityUse,
    ) -> Result<Vec<Certificate>, CryptoError> {
        let mut builder = X509StoreBuilder::new().map_err(backend)?;
        for a in &self.anchors {
            builder.add_cert(a.x509().clone()).map_err(backend)?;
        }
        let mut param = X509VerifyParam::new().map_err(backend)?;
        // `time_t` is i64 here but i32 on some 32-bit platforms.
        #[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
        let when = now.try_into().map_err(|_| CryptoError::InvalidLength {
            what: "verification time",
            len: 0,
        })?;
        param.set_time(when);
        param.set_depth(MAX_DEPTH);
        param
            .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
            .map_err(backend)?;
        builder.set_param(&param).map_err(backend)?;
        let store = builder.build();

        let mut untrusted: Stack<X509> = Stack::new().map_err(backend)?;
        for i in intermediates {
            untrusted.push(i.x509().clone()).map_err(backend)?;
        }
        let mut ctx = X509StoreContext::new().map_err(backend)?;
        let (ok, code, depth, chain) = ctx
            .init(&store, end_entity.x509(), &untrusted, |c| {
                let ok = c.verify_cert()?;
                let chain: Vec<X509> = c
                    .chain()
                    .map(|s| s.iter().map(|x| x.to_owned()).collect())
                    .unwrap_or_default();
                Ok((ok, c.error(), c.error_depth(), chain))
            })
            .map_err(backend)?;

        if !ok {
            let d = usize::try_from(depth).unwrap_or(0);
            let failed = chain.get(d).and_then(|x| Certificate::from_x509(x).ok());
            let mut reason = ChainFailure::from_openssl(code.as_raw());
            // OpenSSL reports a CA whose keyUsage lacks keyCertSign as "invalid CA"; name the
            // real cause.
            if reason == ChainFailure::NotCa
                && failed
                    .as_ref()
                    .is_some_and(|c| c.is_ca() && !c.allows(KeyUsage::KEY_CERT_SIGN))
            {
                reason = ChainFailure::KeyUsage;
            }
            let name = failed.map_or_else(|| end_entity.subject_text(), |c| c.subject_text());
            return Err(reason.error(format_args!(
                "\"{name}\" ({}, depth {d})",
                code.error_string()
            )));
        }

        let certs = chain
            .iter()
            .map(|x| Certificate::from_x509(x))
            .collect::<Result<Vec<_>, _>>()?;
        for issuer in certs.iter().skip(1) {
            if !issuer.is_ca() {
                return Err(ChainFailure::NotCa.error(format_args!(
                    "\"{}\" issues certificates but lacks basicConstraints cA TRUE",
                    issuer.subject_text()
                )));
            }
            if !issuer.allows(KeyUsage::KEY_CERT_SIGN) {
                return Err(ChainFailure::KeyUsage.error(format_args!(
                    "\"{}\" issues certificates but its keyUsage lacks keyCertSign",
                    issuer.subject_text()
                )));
            }
        }
        let (needed, label) = match usage {
            EndEntityUse::Signature => (KeyUsage::DIGITAL_SIGNATURE, "digitalSignature"),
            EndEntityUse::KeyEncipherment => (KeyUsage::KEY_ENCIPHERMENT, "keyEncipherment"),
        };
        if !end_entity.allows(needed) {
            return Err(ChainFailure::KeyUsage.error(format_args!(
                "\"{}\" keyUsage lacks {label}",
                end_entity.subject_text()
            )));
        }
        match certs.last() {
            Some(last) if self.anchors.contains(last) => Ok(certs),
            _ => Err(ChainFailure::UnknownIssuer.error(format_args!(
                "\"{}\" does not chain to a trust anchor",
                end_entity.subject_text()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_through_the_error_text() {
        for r in ChainFailure::ALL {
            assert_eq!(ChainFailure::of(&r.error("x")), Some(r));
        }
        assert_eq!(ChainFailure::of(&CryptoError::BadSignature), None);
        assert_eq!(
            ChainFailure::of(&CryptoError::Certificate("nonsense".into())),
            None
        );
    }

    #[test]
    fn openssl_codes() {
        assert_eq!(ChainFailure::from_openssl(10), ChainFailure::Expired);
        assert_eq!(ChainFailure::from_openssl(9), ChainFailure::NotYetValid);
        assert_eq!(ChainFailure::from_openssl(20), ChainFailure::UnknownIssuer);
        assert_eq!(ChainFailure::from_openssl(7), ChainFailure::BadSignature);
        assert_eq!(ChainFailure::from_openssl(79), ChainFailure::NotCa);
        assert_eq!(ChainFailure::from_openssl(1), ChainFailure::Other);
    }
}
