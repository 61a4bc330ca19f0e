//! IKE message protection (`ike_crypto::cipher`) against published vectors, a second
//! implementation (OpenSSL) and its own properties.
//!
//! Vectors (sources in `tests/data/README.md`): IKE-shaped AEAD and cipher vectors (McGrew-Viega
//! GCM, RFC 8439/7634 ChaCha20-Poly1305 including the RFC 7634 IKEv2 example, 11-byte-nonce CCM,
//! RFC 3602 CBC, RFC 3686 CTR, NIST 3DES), NIST CAVP GCM (96-bit IVs, 16/12/8-byte tags, with
//! the failing decryptions), NIST CAVP CBC MMT, RFC 2202/4231/4868 HMACs, RFC 3566 XCBC-96, RFC
//! 4494 CMAC-96, and the Wycheproof AES-GCM, AES-CCM, ChaCha20-Poly1305, HMAC and CMAC sets.

use ike_crypto::cipher::{Cipher, EncrAlg, IntegAlg, Integrity};
use ike_crypto::rng::{Rng, SeededRng};
use ike_crypto::CryptoError;
use ike_wire::v2::{EncrId, IntegId};
use proptest::prelude::*;
use serde_json::Value;

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))).unwrap()
}

fn vectors(d: &Value) -> &Vec<Value> {
    d["vectors"].as_array().unwrap()
}

/// Every encryption transform and key size.
fn all_encr() -> Vec<EncrAlg> {
    let mut v = Vec::new();
    for key_bits in [128, 192, 256] {
        v.push(EncrAlg::AesCbc { key_bits });
        v.push(EncrAlg::AesCtr { key_bits });
        for icv_len in [8, 12, 16] {
            v.push(EncrAlg::AesGcm { key_bits, icv_len });
            v.push(EncrAlg::AesCcm { key_bits, icv_len });
        }
    }
    v.push(EncrAlg::ChaCha20Poly1305);
    v.push(EncrAlg::TripleDesCbc);
    v
}

fn aeads() -> Vec<EncrAlg> {
    all_encr().into_iter().filter(EncrAlg::is_aead).collect()
}

const ALL_INTEG: [IntegAlg; 7] = [
    IntegAlg::HmacMd5_96,
    IntegAlg::HmacSha1_96,
    IntegAlg::HmacSha256_128,
    IntegAlg::HmacSha384_192,
    IntegAlg::HmacSha512_256,
    IntegAlg::AesXcbc96,
    IntegAlg::AesCmac96,
];

fn random(rng: &mut SeededRng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill(&mut v).unwrap();
    v
}

/// Seals with `alg`, checks the result, then opens it both ways.
#[allow(clippy::too_many_arguments)]
fn check_aead(
    what: &str,
    alg: EncrAlg,
    km: &[u8],
    iv: &[u8],
    aad: &[u8],
    pt: &[u8],
    ct_and_tag: &[u8],
) {
    let c = Cipher::new(alg, km).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(c.seal(iv, aad, pt).unwrap(), ct_and_tag, "{what}: seal");
    assert_eq!(c.open(iv, aad, ct_and_tag).unwrap(), pt, "{what}: open");
    let mut buf = ct_and_tag.to_vec();
    assert_eq!(
        c.open_in_place(iv, aad, &mut buf).unwrap(),
        pt,
        "{what}: open_in_place"
    );
    let mut buf = pt.to_vec();
    c.seal_in_place(iv, aad, &mut buf).unwrap();
    assert_eq!(buf, ct_and_tag, "{what}: seal_in_place");
}

fn aead_alg(name: &str, key_bits: u16, icv_len: usize) -> EncrAlg {
    match name {
        "aes-gcm" => EncrAlg::AesGcm { key_bits, icv_len },
        "aes-ccm" => EncrAlg::AesCcm { key_bits, icv_len },
        "chacha20-poly1305" => EncrAlg::ChaCha20Poly1305,
        other => panic!("{other}"),
    }
}

// ---- Known answers: AEAD ----

#[test]
fn ike_shaped_aead_vectors() {
    // McGrew-Viega GCM test cases 1-4, 7-10, 13-16 (with 8/12/16-byte ICVs), 11-byte-nonce CCM
    // (CAVS), RFC 8439 §2.8.2 and Appendix A.5, RFC 7634 Appendix A (ESP) and B (IKEv2).
    let d = data("cipher/ike_aead_kat.json");
    let mut per_alg = std::collections::BTreeMap::new();
    for v in vectors(&d) {
        let alg = aead_alg(
            v["alg"].as_str().unwrap(),
            v["key_bits"].as_u64().unwrap() as u16,
            v["icv_len"].as_u64().unwrap() as usize,
        );
        check_aead(
            v["name"].as_str().unwrap(),
            alg,
            &hx(&v["key_material"]),
            &hx(&v["iv"]),
            &hx(&v["aad"]),
            &hx(&v["plaintext"]),
            &hx(&v["ciphertext"]),
        );
        *per_alg
            .entry(v["alg"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(per_alg["aes-gcm"], 21);
    assert_eq!(per_alg["aes-ccm"], 16);
    assert_eq!(per_alg["chacha20-poly1305"], 4);
}

/// NIST gives a 12-byte nonce; IKE splits it into a 4-byte salt (from the key material) and an
/// 8-byte IV.
fn split_nonce(key: &[u8], nonce: &[u8], salt: usize) -> (Vec<u8>, Vec<u8>) {
    let mut km = key.to_vec();
    km.extend_from_slice(&nonce[..salt]);
    (km, nonce[salt..].to_vec())
}

#[test]
fn nist_cavp_gcm_96_bit_iv() {
    let d = data("cipher/nist_gcm_iv96.json");
    let (mut valid, mut invalid) = (0, 0);
    for v in vectors(&d) {
        let what = v["source"].as_str().unwrap();
        let key = hx(&v["key"]);
        let (km, iv) = split_nonce(&key, &hx(&v["iv"]), 4);
        let (aad, pt, tag) = (hx(&v["aad"]), hx(&v["plaintext"]), hx(&v["tag"]));
        let mut ct = hx(&v["ciphertext"]);
        let alg = EncrAlg::AesGcm {
            key_bits: key.len() as u16 * 8,
            icv_len: tag.len(),
        };
        ct.extend_from_slice(&tag);
        if v["result"] == "valid" {
            check_aead(what, alg, &km, &iv, &aad, &pt, &ct);
            valid += 1;
        } else {
            let c = Cipher::new(alg, &km).unwrap();
            assert_eq!(
                c.open(&iv, &aad, &ct),
                Err(CryptoError::IntegrityFailure),
                "{what}"
            );
            invalid += 1;
        }
    }
    assert_eq!((valid, invalid), (802, 323));
}

#[test]
fn gcm_short_tags_are_prefixes_of_the_full_tag() {
    // The 8/12-byte ICVs go through OpenSSL, the 16-byte one through aws-lc-rs: both must agree
    // that a t-byte tag is the first t bytes of the full one (NIST SP 800-38D §5.2.1.2).
    let mut rng = SeededRng::new(0x6c6d);
    for key_bits in [128u16, 192, 256] {
        for len in [0usize, 1, 15, 16, 17, 100, 1400] {
            let km = random(&mut rng, usize::from(key_bits) / 8 + 4);
            let (iv, aad, pt) = (
                random(&mut rng, 8),
                random(&mut rng, len % 40),
                random(&mut rng, len),
            );
            let full = Cipher::new(
                EncrAlg::AesGcm {
                    key_bits,
                    icv_len: 16,
                },
                &km,
            )
            .unwrap()
            .seal(&iv, &aad, &pt)
            .unwrap();
            for icv_len in [8, 12] {
                let c = Cipher::new(EncrAlg::AesGcm { key_bits, icv_len }, &km).unwrap();
                let short = c.seal(&iv, &aad, &pt).unwrap();
                assert_eq!(short, full[..len + icv_len]);
                assert_eq!(c.open(&iv, &aad, &short).unwrap(), pt);
            }
        }
    }
}

/// Runs a Wycheproof AEAD file through the IKE interface. Groups whose nonce and tag sizes IKE
/// cannot express are counted as skipped.
fn wycheproof_aead(
    file: &str,
    alg_of: impl Fn(u16, usize) -> Option<EncrAlg>,
    salt: usize,
) -> (usize, usize, usize) {
    let d = data(file);
    let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
    for g in d["testGroups"].as_array().unwrap() {
        let key_bits = g["keySize"].as_u64().unwrap() as u16;
        let tag_len = g["tagSize"].as_u64().unwrap() as usize / 8;
        let tests = g["tests"].as_array().unwrap();
        let Some(alg) = alg_of(key_bits, tag_len)
            .filter(|a| g["ivSize"].as_u64() == Some(8 * (salt + a.iv_len()) as u64))
        else {
            skipped += tests.len();
            continue;
        };
        for t in tests {
            let what = format!("{file} tcId {}", t["tcId"]);
            let (km, iv) = split_nonce(&hx(&t["key"]), &hx(&t["iv"]), salt);
            let (aad, pt, tag) = (hx(&t["aad"]), hx(&t["msg"]), hx(&t["tag"]));
            let mut ct = hx(&t["ct"]);
            ct.extend_from_slice(&tag);
            match t["result"].as_str().unwrap() {
                "valid" => {
                    check_aead(&what, alg, &km, &iv, &aad, &pt, &ct);
                    valid += 1;
                }
                "invalid" => {
                    let c = Cipher::new(alg, &km).unwrap();
                    assert_eq!(
                        c.open(&iv, &aad, &ct),
                        Err(CryptoError::IntegrityFailure),
                        "{what}"
                    );
                    invalid += 1;
                }
                other => panic!("{what}: result {other}"),
            }
        }
    }
    (valid, invalid, skipped)
}

#[test]
fn wycheproof_aes_gcm() {
    let counts = wycheproof_aead(
        "cipher/wycheproof_aes_gcm_test.json",
        |key_bits, icv_len| Some(EncrAlg::AesGcm { key_bits, icv_len }),
        4,
    );
    // Every 96-bit-nonce case; the other nonce sizes (119 cases) cannot occur in IKE.
    assert_eq!(counts, (116, 81, 119));
}

#[test]
fn wycheproof_aes_gcm_truncated_tags() {
    // The valid 96-bit-nonce cases again, with the tag cut to 8 and 12 bytes: the OpenSSL path
    // must accept them, and reject them with a flipped tag bit.
    let d = data("cipher/wycheproof_aes_gcm_test.json");
    let mut n = 0;
    for g in d["testGroups"].as_array().unwrap() {
        if g["ivSize"].as_u64() != Some(96) {
            continue;
        }
        let key_bits = g["keySize"].as_u64().unwrap() as u16;
        for t in g["tests"].as_array().unwrap() {
            if t["result"] != "valid" {
                continue;
            }
            let (km, iv) = split_nonce(&hx(&t["key"]), &hx(&t["iv"]), 4);
            let (aad, pt, tag) = (hx(&t["aad"]), hx(&t["msg"]), hx(&t["tag"]));
            for icv_len in [8, 12] {
                let mut ct = hx(&t["ct"]);
                ct.extend_from_slice(&tag[..icv_len]);
                let alg = EncrAlg::AesGcm { key_bits, icv_len };
                check_aead("truncated", alg, &km, &iv, &aad, &pt, &ct);
                let last = ct.len() - 1;
                ct[last] ^= 0x80;
                let c = Cipher::new(alg, &km).unwrap();
                assert_eq!(c.open(&iv, &aad, &ct), Err(CryptoError::IntegrityFailure));
                n += 1;
            }
        }
    }
    assert_eq!(n, 2 * 116);
}

#[test]
fn wycheproof_chacha20_poly1305() {
    let counts = wycheproof_aead(
        "cipher/wycheproof_chacha20_poly1305_test.json",
        |key_bits, icv_len| (key_bits == 256 && icv_len == 16).then_some(EncrAlg::ChaCha20Poly1305),
        4,
    );
    assert_eq!(counts, (256, 60, 9));
}

#[test]
fn wycheproof_aes_ccm() {
    // IKE's CCM nonce is 11 bytes (RFC 4309 §4); Wycheproof has 6 cases of that size per key
    // length, all with 16-byte tags.
    let counts = wycheproof_aead(
        "cipher/wycheproof_aes_ccm_test.json",
        |key_bits, icv_len| {
            matches!(icv_len, 8 | 12 | 16).then_some(EncrAlg::AesCcm { key_bits, icv_len })
        },
        3,
    );
    assert_eq!(counts, (18, 0, 534));
}

// ---- Known answers: CBC, CTR, 3DES ----

fn non_aead_alg(name: &str, key_bits: u16) -> EncrAlg {
    match name {
        "aes-cbc" => EncrAlg::AesCbc { key_bits },
        "aes-ctr" => EncrAlg::AesCtr { key_bits },
        "3des-cbc" => EncrAlg::TripleDesCbc,
        other => panic!("{other}"),
    }
}

fn check_crypt(what: &str, alg: EncrAlg, km: &[u8], iv: &[u8], pt: &[u8], ct: &[u8]) {
    let c = Cipher::new(alg, km).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut buf = pt.to_vec();
    c.encrypt(iv, &mut buf).unwrap();
    assert_eq!(buf, ct, "{what}: encrypt");
    c.decrypt(iv, &mut buf).unwrap();
    assert_eq!(buf, pt, "{what}: decrypt");
}

#[test]
fn ike_shaped_cipher_vectors() {
    // RFC 3602 cases 1-3, SP 800-38A F.2.1/3/5, RFC 3686 cases 1-9, NIST 3DES MMT examples.
    let d = data("cipher/ike_crypter_kat.json");
    for v in vectors(&d) {
        check_crypt(
            v["name"].as_str().unwrap(),
            non_aead_alg(
                v["alg"].as_str().unwrap(),
                v["key_bits"].as_u64().unwrap() as u16,
            ),
            &hx(&v["key_material"]),
            &hx(&v["iv"]),
            &hx(&v["plaintext"]),
            &hx(&v["ciphertext"]),
        );
    }
    assert_eq!(vectors(&d).len(), 17);
}

#[test]
fn nist_cavp_cbc_mmt() {
    let d = data("cipher/nist_cbc_mmt.json");
    for v in vectors(&d) {
        check_crypt(
            v["source"].as_str().unwrap(),
            non_aead_alg(
                v["alg"].as_str().unwrap(),
                v["key_bits"].as_u64().unwrap() as u16,
            ),
            &hx(&v["key"]),
            &hx(&v["iv"]),
            &hx(&v["plaintext"]),
            &hx(&v["ciphertext"]),
        );
    }
    assert_eq!(vectors(&d).len(), 80);
}

#[test]
fn rfc3686_aes_ctr() {
    let d = data("cipher/rfc3686_aes_ctr.json");
    for v in vectors(&d) {
        check_crypt(
            v["source"].as_str().unwrap(),
            EncrAlg::AesCtr {
                key_bits: v["key_bits"].as_u64().unwrap() as u16,
            },
            &hx(&v["key_material"]),
            &hx(&v["iv"]),
            &hx(&v["plaintext"]),
            &hx(&v["ciphertext"]),
        );
    }
    assert_eq!(vectors(&d).len(), 9);
}

// ---- Known answers: integrity ----

fn check_integ(what: &str, alg: IntegAlg, key: &[u8], msg: &[u8], icv: &[u8]) {
    let i = Integrity::new(alg, key).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(i.compute(msg), icv, "{what}");
    assert_eq!(i.verify(msg, icv), Ok(()), "{what}");
    let mut bad = icv.to_vec();
    bad[0] ^= 1;
    assert_eq!(
        i.verify(msg, &bad),
        Err(CryptoError::IntegrityFailure),
        "{what}"
    );
}

#[test]
fn rfc_hmac_integrity_vectors() {
    // RFC 2202 and RFC 4231/4868 cases whose key has the IKE length, truncated as IKE sends them.
    let d = data("cipher/ike_integ_kat.json");
    for v in vectors(&d) {
        let alg = match v["alg"].as_str().unwrap() {
            "AUTH_HMAC_MD5_96" => IntegAlg::HmacMd5_96,
            "AUTH_HMAC_SHA1_96" => IntegAlg::HmacSha1_96,
            "AUTH_HMAC_SHA2_256_128" => IntegAlg::HmacSha256_128,
            "AUTH_HMAC_SHA2_384_192" => IntegAlg::HmacSha384_192,
            "AUTH_HMAC_SHA2_512_256" => IntegAlg::HmacSha512_256,
            other => panic!("{other}"),
        };
        let what = v["name"].as_str().unwrap();
        check_integ(what, alg, &hx(&v["key"]), &hx(&v["data"]), &hx(&v["mac"]));
    }
    assert_eq!(vectors(&d).len(), 13);
}

#[test]
fn rfc3566_xcbc_96_and_rfc4494_cmac_96() {
    let mut n = 0;
    for (file, alg) in [
        ("aes_xcbc_prf.json", IntegAlg::AesXcbc96),
        ("aes_cmac_prf.json", IntegAlg::AesCmac96),
    ] {
        let d = data(file);
        for v in vectors(&d).iter().filter(|v| v["kind"] == "signer") {
            let msg = hx(&v["data"]);
            let len = v["len"].as_u64().unwrap() as usize;
            check_integ(
                v["title"].as_str().unwrap(),
                alg,
                &hx(&v["key"]),
                &msg[..len],
                &hx(&v["mac"]),
            );
            n += 1;
        }
    }
    assert_eq!(n, 5 + 4);
}

#[test]
fn wycheproof_hmac_ike_sizes() {
    // Groups whose key and tag sizes are exactly those of an IKE integrity transform:
    // HMAC-SHA2-256-128, -384-192 and -512-256 (RFC 4868).
    for (file, alg, expected) in [
        ("hmac_sha256_test.json", IntegAlg::HmacSha256_128, 81),
        (
            "cipher/wycheproof_hmac_sha384_test.json",
            IntegAlg::HmacSha384_192,
            81,
        ),
        (
            "cipher/wycheproof_hmac_sha512_test.json",
            IntegAlg::HmacSha512_256,
            81,
        ),
    ] {
        let d = data(file);
        let mut n = 0;
        for g in d["testGroups"].as_array().unwrap() {
            if g["keySize"].as_u64() != Some(8 * alg.key_len() as u64)
                || g["tagSize"].as_u64() != Some(8 * alg.output_len() as u64)
            {
                continue;
            }
            for t in g["tests"].as_array().unwrap() {
                let i = Integrity::new(alg, &hx(&t["key"])).unwrap();
                let ok = i.verify(&hx(&t["msg"]), &hx(&t["tag"])).is_ok();
                assert_eq!(ok, t["result"] == "valid", "{file} tcId {}", t["tcId"]);
                n += 1;
            }
        }
        assert_eq!(n, expected, "{file}");
    }
}

#[test]
fn wycheproof_truncations_sha1_96_and_cmac_96() {
    // The valid full-length cases with a 160-bit (SHA-1) or 128-bit (AES) key: the ICV is the
    // leftmost 96 bits of the published MAC.
    for (file, alg, key_bits, tag_bits, expected) in [
        ("hmac_sha1_test.json", IntegAlg::HmacSha1_96, 160, 160, 27),
        ("aes_cmac_test.json", IntegAlg::AesCmac96, 128, 128, 21),
    ] {
        let d = data(file);
        let mut n = 0;
        for g in d["testGroups"].as_array().unwrap() {
            if g["keySize"].as_u64() != Some(key_bits) || g["tagSize"].as_u64() != Some(tag_bits) {
                continue;
            }
            for t in g["tests"].as_array().unwrap() {
                if t["result"] != "valid" {
                    continue;
                }
                let tag = hx(&t["tag"]);
                check_integ(
                    &format!("{file} tcId {}", t["tcId"]),
                    alg,
                    &hx(&t["key"]),
                    &hx(&t["msg"]),
                    &tag[..12],
                );
                n += 1;
            }
        }
        assert_eq!(n, expected, "{file}");
    }
}

// ---- A second implementation: OpenSSL ----

/// AES-CCM encryption through OpenSSL's EVP interface, in the order CCM needs: nonce and tag
/// lengths, then key and nonce, then the total length, AAD and data.
fn openssl_ccm(key: &[u8], nonce: &[u8], aad: &[u8], pt: &[u8], icv_len: usize) -> Vec<u8> {
    use openssl::cipher::Cipher as C;
    use openssl::cipher_ctx::CipherCtx;
    let cipher = match key.len() {
        16 => C::aes_128_ccm(),
        24 => C::aes_192_ccm(),
        _ => C::aes_256_ccm(),
    };
    let mut ctx = CipherCtx::new().unwrap();
    ctx.encrypt_init(Some(cipher), None, None).unwrap();
    ctx.set_iv_length(nonce.len()).unwrap();
    ctx.set_tag_length(icv_len).unwrap();
    ctx.encrypt_init(None, Some(key), Some(nonce)).unwrap();
    ctx.set_data_len(pt.len()).unwrap();
    if !aad.is_empty() {
        ctx.cipher_update(aad, None).unwrap();
    }
    let mut out = Vec::new();
    ctx.cipher_update_vec(pt, &mut out).unwrap();
    ctx.cipher_final_vec(&mut out).unwrap();
    let mut tag = vec![0u8; icv_len];
    ctx.tag(&mut tag).unwrap();
    out.extend_from_slice(&tag);
    out
}

#[test]
fn cross_check_against_openssl() {
    use openssl::symm::{self, Cipher as Ossl};
    let mut rng = SeededRng::new(0x0551);
    for round in 0..40 {
        let len = [0usize, 1, 16, 31, 64, 333, 1400][round % 7];
        for key_bits in [128u16, 192, 256] {
            let kb = usize::from(key_bits) / 8;
            let (aad, pt) = (random(&mut rng, round % 33), random(&mut rng, len));

            // AES-CCM (RustCrypto) against OpenSSL's CCM.
            for icv_len in [8, 12, 16] {
                let km = random(&mut rng, kb + 3);
                let iv = random(&mut rng, 8);
                let ours = Cipher::new(EncrAlg::AesCcm { key_bits, icv_len }, &km)
                    .unwrap()
                    .seal(&iv, &aad, &pt)
                    .unwrap();
                let nonce = [&km[kb..], &iv[..]].concat();
                let theirs = openssl_ccm(&km[..kb], &nonce, &aad, &pt, icv_len);
                assert_eq!(ours, theirs, "CCM {key_bits}/{icv_len} len {len}");
            }

            // AES-CBC and AES-CTR (aws-lc-rs) against OpenSSL.
            let km = random(&mut rng, kb + 4);
            let iv16 = random(&mut rng, 16);
            let block_pt = &pt[..pt.len() / 16 * 16];
            let mut ours = block_pt.to_vec();
            Cipher::new(EncrAlg::AesCbc { key_bits }, &km[..kb])
                .unwrap()
                .encrypt(&iv16, &mut ours)
                .unwrap();
            let cbc = [
                Ossl::aes_128_cbc(),
                Ossl::aes_192_cbc(),
                Ossl::aes_256_cbc(),
            ][usize::from(key_bits / 64 - 2)];
            let mut c =
                symm::Crypter::new(cbc, symm::Mode::Encrypt, &km[..kb], Some(&iv16)).unwrap();
            c.pad(false);
            let mut theirs = vec![0u8; block_pt.len() + 16];
            let n = c.update(block_pt, &mut theirs).unwrap();
            let m = c.finalize(&mut theirs[n..]).unwrap();
            theirs.truncate(n + m);
            assert_eq!(ours, theirs, "CBC {key_bits}");

            let iv8 = &iv16[..8];
            let mut ours = pt.clone();
            Cipher::new(EncrAlg::AesCtr { key_bits }, &km)
                .unwrap()
                .encrypt(iv8, &mut ours)
                .unwrap();
            let ctr = [
                Ossl::aes_128_ctr(),
                Ossl::aes_192_ctr(),
                Ossl::aes_256_ctr(),
            ][usize::from(key_bits / 64 - 2)];
            let block = [&km[kb..], iv8, &[0, 0, 0, 1]].concat();
            let theirs = symm::encrypt(ctr, &km[..kb], Some(&block), &pt).unwrap();
            assert_eq!(ours, theirs, "CTR {key_bits}");
        }
    }
}

// ---- Properties ----

#[test]
fn round_trips_for_every_transform_and_key_size() {
    let mut rng = SeededRng::new(0x7272);
    for alg in all_encr() {
        for len in [0usize, 1, 7, 8, 15, 16, 17, 64, 255, 1400, 4096] {
            let km = random(&mut rng, alg.key_material_len());
            let c = Cipher::new(alg, &km).unwrap();
            let iv = random(&mut rng, alg.iv_len());
            let pt = random(&mut rng, len);
            if alg.is_aead() {
                let aad = random(&mut rng, len % 50);
                let sealed = c.seal(&iv, &aad, &pt).unwrap();
                assert_eq!(sealed.len(), len + alg.icv_len(), "{alg:?}");
                if len >= 8 {
                    assert_ne!(&sealed[..len], &pt[..], "{alg:?} len {len}");
                }
                assert_eq!(c.open(&iv, &aad, &sealed).unwrap(), pt, "{alg:?}");
            } else {
                if len % alg.block_len() != 0 {
                    let mut buf = pt.clone();
                    assert!(matches!(
                        c.encrypt(&iv, &mut buf),
                        Err(CryptoError::InvalidLength { .. })
                    ));
                    continue;
                }
                let mut buf = pt.clone();
                c.encrypt(&iv, &mut buf).unwrap();
                if len >= 8 {
                    assert_ne!(buf, pt, "{alg:?}");
                }
                c.decrypt(&iv, &mut buf).unwrap();
                assert_eq!(buf, pt, "{alg:?}");
            }
        }
    }
}

#[test]
fn ikev1_cbc_iv_chaining_by_the_caller() {
    // RFC 2409 Appendix B: the IV of the next message is the last ciphertext block of the
    // previous one. Encrypting two messages that way equals encrypting their concatenation.
    let mut rng = SeededRng::new(0x1b);
    for alg in [EncrAlg::AesCbc { key_bits: 256 }, EncrAlg::TripleDesCbc] {
        let c = Cipher::new(alg, &random(&mut rng, alg.key_material_len())).unwrap();
        let b = alg.block_len();
        let (iv, m1, m2) = (
            random(&mut rng, b),
            random(&mut rng, 4 * b),
            random(&mut rng, 3 * b),
        );
        let mut whole = [m1.clone(), m2.clone()].concat();
        c.encrypt(&iv, &mut whole).unwrap();
        let (mut c1, mut c2) = (m1, m2);
        c.encrypt(&iv, &mut c1).unwrap();
        let next_iv = c1[c1.len() - b..].to_vec();
        c.encrypt(&next_iv, &mut c2).unwrap();
        assert_eq!([c1, c2].concat(), whole);
    }
}

fn flip(bytes: &mut [u8], bit: usize) {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A flipped bit anywhere in the ciphertext, ICV, AAD or IV makes `open` fail, for every
    /// AEAD transform and key size.
    #[test]
    fn any_flipped_bit_is_rejected(
        alg_index in 0usize..19,
        seed in any::<u64>(),
        len in 0usize..200,
        aad_len in 1usize..40,
        bit in any::<usize>(),
        target in 0u8..3,
    ) {
        let alg = aeads()[alg_index % aeads().len()];
        let mut rng = SeededRng::new(seed);
        let c = Cipher::new(alg, &random(&mut rng, alg.key_material_len())).unwrap();
        let (mut iv, mut aad, pt) = (
            random(&mut rng, alg.iv_len()),
            random(&mut rng, aad_len),
            random(&mut rng, len),
        );
        let mut sealed = c.seal(&iv, &aad, &pt).unwrap();
        match target {
            0 => flip(&mut sealed, bit),
            1 => flip(&mut aad, bit),
            _ => flip(&mut iv, bit),
        }
        prop_assert_eq!(c.open(&iv, &aad, &sealed), Err(CryptoError::IntegrityFailure));
        let mut buf = sealed.clone();
        prop_assert!(c.open_in_place(&iv, &aad, &mut buf).is_err());
        prop_assert!(buf.iter().all(|&b| b == 0), "buffer not zeroed after a failed open");
    }

    /// A flipped bit in the message or the ICV makes `verify` fail, for every integrity
    /// transform.
    #[test]
    fn integrity_rejects_any_flipped_bit(
        alg_index in 0usize..7,
        seed in any::<u64>(),
        len in 1usize..300,
        bit in any::<usize>(),
        in_icv in any::<bool>(),
    ) {
        let alg = ALL_INTEG[alg_index];
        let mut rng = SeededRng::new(seed);
        let i = Integrity::new(alg, &random(&mut rng, alg.key_len())).unwrap();
        let mut msg = random(&mut rng, len);
        let mut icv = i.compute(&msg);
        prop_assert_eq!(icv.len(), alg.output_len());
        prop_assert!(i.verify(&msg, &icv).is_ok());
        if in_icv { flip(&mut icv, bit) } else { flip(&mut msg, bit) }
        prop_assert_eq!(i.verify(&msg, &icv), Err(CryptoError::IntegrityFailure));
    }
}

#[test]
fn a_different_key_does_not_open() {
    let mut rng = SeededRng::new(0xdead);
    for alg in aeads() {
        let km = random(&mut rng, alg.key_material_len());
        let mut other = km.clone();
        // Changing only the salt must also fail: it is part of the nonce.
        let last = other.len() - 1;
        other[last] ^= 1;
        let iv = random(&mut rng, 8);
        let sealed = Cipher::new(alg, &km)
            .unwrap()
            .seal(&iv, b"hdr", b"payload")
            .unwrap();
        let c = Cipher::new(alg, &other).unwrap();
        assert_eq!(
            c.open(&iv, b"hdr", &sealed),
            Err(CryptoError::IntegrityFailure),
            "{alg:?}"
        );
    }
}

// ---- Typed errors ----

#[test]
fn wrong_lengths_are_typed_errors() {
    for alg in all_encr() {
        let n = alg.key_material_len();
        for bad in [0, n - 1, n + 1] {
            assert!(
                matches!(
                    Cipher::new(alg, &vec![1u8; bad]),
                    Err(CryptoError::InvalidLength { what: "key material", len }) if len == bad
                ),
                "{alg:?} key material {bad}"
            );
        }
        let c = Cipher::new(alg, &vec![1u8; n]).unwrap();
        for bad_iv in [0, alg.iv_len() - 1, alg.iv_len() + 1, 12] {
            let iv = vec![0u8; bad_iv];
            let err = if alg.is_aead() {
                c.seal(&iv, b"", b"data").unwrap_err()
            } else {
                c.encrypt(&iv, &mut [0u8; 16][..alg.block_len().max(16)])
                    .unwrap_err()
            };
            assert_eq!(
                err,
                CryptoError::InvalidLength {
                    what: "IV",
                    len: bad_iv
                },
                "{alg:?}"
            );
            if alg.is_aead() {
                assert!(matches!(
                    c.open(&iv, b"", &[0u8; 32]),
                    Err(CryptoError::InvalidLength { what: "IV", .. })
                ));
            } else {
                assert!(matches!(
                    c.decrypt(&iv, &mut [0u8; 16]),
                    Err(CryptoError::InvalidLength { what: "IV", .. })
                ));
            }
        }
    }
    for alg in ALL_INTEG {
        for bad in [0, alg.key_len() - 1, alg.key_len() + 1] {
            assert_eq!(
                Integrity::new(alg, &vec![0u8; bad]).unwrap_err(),
                CryptoError::InvalidLength {
                    what: "integrity key",
                    len: bad
                },
                "{alg:?}"
            );
        }
        let i = Integrity::new(alg, &vec![0u8; alg.key_len()]).unwrap();
        let icv = i.compute(b"m");
        assert_eq!(
            i.verify(b"m", &icv[1..]),
            Err(CryptoError::IntegrityFailure)
        );
        assert_eq!(
            i.verify(b"m", &[icv.clone(), vec![0]].concat()),
            Err(CryptoError::IntegrityFailure)
        );
        assert_eq!(i.verify(b"m", &[]), Err(CryptoError::IntegrityFailure));
    }
}

#[test]
fn short_ciphertexts_and_misuse() {
    let mut rng = SeededRng::new(5);
    for alg in all_encr() {
        let c = Cipher::new(alg, &random(&mut rng, alg.key_material_len())).unwrap();
        let iv = vec![0u8; alg.iv_len()];
        if alg.is_aead() {
            // Shorter than the ICV: nothing to authenticate.
            let short = vec![0u8; alg.icv_len() - 1];
            assert_eq!(c.open(&iv, b"", &short), Err(CryptoError::IntegrityFailure));
            assert!(matches!(
                c.encrypt(&iv, &mut []),
                Err(CryptoError::Unsupported(_))
            ));
            assert!(matches!(
                c.decrypt(&iv, &mut []),
                Err(CryptoError::Unsupported(_))
            ));
        } else {
            assert!(matches!(
                c.seal(&iv, b"", b""),
                Err(CryptoError::Unsupported(_))
            ));
            assert!(matches!(
                c.open(&iv, b"", &[0; 32]),
                Err(CryptoError::Unsupported(_))
            ));
        }
    }
}

#[test]
fn negotiated_ids_map_to_transforms() {
    use ike_wire::v1::OakleyEncr;
    for (id, icv) in [
        (EncrId::AesGcm8, 8),
        (EncrId::AesGcm12, 12),
        (EncrId::AesGcm16, 16),
    ] {
        for bits in [128, 192, 256] {
            let alg = EncrAlg::from_ikev2(id, Some(bits)).unwrap();
            assert_eq!(
                (alg.icv_len(), alg.key_material_len()),
                (icv, usize::from(bits) / 8 + 4)
            );
        }
    }
    assert_eq!(
        EncrAlg::from_ikev2(EncrId::AesCtr, Some(256)).unwrap(),
        EncrAlg::AesCtr { key_bits: 256 }
    );
    assert!(EncrAlg::from_ikev2(EncrId::AesCcm16, Some(512)).is_err());
    assert_eq!(
        EncrAlg::from_ikev1(OakleyEncr::AesCbc, Some(128)).unwrap(),
        EncrAlg::AesCbc { key_bits: 128 }
    );
    for (id, alg) in [
        (IntegId::HmacMd5_96, IntegAlg::HmacMd5_96),
        (IntegId::HmacSha1_96, IntegAlg::HmacSha1_96),
        (IntegId::HmacSha256_128, IntegAlg::HmacSha256_128),
        (IntegId::HmacSha384_192, IntegAlg::HmacSha384_192),
        (IntegId::HmacSha512_256, IntegAlg::HmacSha512_256),
        (IntegId::AesXcbc96, IntegAlg::AesXcbc96),
        (IntegId::AesCmac96, IntegAlg::AesCmac96),
    ] {
        assert_eq!(IntegAlg::from_ikev2(id), Ok(alg));
    }
    for id in [
        IntegId::None,
        IntegId::HmacMd5_128,
        IntegId::Aes128Gmac,
        IntegId::Unknown(99),
    ] {
        assert!(matches!(
            IntegAlg::from_ikev2(id),
            Err(CryptoError::Unsupported(_))
        ));
    }
}

#[test]
fn debug_output_has_no_key_material() {
    let c = Cipher::new(EncrAlg::ChaCha20Poly1305, &[0xcd; 36]).unwrap();
    let i = Integrity::new(IntegAlg::HmacSha256_128, &[0xcd; 32]).unwrap();
    for s in [format!("{c:?}"), format!("{i:?}")] {
        assert!(
            !s.to_lowercase().contains("cd") && !s.contains("205"),
            "{s}"
        );
    }
}

#[test]
fn keyed_transforms_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Cipher>();
    assert_send_sync::<Integrity>();
    // The OpenSSL-backed transforms copy a keyed context per message, so concurrent use of one
    // `Cipher` is fine.
    let alg = EncrAlg::AesGcm {
        key_bits: 128,
        icv_len: 12,
    };
    let c = std::sync::Arc::new(Cipher::new(alg, &[9u8; 20]).unwrap());
    let handles: Vec<_> = (0..4u8)
        .map(|t| {
            let c = std::sync::Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..200u8 {
                    let iv = [t, i, 0, 0, 0, 0, 0, 0];
                    let sealed = c.seal(&iv, &[t], &[i; 100]).unwrap();
                    assert_eq!(c.open(&iv, &[t], &sealed).unwrap(), [i; 100]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
