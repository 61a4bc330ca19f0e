//! X.509 for IKE: parsing, identity matching, CERTREQ hashes and chain validation.
//!
//! The certificates are made at test time with the `openssl` crate's builders (test-only keys,
//! fixed validity windows around `T0`, so every verdict is replayable), and one chain with the
//! openssl command-line tool as an independent producer.

use std::process::Command;
use std::sync::OnceLock;

use ike_crypto::x509::{
    matches_identity, Certificate, ChainFailure, EndEntityUse, Identity, KeyUsage, SubjectAltName,
    TrustStore,
};
use ike_crypto::CryptoError;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage as KuExt, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

/// 2023-11-14T22:13:20Z: "now" for every test unless it says otherwise.
const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;
const YEAR: i64 = 365 * DAY;

#[derive(Clone, Copy)]
enum Alg {
    Rsa,
    P256,
}

fn new_key(alg: Alg) -> PKey<Private> {
    match alg {
        Alg::Rsa => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        Alg::P256 => PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap(),
    }
}

/// A few test-only keys, generated once per test binary.
fn key(slot: usize, alg: Alg) -> &'static PKey<Private> {
    static KEYS: OnceLock<Vec<(PKey<Private>, PKey<Private>)>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..6)
            .map(|_| (new_key(Alg::Rsa), new_key(Alg::P256)))
            .collect()
    });
    match alg {
        Alg::Rsa => &keys[slot].0,
        Alg::P256 => &keys[slot].1,
    }
}

/// What a test certificate says about itself.
#[derive(Clone)]
struct Spec {
    subject: Vec<(&'static str, String)>,
    /// None: no basicConstraints; Some(ca): basicConstraints with that cA flag.
    ca: Option<bool>,
    path_len: Option<u32>,
    /// keyUsage bits by name; None: no keyUsage extension.
    key_usage: Option<Vec<&'static str>>,
    dns: Vec<&'static str>,
    email: Vec<&'static str>,
    ip: Vec<&'static str>,
    window: (i64, i64),
}

impl Spec {
    fn ca(cn: &str) -> Self {
        Self {
            subject: vec![
                ("C", "CH".into()),
                ("O", "ike test".into()),
                ("CN", cn.into()),
            ],
            ca: Some(true),
            path_len: None,
            key_usage: Some(vec!["keyCertSign", "cRLSign"]),
            dns: vec![],
            email: vec![],
            ip: vec![],
            window: (T0 - 10 * YEAR, T0 + 10 * YEAR),
        }
    }

    fn end_entity(cn: &str) -> Self {
        Self {
            subject: vec![
                ("C", "CH".into()),
                ("O", "ike test".into()),
                ("CN", cn.into()),
            ],
            ca: Some(false),
            path_len: None,
            key_usage: Some(vec!["digitalSignature", "keyEncipherment"]),
            dns: vec![],
            email: vec![],
            ip: vec![],
            window: (T0 - YEAR, T0 + YEAR),
        }
    }
}

/// Issues a certificate for `key` from `issuer` (self-signed when None).
fn issue(spec: &Spec, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let mut name = X509NameBuilder::new().unwrap();
    for (field, value) in &spec.subject {
        name.append_entry_by_text(field, value).unwrap();
    }
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(spec.window.0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(spec.window.1).unwrap())
        .unwrap();
    if let Some(ca) = spec.ca {
        let mut bc = BasicConstraints::new();
        bc.critical();
        if ca {
            bc.ca();
        }
        if let Some(p) = spec.path_len {
            bc.pathlen(p);
        }
        b.append_extension(bc.build().unwrap()).unwrap();
    }
    if let Some(bits) = &spec.key_usage {
        let mut ku = KuExt::new();
        ku.critical();
        for bit in bits {
            match *bit {
                "digitalSignature" => ku.digital_signature(),
                "keyEncipherment" => ku.key_encipherment(),
                "keyCertSign" => ku.key_cert_sign(),
                "cRLSign" => ku.crl_sign(),
                other => panic!("unknown keyUsage {other}"),
            };
        }
        b.append_extension(ku.build().unwrap()).unwrap();
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if let Some((issuer_cert, _)) = issuer {
        let akid = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(issuer_cert), None))
            .unwrap();
        b.append_extension(akid).unwrap();
    }
    if !(spec.dns.is_empty() && spec.email.is_empty() && spec.ip.is_empty()) {
        let mut san = SubjectAlternativeName::new();
        for d in &spec.dns {
            san.dns(d);
        }
        for e in &spec.email {
            san.email(e);
        }
        for i in &spec.ip {
            san.ip(i);
        }
        let ext = san.build(&b.x509v3_context(None, None)).unwrap();
        b.append_extension(ext).unwrap();
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

fn cert(x: &X509) -> Certificate {
    Certificate::from_der(&x.to_der().unwrap()).unwrap()
}

/// A root CA, an intermediate and an end entity, all with keys of `alg`.
struct Pki {
    root: X509,
    root_key: &'static PKey<Private>,
    int: X509,
    int_key: &'static PKey<Private>,
    ee: X509,
}

fn pki(alg: Alg) -> Pki {
    let root_key = key(0, alg);
    let int_key = key(1, alg);
    let root = issue(&Spec::ca("Root CA"), root_key, None);
    let mut int_spec = Spec::ca("Intermediate CA");
    int_spec.window = (T0 - 5 * YEAR, T0 + 5 * YEAR);
    let int = issue(&int_spec, int_key, Some((&root, root_key)));
    let mut ee_spec = Spec::end_entity("moon.strongswan.org");
    ee_spec.dns = vec!["moon.strongswan.org"];
    let ee = issue(&ee_spec, key(2, alg), Some((&int, int_key)));
    Pki {
        root,
        root_key,
        int,
        int_key,
        ee,
    }
}

fn store(anchors: &[&X509]) -> TrustStore {
    TrustStore::new(anchors.iter().map(|x| cert(x)).collect()).unwrap()
}

fn reason(r: Result<Vec<Certificate>, CryptoError>) -> ChainFailure {
    let err = r.expect_err("chain must not validate");
    ChainFailure::of(&err).unwrap_or_else(|| panic!("not a chain failure: {err:?}"))
}

// ---------------------------------------------------------------------------------------------
// Valid chains

#[test]
fn rsa_and_ecdsa_chains_validate_inside_the_window() {
    for alg in [Alg::Rsa, Alg::P256] {
        let p = pki(alg);
        let s = store(&[&p.root]);
        let chain = s.verify(&cert(&p.ee), &[cert(&p.int)], T0).unwrap();
        assert_eq!(chain, vec![cert(&p.ee), cert(&p.int), cert(&p.root)]);
        // notBefore is inclusive; OpenSSL counts the notAfter second itself as expired.
        s.verify(&cert(&p.ee), &[cert(&p.int)], T0 - YEAR).unwrap();
        s.verify(&cert(&p.ee), &[cert(&p.int)], T0 + YEAR - 1)
            .unwrap();
        assert_eq!(
            reason(s.verify(&cert(&p.ee), &[cert(&p.int)], T0 + YEAR)),
            ChainFailure::Expired
        );
    }
}

#[test]
fn mixed_algorithms_and_intermediates_in_any_order() {
    // RSA root, P-256 intermediate, RSA end entity, plus an unrelated certificate.
    let root = issue(&Spec::ca("Root CA"), key(0, Alg::Rsa), None);
    let int = issue(
        &Spec::ca("EC Intermediate"),
        key(1, Alg::P256),
        Some((&root, key(0, Alg::Rsa))),
    );
    let ee = issue(
        &Spec::end_entity("sun.strongswan.org"),
        key(2, Alg::Rsa),
        Some((&int, key(1, Alg::P256))),
    );
    let unrelated = issue(&Spec::ca("Somebody Else"), key(3, Alg::P256), None);
    let s = store(&[&root]);
    let chain = s
        .verify(&cert(&ee), &[cert(&unrelated), cert(&int)], T0)
        .unwrap();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[1], cert(&int));

    // Two intermediates given leaf-side last.
    let int2 = issue(
        &Spec::ca("Second Intermediate"),
        key(4, Alg::Rsa),
        Some((&int, key(1, Alg::P256))),
    );
    let ee2 = issue(
        &Spec::end_entity("deep.example"),
        key(2, Alg::P256),
        Some((&int2, key(4, Alg::Rsa))),
    );
    let chain = s
        .verify(&cert(&ee2), &[cert(&int), cert(&int2)], T0)
        .unwrap();
    assert_eq!(
        chain
            .iter()
            .map(Certificate::subject_text)
            .collect::<Vec<_>>(),
        [
            "C=CH, O=ike test, CN=deep.example",
            "C=CH, O=ike test, CN=Second Intermediate",
            "C=CH, O=ike test, CN=EC Intermediate",
            "C=CH, O=ike test, CN=Root CA",
        ]
    );
}

#[test]
fn an_intermediate_anchor_terminates_the_chain() {
    let p = pki(Alg::Rsa);
    let s = store(&[&p.int]);
    let chain = s.verify(&cert(&p.ee), &[], T0).unwrap();
    assert_eq!(chain, vec![cert(&p.ee), cert(&p.int)]);
}

// ---------------------------------------------------------------------------------------------
// Failures, each with its reason

#[test]
fn expired_and_not_yet_valid() {
    let p = pki(Alg::P256);
    let s = store(&[&p.root]);
    let (ee, int) = (cert(&p.ee), cert(&p.int));
    assert_eq!(
        reason(s.verify(&ee, std::slice::from_ref(&int), T0 + YEAR + 1)),
        ChainFailure::Expired
    );
    assert_eq!(
        reason(s.verify(&ee, std::slice::from_ref(&int), T0 - YEAR - 1)),
        ChainFailure::NotYetValid
    );

    // An end entity whose own window is over, or not begun, while `now` is T0.
    let mut spec = Spec::end_entity("old.example");
    spec.window = (T0 - 2 * YEAR, T0 - DAY);
    let old = cert(&issue(&spec, key(2, Alg::P256), Some((&p.int, p.int_key))));
    let err = s.verify(&old, std::slice::from_ref(&int), T0).unwrap_err();
    assert_eq!(ChainFailure::of(&err), Some(ChainFailure::Expired));
    assert!(err.to_string().contains("CN=old.example"), "{err}");
    spec.window = (T0 + DAY, T0 + YEAR);
    let future = cert(&issue(&spec, key(2, Alg::P256), Some((&p.int, p.int_key))));
    assert_eq!(
        reason(s.verify(&future, &[int], T0)),
        ChainFailure::NotYetValid
    );

    // An expired intermediate.
    let mut int_spec = Spec::ca("Intermediate CA");
    int_spec.window = (T0 - 2 * YEAR, T0 - DAY);
    let old_int = issue(&int_spec, p.int_key, Some((&p.root, p.root_key)));
    let err = s.verify(&ee, &[cert(&old_int)], T0).unwrap_err();
    assert_eq!(ChainFailure::of(&err), Some(ChainFailure::Expired));
    assert!(err.to_string().contains("Intermediate CA"), "{err}");
}

#[test]
fn wrong_anchor_and_missing_intermediate() {
    let p = pki(Alg::Rsa);
    let other = issue(&Spec::ca("Root CA"), key(3, Alg::Rsa), None); // same name, other key
    let s = store(&[&other]);
    assert_eq!(
        reason(s.verify(&cert(&p.ee), &[cert(&p.int)], T0)),
        ChainFailure::UnknownIssuer
    );
    let s = store(&[&p.root]);
    assert_eq!(
        reason(s.verify(&cert(&p.ee), &[], T0)),
        ChainFailure::UnknownIssuer
    );
    // A self-signed end entity that is not an anchor.
    let selfie = issue(&Spec::end_entity("selfie"), key(2, Alg::Rsa), None);
    assert_eq!(
        reason(s.verify(&cert(&selfie), &[], T0)),
        ChainFailure::UnknownIssuer
    );
}

#[test]
fn issuers_must_be_cas() {
    let p = pki(Alg::Rsa);
    let s = store(&[&p.root]);
    // Intermediate with basicConstraints cA FALSE (but keyCertSign).
    let mut spec = Spec::ca("Intermediate CA");
    spec.ca = Some(false);
    let not_ca = issue(&spec, p.int_key, Some((&p.root, p.root_key)));
    assert_eq!(
        reason(s.verify(&cert(&p.ee), &[cert(&not_ca)], T0)),
        ChainFailure::NotCa
    );
    // Intermediate without basicConstraints at all: OpenSSL alone would accept it.
    spec.ca = None;
    let no_bc = issue(&spec, p.int_key, Some((&p.root, p.root_key)));
    assert_eq!(
        reason(s.verify(&cert(&p.ee), &[cert(&no_bc)], T0)),
        ChainFailure::NotCa
    );
}

#[test]
fn end_entity_used_as_issuer() {
    let p = pki(Alg::P256);
    let s = store(&[&p.root]);
    // The end entity (cA FALSE, keyUsage without keyCertSign) signs a certificate.
    let victim = issue(
        &Spec::end_entity("victim.example"),
        key(3, Alg::P256),
        Some((&p.ee, key(2, Alg::P256))),
    );
    let err = s
        .verify(&cert(&victim), &[cert(&p.ee), cert(&p.int)], T0)
        .unwrap_err();
    assert_eq!(ChainFailure::of(&err), Some(ChainFailure::NotCa), "{err}");
    // The same with an end entity that has no keyUsage at all: still not a CA.
    let mut spec = Spec::end_entity("moon.strongswan.org");
    spec.key_usage = None;
    let ee_no_ku = issue(&spec, key(2, Alg::P256), Some((&p.int, p.int_key)));
    assert_eq!(
        reason(s.verify(&cert(&victim), &[cert(&ee_no_ku), cert(&p.int)], T0)),
        ChainFailure::NotCa
    );
}

#[test]
fn path_length_constraint() {
    let root_key = key(0, Alg::Rsa);
    let mut spec = Spec::ca("Root CA pathlen 0");
    spec.path_len = Some(0);
    let root = issue(&spec, root_key, None);
    let int = issue(
        &Spec::ca("Intermediate CA"),
        key(1, Alg::Rsa),
        Some((&root, root_key)),
    );
    let ee = issue(
        &Spec::end_entity("ee.example"),
        key(2, Alg::Rsa),
        Some((&int, key(1, Alg::Rsa))),
    );
    let s = store(&[&root]);
    assert_eq!(
        reason(s.verify(&cert(&ee), &[cert(&int)], T0)),
        ChainFailure::PathLength
    );
    // Directly under the root it is fine.
    let direct = issue(
        &Spec::end_entity("ee.example"),
        key(2, Alg::Rsa),
        Some((&root, root_key)),
    );
    s.verify(&cert(&direct), &[], T0).unwrap();
}

#[test]
fn tampered_signatures() {
    let p = pki(Alg::Rsa);
    let s = store(&[&p.root]);
    let der = p.ee.to_der().unwrap();
    // Last octet of the signature value.
    let mut sig = der.clone();
    *sig.last_mut().unwrap() ^= 0x01;
    assert_eq!(
        reason(s.verify(&Certificate::from_der(&sig).unwrap(), &[cert(&p.int)], T0)),
        ChainFailure::BadSignature
    );
    // One octet of the signed part: the subject CN "moon" becomes "noon".
    let mut tbs = der.clone();
    let at = tbs.windows(4).position(|w| w == b"moon").unwrap();
    tbs[at] = b'n';
    let tampered = Certificate::from_der(&tbs).unwrap();
    assert_eq!(
        tampered.subject_text(),
        "C=CH, O=ike test, CN=noon.strongswan.org"
    );
    assert_eq!(
        reason(s.verify(&tampered, &[cert(&p.int)], T0)),
        ChainFailure::BadSignature
    );
    // A tampered intermediate.
    let mut int = p.int.to_der().unwrap();
    *int.last_mut().unwrap() ^= 0x80;
    assert_eq!(
        reason(s.verify(&cert(&p.ee), &[Certificate::from_der(&int).unwrap()], T0)),
        ChainFailure::BadSignature
    );
}

#[test]
fn end_entity_key_usage() {
    let p = pki(Alg::Rsa);
    let s = store(&[&p.root]);
    let mut spec = Spec::end_entity("enc-only.example");
    spec.key_usage = Some(vec!["keyEncipherment"]);
    let enc_only = cert(&issue(&spec, key(2, Alg::Rsa), Some((&p.int, p.int_key))));
    let err = s.verify(&enc_only, &[cert(&p.int)], T0).unwrap_err();
    assert_eq!(ChainFailure::of(&err), Some(ChainFailure::KeyUsage));
    assert!(err.to_string().contains("digitalSignature"), "{err}");
    // Fine for IKEv1 public-key encryption.
    s.verify_for(
        &enc_only,
        &[cert(&p.int)],
        T0,
        EndEntityUse::KeyEncipherment,
    )
    .unwrap();
    // And the other way round.
    spec.key_usage = Some(vec!["digitalSignature"]);
    let sig_only = cert(&issue(&spec, key(2, Alg::Rsa), Some((&p.int, p.int_key))));
    s.verify(&sig_only, &[cert(&p.int)], T0).unwrap();
    assert_eq!(
        reason(s.verify_for(
            &sig_only,
            &[cert(&p.int)],
            T0,
            EndEntityUse::KeyEncipherment
        )),
        ChainFailure::KeyUsage
    );
    // No keyUsage extension: every use is allowed.
    spec.key_usage = None;
    let any = cert(&issue(&spec, key(2, Alg::Rsa), Some((&p.int, p.int_key))));
    s.verify(&any, &[cert(&p.int)], T0).unwrap();
    // An intermediate whose keyUsage lacks keyCertSign.
    let mut int_spec = Spec::ca("Intermediate CA");
    int_spec.key_usage = Some(vec!["digitalSignature", "cRLSign"]);
    let int = issue(&int_spec, p.int_key, Some((&p.root, p.root_key)));
    assert_eq!(
        reason(s.verify(&cert(&p.ee), &[cert(&int)], T0)),
        ChainFailure::KeyUsage
    );
}

#[test]
fn trust_store_refuses_non_ca_anchors() {
    let p = pki(Alg::Rsa);
    let err = TrustStore::new(vec![cert(&p.ee)]).unwrap_err();
    assert_eq!(ChainFailure::of(&err), Some(ChainFailure::NotCa));
    assert!(TrustStore::new(vec![]).is_err());
    let mut spec = Spec::ca("No CertSign CA");
    spec.key_usage = Some(vec!["cRLSign"]);
    let x = issue(&spec, key(0, Alg::Rsa), None);
    assert_eq!(
        ChainFailure::of(&TrustStore::new(vec![cert(&x)]).unwrap_err()),
        Some(ChainFailure::KeyUsage)
    );
    // Duplicates merge.
    let s = TrustStore::new(vec![cert(&p.root), cert(&p.root), cert(&p.int)]).unwrap();
    assert_eq!(s.anchors().len(), 2);
    assert_eq!(s.anchor_hashes().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// CERTREQ hashes

fn openssl_cli() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_OPENSSL").is_none(),
            "the openssl command-line tool is required (IKE_REQUIRE_OPENSSL is set) but missing"
        );
        eprintln!("SKIPPED: no openssl command-line tool; the independent check did not run");
    }
    ok
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ike-crypto-x509-{}-{name}", std::process::id()))
}

#[test]
fn certreq_hash_is_sha1_of_the_anchor_spki() {
    let rsa = pki(Alg::Rsa);
    let ec = pki(Alg::P256);
    let s = store(&[&rsa.root, &ec.root]);
    let hashes = s.anchor_hashes();
    assert_eq!(hashes.len(), 2);
    for (root, hash) in [&rsa.root, &ec.root].iter().zip(&hashes) {
        // Same value from the crate's own SPKI encoder, and our SPKI slice is that encoding.
        let spki = root.public_key().unwrap().public_key_to_der().unwrap();
        assert_eq!(cert(root).spki_der(), spki);
        assert_eq!(
            openssl::hash::hash(MessageDigest::sha1(), &spki)
                .unwrap()
                .as_ref(),
            hash
        );
        if !openssl_cli() {
            continue;
        }
        // Independently: openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha1sum.
        let pem = temp_path("anchor.pem");
        std::fs::write(&pem, root.to_pem().unwrap()).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl x509 -in '{}' -noout -pubkey | openssl pkey -pubin -outform DER | sha1sum",
                pem.display()
            ))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&pem);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.split_whitespace().next().unwrap(), hex::encode(hash));
    }
}

// ---------------------------------------------------------------------------------------------
// Identity matching

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 0x80);
    let mut v = vec![tag, body.len() as u8];
    v.extend_from_slice(body);
    v
}

/// A DER Name from (attribute, string tag, value), one RDN each.
fn dn(avas: &[(&str, u8, &str)]) -> Vec<u8> {
    let mut rdns = Vec::new();
    for (attr, tag, value) in avas {
        let oid: &[u8] = match *attr {
            "C" => &[0x55, 0x04, 0x06],
            "O" => &[0x55, 0x04, 0x0a],
            "CN" => &[0x55, 0x04, 0x03],
            other => panic!("{other}"),
        };
        let mut atv = tlv(0x06, oid);
        atv.extend(tlv(*tag, value.as_bytes()));
        rdns.extend(tlv(0x31, &tlv(0x30, &atv)));
    }
    tlv(0x30, &rdns)
}

const PRINTABLE: u8 = 0x13;
const UTF8: u8 = 0x0c;

#[test]
fn subject_alt_name_and_dn_matching() {
    let mut spec = Spec::end_entity("moon.strongswan.org");
    spec.subject = vec![
        ("C", "CH".into()),
        ("O", "strongSwan".into()),
        ("CN", "moon.strongswan.org".into()),
    ];
    spec.dns = vec!["moon.strongswan.org", "*.wild.example"];
    spec.email = vec!["Alice@Example.ORG"];
    spec.ip = vec!["192.0.2.1", "2001:db8::1"];
    let c = cert(&issue(&spec, key(2, Alg::Rsa), None));
    assert_eq!(
        c.subject_text(),
        "C=CH, O=strongSwan, CN=moon.strongswan.org"
    );
    let m = |id: Identity<'_>| matches_identity(&c, &id);

    // dNSName: case-insensitive, no wildcard expansion on either side, CN not consulted.
    assert!(m(Identity::Fqdn("moon.strongswan.org")));
    assert!(m(Identity::Fqdn("MOON.StrongSwan.ORG")));
    assert!(!m(Identity::Fqdn("sun.strongswan.org")));
    assert!(!m(Identity::Fqdn("moon.strongswan.org.")));
    assert!(!m(Identity::Fqdn("x.wild.example")));
    assert!(m(Identity::Fqdn("*.wild.example")));
    assert!(!m(Identity::Fqdn("*.strongswan.org")));
    // rfc822Name: local part exact, domain case-insensitive.
    assert!(m(Identity::Rfc822("Alice@example.org")));
    assert!(!m(Identity::Rfc822("alice@example.org")));
    assert!(!m(Identity::Rfc822("Bob@example.org")));
    assert!(
        !m(Identity::Fqdn("Alice@Example.ORG")),
        "types do not cross"
    );
    // iPAddress.
    assert!(m(Identity::Ipv4([192, 0, 2, 1])));
    assert!(!m(Identity::Ipv4([192, 0, 2, 2])));
    let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert!(m(Identity::Ipv6(v6.octets())));
    assert!(!m(Identity::Ipv6(
        "2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
    )));
    let mapped = std::net::Ipv4Addr::new(192, 0, 2, 1)
        .to_ipv6_mapped()
        .octets();
    assert!(!m(Identity::Ipv6(mapped)));
    // KEY_ID never.
    assert!(!m(Identity::KeyId(b"moon.strongswan.org")));
    assert!(!m(Identity::KeyId(&c.spki_sha1())));

    // DN: exact DER, then normalised (string type, case, spaces); order and values matter.
    assert!(m(Identity::DerDn(&c.subject_der())));
    let same = dn(&[
        ("C", PRINTABLE, "ch"),
        ("O", PRINTABLE, "STRONGSWAN"),
        ("CN", UTF8, " Moon.StrongSwan.org "),
    ]);
    assert_ne!(same, c.subject_der());
    assert!(m(Identity::DerDn(&same)));
    assert!(!m(Identity::DerDn(&dn(&[
        ("C", PRINTABLE, "CH"),
        ("O", UTF8, "strongSwan"),
        ("CN", UTF8, "sun.strongswan.org"),
    ]))));
    assert!(!m(Identity::DerDn(&dn(&[
        ("CN", UTF8, "moon.strongswan.org"),
        ("O", UTF8, "strongSwan"),
        ("C", PRINTABLE, "CH"),
    ]))));
    assert!(!m(Identity::DerDn(&dn(&[
        ("C", PRINTABLE, "CH"),
        ("O", UTF8, "strongSwan"),
    ]))));
    assert!(!m(Identity::DerDn(&dn(&[]))));
    assert!(!m(Identity::DerDn(b"\x30\x03garbage")));
    assert!(!m(Identity::Fqdn("moon.strongswan.org ")));
}

// ---------------------------------------------------------------------------------------------
// Parsing and accessors

#[test]
fn accessors() {
    let p = pki(Alg::P256);
    let (root, int, ee) = (cert(&p.root), cert(&p.int), cert(&p.ee));
    assert_eq!(ee.der(), p.ee.to_der().unwrap().as_slice());
    assert_eq!(ee.subject_der(), p.ee.subject_name().to_der().unwrap());
    assert_eq!(ee.issuer_der(), int.subject_der());
    assert_eq!(ee.issuer_text(), "C=CH, O=ike test, CN=Intermediate CA");
    assert_eq!(
        ee.spki_der(),
        p.ee.public_key().unwrap().public_key_to_der().unwrap()
    );
    assert_eq!((ee.not_before(), ee.not_after()), (T0 - YEAR, T0 + YEAR));
    assert_eq!(root.not_after(), T0 + 10 * YEAR);
    assert!(root.is_ca() && int.is_ca() && !ee.is_ca());
    assert_eq!(root.path_len(), None);
    assert_eq!(
        ee.key_usage().unwrap(),
        ee.key_usage()
            .filter(|k| k.contains(KeyUsage::DIGITAL_SIGNATURE)
                && k.contains(KeyUsage::KEY_ENCIPHERMENT)
                && !k.contains(KeyUsage::KEY_CERT_SIGN))
            .unwrap()
    );
    assert!(root.key_usage().unwrap().contains(KeyUsage::KEY_CERT_SIGN));
    assert!(ee.allows(KeyUsage::DIGITAL_SIGNATURE) && !ee.allows(KeyUsage::CRL_SIGN));
    assert_eq!(
        ee.subject_alt_names(),
        &[SubjectAltName::Dns("moon.strongswan.org".into())]
    );
    let shown = format!("{ee:?}");
    assert!(shown.contains("CN=moon.strongswan.org"), "{shown}");

    let mut spec = Spec::ca("pathlen CA");
    spec.path_len = Some(2);
    assert_eq!(
        cert(&issue(&spec, key(0, Alg::Rsa), None)).path_len(),
        Some(2)
    );
}

#[test]
fn der_and_pem_parsing() {
    let p = pki(Alg::Rsa);
    let mut pem = p.ee.to_pem().unwrap();
    pem.extend(p.int.to_pem().unwrap());
    let certs = Certificate::from_pem(&pem).unwrap();
    assert_eq!(certs, vec![cert(&p.ee), cert(&p.int)]);
    assert!(Certificate::from_pem(b"no certificate here").is_err());
    assert!(Certificate::from_pem(b"").is_err());

    let der = p.ee.to_der().unwrap();
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        Certificate::from_der(&trailing),
        Err(CryptoError::Parse(_))
    ));
    assert!(Certificate::from_der(&der[..der.len() - 1]).is_err());
    assert!(Certificate::from_der(&[]).is_err());
    // Every truncation fails cleanly (no panic).
    for n in 0..der.len() {
        assert!(Certificate::from_der(&der[..n]).is_err());
    }
    // Random corruption never panics; whatever parses keeps its DER.
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let mut d = der.clone();
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let at = (x as usize >> 8) % d.len();
        d[at] ^= (x >> 24) as u8 | 1;
        if let Ok(c) = Certificate::from_der(&d) {
            assert_eq!(c.der(), d.as_slice());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A chain made by the openssl command-line tool

#[test]
fn chain_made_with_the_openssl_cli() {
    if !openssl_cli() {
        return;
    }
    let dir = temp_path("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"
set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 3650 -subj "/C=CH/O=strongSwan/CN=strongSwan Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout moon.key -out moon.csr \
  -subj "/C=CH/O=strongSwan/CN=moon.strongswan.org" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:moon.strongswan.org,IP:192.168.0.1,email:moon@strongswan.org\n' > ext.cnf
openssl x509 -req -in moon.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
  -extfile ext.cnf -out moon.pem 2>/dev/null
"#;
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let moon = Certificate::from_pem(&std::fs::read(dir.join("moon.pem")).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (ca, moon) = (&ca[0], &moon[0]);
    assert_eq!(
        ca.subject_text(),
        "C=CH, O=strongSwan, CN=strongSwan Root CA"
    );
    assert_eq!(
        moon.subject_text(),
        "C=CH, O=strongSwan, CN=moon.strongswan.org"
    );
    let now = moon.not_before() + 3600;
    let s = TrustStore::new(vec![ca.clone()]).unwrap();
    let chain = s.verify(moon, &[], now).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(
        reason(s.verify(moon, &[], moon.not_after() + 1)),
        ChainFailure::Expired
    );
    assert!(matches_identity(
        moon,
        &Identity::Fqdn("moon.strongswan.org")
    ));
    assert!(matches_identity(moon, &Identity::Ipv4([192, 168, 0, 1])));
    assert!(matches_identity(
        moon,
        &Identity::Rfc822("moon@strongswan.org")
    ));
    assert!(matches_identity(
        moon,
        &Identity::DerDn(&moon.subject_der())
    ));
}

// ---------------------------------------------------------------------------------------------
// Certificates made by strongSwan's `pki`, as peers sent them in the bundled ikev2-cert.pcap

#[test]
fn strongswan_pki_certificates_from_a_capture() {
    for (file, fqdn) in [
        ("strongswan-a.ikecap.test.der", "a.ikecap.test"),
        ("strongswan-b.ikecap.test.der", "b.ikecap.test"),
    ] {
        let der = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(file),
        )
        .unwrap();
        let c = Certificate::from_der(&der).unwrap();
        // As charon logs them.
        assert_eq!(c.subject_text(), format!("C=XX, O=ikecap test, CN={fqdn}"));
        assert_eq!(c.issuer_text(), "C=XX, O=ikecap test, CN=ikecap test CA");
        // The peers' ID_FQDN payloads in the capture, which charon accepted for these certs.
        assert!(matches_identity(&c, &Identity::Fqdn(fqdn)));
        assert!(!matches_identity(&c, &Identity::Fqdn("ikecap.test")));
        assert!(matches_identity(&c, &Identity::DerDn(&c.subject_der())));
        assert!(!c.is_ca());
        assert_eq!(c.key_usage(), None);
        assert_eq!(c.not_after() - c.not_before(), 3650 * DAY);
        // Its issuer is not configured here: no anchor, no chain.
        let root = issue(&Spec::ca("ikecap test CA"), key(0, Alg::Rsa), None);
        assert_eq!(
            reason(store(&[&root]).verify(&c, &[], c.not_before() + DAY)),
            ChainFailure::UnknownIssuer
        );
    }
}
