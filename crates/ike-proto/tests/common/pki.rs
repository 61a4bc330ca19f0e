//! A test PKI shared by the certificate tests of both IKE versions: a root, an intermediate, a
//! rogue root and end-entity certificates (RSA, P-256, P-384, Ed25519) for a.example.org and
//! b.example.org, made once per test binary with OpenSSL.
#![allow(dead_code)]

use std::sync::OnceLock;

use ike_crypto::sign::PrivateKey;
use ike_crypto::x509::{Certificate, TrustStore};
use ike_crypto::Secret;
use ike_proto::v2::{AuthMethod, Credential, PeerCertPolicy};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

pub const T0: i64 = 1_750_000_000;
pub const DAY: i64 = 86_400;

// ---- the PKI ----

/// A key and its certificate, as PEM.
#[derive(Clone)]
pub struct Issued {
    pub key: Vec<u8>,
    pub cert: Vec<u8>,
}

impl Issued {
    pub fn certificate(&self) -> Certificate {
        Certificate::from_pem(&self.cert).unwrap().remove(0)
    }

    pub fn private_key(&self) -> PrivateKey {
        PrivateKey::from_pem(&self.key).unwrap()
    }
}

pub struct Pki {
    pub root: Issued,
    pub intermediate: Issued,
    pub rogue_root: Issued,
    pub a_rsa: Issued,
    pub b_rsa: Issued,
    /// Below the intermediate.
    pub a_ec: Issued,
    /// Below the intermediate.
    pub b_ec: Issued,
    pub a_p384: Issued,
    pub a_ed25519: Issued,
    /// Issued by the untrusted root.
    pub a_rogue: Issued,
    pub b_rogue: Issued,
}

pub enum Alg {
    Rsa,
    P256,
    P384,
    Ed25519,
    /// DSA with 2048-bit p and 256-bit q (slow to make: see [`dsa_pair`]).
    Dsa,
}

pub fn gen_key(alg: Alg) -> PKey<Private> {
    match alg {
        Alg::Rsa => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        Alg::P256 | Alg::P384 => {
            let nid = if matches!(alg, Alg::P256) {
                Nid::X9_62_PRIME256V1
            } else {
                Nid::SECP384R1
            };
            let group = EcGroup::from_curve_name(nid).unwrap();
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
        }
        Alg::Ed25519 => PKey::generate_ed25519().unwrap(),
        Alg::Dsa => PKey::from_dsa(openssl::dsa::Dsa::generate(2048).unwrap()).unwrap(),
    }
}

/// DSA end-entity certificates for a.example.org and b.example.org below the root, made on
/// first use only (DSA parameter generation takes seconds).
pub fn dsa_pair() -> &'static (Issued, Issued) {
    static DSA: OnceLock<(Issued, Issued)> = OnceLock::new();
    DSA.get_or_init(|| {
        let root = &pki().root;
        let (rk, rc) = (
            PKey::private_key_from_pem(&root.key).unwrap(),
            X509::from_pem(&root.cert).unwrap(),
        );
        let ee =
            |cn: &str, serial| pem(&issue(cn, Alg::Dsa, Some((&rc, &rk)), Some(cn), 30, serial));
        (ee("a.example.org", 40), ee("b.example.org", 41))
    })
}

/// Issues a certificate for `cn` (a CA, or an end entity with dNSName `san`), valid from a day
/// before T0 for `days`, signed by `issuer` (self-signed without one).
pub fn issue(
    cn: &str,
    alg: Alg,
    issuer: Option<(&X509, &PKey<Private>)>,
    san: Option<&str>,
    days: i64,
    serial: u32,
) -> (PKey<Private>, X509) {
    let key = gen_key(alg);
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("O", "ike tests").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(T0 - DAY).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(T0 + days * DAY).unwrap())
        .unwrap();
    if let Some(dns) = san {
        b.append_extension(BasicConstraints::new().critical().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .build()
                .unwrap(),
        )
        .unwrap();
        let ext = SubjectAlternativeName::new()
            .dns(dns)
            .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))
            .unwrap();
        b.append_extension(ext).unwrap();
    } else {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let signer = issuer.map_or(&key, |(_, k)| k);
    let digest = if signer.id() == openssl::pkey::Id::ED25519 {
        MessageDigest::null()
    } else {
        MessageDigest::sha256()
    };
    b.sign(signer, digest).unwrap();
    (key, b.build())
}

pub fn pem((key, cert): &(PKey<Private>, X509)) -> Issued {
    Issued {
        key: key.private_key_to_pem_pkcs8().unwrap(),
        cert: cert.to_pem().unwrap(),
    }
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root = issue("Test Root CA", Alg::Rsa, None, None, 3650, 1);
        let inter = issue(
            "Test Intermediate CA",
            Alg::P256,
            Some((&root.1, &root.0)),
            None,
            365,
            2,
        );
        let rogue = issue("Rogue Root CA", Alg::Rsa, None, None, 3650, 3);
        let by_root = Some((&root.1, &root.0));
        let by_inter = Some((&inter.1, &inter.0));
        let by_rogue = Some((&rogue.1, &rogue.0));
        let ee = |cn: &str, alg, issuer, serial| issue(cn, alg, issuer, Some(cn), 30, serial);
        Pki {
            a_rsa: pem(&ee("a.example.org", Alg::Rsa, by_root, 10)),
            b_rsa: pem(&ee("b.example.org", Alg::Rsa, by_root, 11)),
            a_ec: pem(&ee("a.example.org", Alg::P256, by_inter, 12)),
            b_ec: pem(&ee("b.example.org", Alg::P256, by_inter, 13)),
            a_p384: pem(&ee("a.example.org", Alg::P384, by_root, 14)),
            a_ed25519: pem(&ee("a.example.org", Alg::Ed25519, by_root, 15)),
            a_rogue: pem(&ee("a.example.org", Alg::Rsa, by_rogue, 16)),
            b_rogue: pem(&ee("b.example.org", Alg::Rsa, by_rogue, 17)),
            root: pem(&root),
            intermediate: pem(&inter),
            rogue_root: pem(&rogue),
        }
    })
}

// ---- configuration ----

/// Our side: sign with `ee`'s key, send `ee` and then `chain`.
pub fn cred(ee: &Issued, chain: &[&Issued]) -> Credential {
    let mut certs = vec![ee.certificate()];
    certs.extend(chain.iter().map(|c| c.certificate()));
    Credential::new(ee.private_key(), certs).unwrap()
}

pub fn sign_with(ee: &Issued, chain: &[&Issued]) -> AuthMethod {
    AuthMethod::PubKey(cred(ee, chain))
}

pub fn policy(anchor: &Issued) -> PeerCertPolicy {
    PeerCertPolicy::trusting(TrustStore::new(vec![anchor.certificate()]).unwrap())
}

/// The peer's side: its certificate must chain to `anchor`.
pub fn trusting(anchor: &Issued) -> AuthMethod {
    AuthMethod::PeerCert(policy(anchor))
}

pub fn psk() -> AuthMethod {
    AuthMethod::Psk(Secret::from_slice(b"a long random string"))
}
