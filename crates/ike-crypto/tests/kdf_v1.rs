//! The IKEv1 key schedule checked against a second, independent computation: a Python script
//! written from RFC 2409 with `hmac` and `hashlib` (tests/kdf_v1_reference.py), over random
//! inputs, for every hash and every authentication method (signatures, both public-key
//! encryption modes, pre-shared keys).

use ike_crypto::kdf::v1;
use ike_crypto::prf::PrfAlg;
use ike_crypto::rng::{Rng, SeededRng};
use serde_json::{json, Value};

fn random(rng: &mut SeededRng, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    rng.fill(&mut v).unwrap();
    v
}

#[test]
fn ikev1_key_schedule_matches_python_for_every_hash_and_method() {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_PYTHON").is_none(),
            "python3 required"
        );
        eprintln!("SKIPPED: python3 not found; the IKEv1 reference computation did not run");
        return;
    }
    let mut rng = SeededRng::new(2409);
    let hashes = [
        ("md5", PrfAlg::HmacMd5),
        ("sha1", PrfAlg::HmacSha1),
        ("sha256", PrfAlg::HmacSha256),
        ("sha384", PrfAlg::HmacSha384),
        ("sha512", PrfAlg::HmacSha512),
    ];
    let mut cases = Vec::new();
    let mut inputs = Vec::new();
    for round in 0..4 {
        for (name, prf) in hashes {
            // Key lengths that need Appendix B expansion for the short hashes (3DES 24, AES-256 32).
            let key_len = [16, 24, 32, 32][round];
            let c = json!({
                "hash": name,
                "ni": hex::encode(random(&mut rng, 16 + round * 8)),
                "nr": hex::encode(random(&mut rng, 20 + round * 4)),
                "gxy": hex::encode(random(&mut rng, 256)),
                "cky_i": hex::encode(random(&mut rng, 8)),
                "cky_r": hex::encode(random(&mut rng, 8)),
                "psk": hex::encode(random(&mut rng, 5 + round * 30)),
                "gxi": hex::encode(random(&mut rng, 256)),
                "gxr": hex::encode(random(&mut rng, 256)),
                "last_block": hex::encode(random(&mut rng, 16)),
                "message_id": 0x1234_5678u32 + round as u32,
                "sai": hex::encode(random(&mut rng, 52)),
                "idi": hex::encode(random(&mut rng, 12)),
                "idr": hex::encode(random(&mut rng, 12)),
                "rest": hex::encode(random(&mut rng, 120)),
                "gxy_qm": hex::encode(random(&mut rng, 128)),
                "protocol": 3,
                "spi": hex::encode(random(&mut rng, 4)),
                "key_len": key_len,
                "keymat_len": 20 + 36 * round,
            });
            cases.push(c);
            inputs.push(prf);
        }
    }
    let script = format!("{}/tests/kdf_v1_reference.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &cases).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let expected: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected.len(), cases.len());

    let h = |c: &Value, k: &str| hex::decode(c[k].as_str().unwrap()).unwrap();
    for ((c, prf), e) in cases.iter().zip(inputs).zip(&expected) {
        let check = |what: &str, ours: &[u8]| {
            assert_eq!(
                hex::encode(ours),
                e[what].as_str().unwrap(),
                "{what} with {}",
                c["hash"]
            );
        };
        let (ni, nr, gxy, cki, ckr) = (
            h(c, "ni"),
            h(c, "nr"),
            h(c, "gxy"),
            h(c, "cky_i"),
            h(c, "cky_r"),
        );
        let sig = v1::skeyid_sig(prf, &ni, &nr, &gxy);
        let pke = v1::skeyid_pke(prf, &ni, &nr, &cki, &ckr).unwrap();
        let psk = v1::skeyid_psk(prf, &h(c, "psk"), &ni, &nr);
        check("skeyid_sig", sig.expose());
        check("skeyid_pke", pke.expose());
        check("skeyid_psk", psk.expose());
        for (method, skeyid) in [("sig", &sig), ("pke", &pke), ("psk", &psk)] {
            let dae = v1::skeyid_d_a_e(prf, skeyid.expose(), &gxy, &cki, &ckr);
            check(&format!("{method}_d"), dae.skeyid_d.expose());
            check(&format!("{method}_a"), dae.skeyid_a.expose());
            check(&format!("{method}_e"), dae.skeyid_e.expose());
        }
        let dae = v1::skeyid_d_a_e(prf, psk.expose(), &gxy, &cki, &ckr);
        let key_len = c["key_len"].as_u64().unwrap() as usize;
        check(
            "enc_key",
            v1::encryption_key(prf, dae.skeyid_e.expose(), key_len)
                .unwrap()
                .expose(),
        );
        let (gxi, gxr) = (h(c, "gxi"), h(c, "gxr"));
        check("iv1", &v1::phase1_iv(prf, &gxi, &gxr, 16).unwrap());
        let mid = c["message_id"].as_u64().unwrap() as u32;
        check(
            "iv2",
            &v1::phase2_iv(prf, &h(c, "last_block"), mid, 16).unwrap(),
        );
        check(
            "hash_i",
            v1::hash_i(
                prf,
                psk.expose(),
                &gxi,
                &gxr,
                &cki,
                &ckr,
                &h(c, "sai"),
                &h(c, "idi"),
            )
            .expose(),
        );
        check(
            "hash_r",
            v1::hash_r(
                prf,
                psk.expose(),
                &gxi,
                &gxr,
                &cki,
                &ckr,
                &h(c, "sai"),
                &h(c, "idr"),
            )
            .expose(),
        );
        let a = dae.skeyid_a.expose();
        check("qm1", v1::qm_hash1(prf, a, mid, &h(c, "rest")).expose());
        check(
            "qm2",
            v1::qm_hash2(prf, a, mid, &ni, &h(c, "rest")).expose(),
        );
        check("qm3", v1::qm_hash3(prf, a, mid, &ni, &nr).expose());
        let km_len = c["keymat_len"].as_u64().unwrap() as usize;
        let d = dae.skeyid_d.expose();
        check(
            "keymat",
            v1::keymat(prf, d, None, 3, &h(c, "spi"), &ni, &nr, km_len)
                .unwrap()
                .expose(),
        );
        check(
            "keymat_pfs",
            v1::keymat(
                prf,
                d,
                Some(&h(c, "gxy_qm")),
                3,
                &h(c, "spi"),
                &ni,
                &nr,
                km_len,
            )
            .unwrap()
            .expose(),
        );
    }
}

#[test]
fn encryption_key_uses_skeyid_e_directly_when_long_enough() {
    let e = [7u8; 32];
    assert_eq!(
        v1::encryption_key(PrfAlg::HmacSha256, &e, 16)
            .unwrap()
            .expose(),
        &e[..16]
    );
    // SHA-1's 20-byte SKEYID_e is too short for a 32-byte key: expansion, not a prefix.
    let short = [7u8; 20];
    let k = v1::encryption_key(PrfAlg::HmacSha1, &short, 32).unwrap();
    assert_eq!(k.len(), 32);
    assert_ne!(&k.expose()[..20], &short);
}

#[test]
fn pke_skeyid_needs_a_hash() {
    assert!(v1::skeyid_pke(PrfAlg::Aes128Xcbc, b"n", b"n", b"c", b"c").is_err());
}
