//! PRFs and the IKEv2 key schedule against published vectors: RFC 4231/2202 HMAC, RFC 3566/4434
//! AES-XCBC, RFC 4493/4615 AES-CMAC, Wycheproof HMAC and CMAC, and the IKEv2 KDF vectors OpenSSL
//! ships (from NIST ACVP).

use ike_crypto::kdf::v2;
use ike_crypto::prf::{aes_cmac, aes_xcbc_mac, prf_plus, PrfAlg};
use serde_json::Value;

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn hmac_alg(name: &str) -> PrfAlg {
    match name.to_ascii_lowercase().replace('-', "").as_str() {
        "md5" => PrfAlg::HmacMd5,
        "sha1" => PrfAlg::HmacSha1,
        "sha256" | "sha2256" => PrfAlg::HmacSha256,
        "sha384" | "sha2384" => PrfAlg::HmacSha384,
        "sha512" | "sha2512" => PrfAlg::HmacSha512,
        other => panic!("hash {other}"),
    }
}

#[test]
fn hmac_rfc4231_and_rfc2202() {
    let d = data("hmac_rfc4231_rfc2202.json");
    let vectors = d["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 19);
    for v in vectors {
        let prf = hmac_alg(v["hash"].as_str().unwrap());
        let out = prf.compute(&hx(&v["key"]), &[&hx(&v["data"])]);
        assert_eq!(out.expose(), hx(&v["mac"]).as_slice(), "{}", v["title"]);
        assert_eq!(out.len(), prf.output_len());
    }
}

#[test]
fn hmac_wycheproof() {
    for (file, prf) in [
        ("hmac_sha1_test.json", PrfAlg::HmacSha1),
        ("hmac_sha256_test.json", PrfAlg::HmacSha256),
    ] {
        let d = data(file);
        let mut checked = 0;
        for g in d["testGroups"].as_array().unwrap() {
            let tag_len = g["tagSize"].as_u64().unwrap() as usize / 8;
            for t in g["tests"].as_array().unwrap() {
                let full = prf.compute(&hx(&t["key"]), &[&hx(&t["msg"])]);
                let matches = full.expose().get(..tag_len) == Some(hx(&t["tag"]).as_slice());
                match t["result"].as_str().unwrap() {
                    "valid" => assert!(matches, "{file} tcId {}", t["tcId"]),
                    "invalid" => assert!(!matches, "{file} tcId {}", t["tcId"]),
                    _ => {}
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{file}: {checked}");
    }
}

#[test]
fn aes_xcbc_rfc3566_and_rfc4434() {
    let d = data("aes_xcbc_prf.json");
    for v in d["vectors"].as_array().unwrap() {
        let key = hx(&v["key"]);
        match v["kind"].as_str().unwrap() {
            "signer" => {
                let msg = hx(&v["data"]);
                let key: [u8; 16] = key.try_into().unwrap();
                assert_eq!(
                    &aes_xcbc_mac(&key, &msg)[..12],
                    hx(&v["mac"]).as_slice(),
                    "{}",
                    v["title"]
                );
            }
            "prf" => {
                let seed = hx(&v["seed"]);
                let len = v["len"].as_u64().unwrap() as usize;
                let out = PrfAlg::Aes128Xcbc.compute(&key, &[&seed[..len]]);
                assert_eq!(out.expose(), hx(&v["out"]).as_slice(), "{}", v["title"]);
            }
            other => panic!("{other}"),
        }
    }
}

#[test]
fn aes_cmac_rfc4493_rfc4615_rfc4494() {
    let d = data("aes_cmac_prf.json");
    let mut n = 0;
    for v in d["vectors"].as_array().unwrap() {
        let key = hx(&v["key"]);
        let len = v["len"].as_u64().unwrap() as usize;
        match v["kind"].as_str().unwrap() {
            "signer" => {
                let msg = hx(v.get("data").or(v.get("seed")).unwrap());
                let key: [u8; 16] = key.try_into().unwrap();
                assert_eq!(
                    &aes_cmac(&key, &msg[..len])[..12],
                    hx(&v["mac"]).as_slice(),
                    "{}",
                    v["title"]
                );
            }
            "prf" => {
                let seed = hx(&v["seed"]);
                let out = PrfAlg::Aes128Cmac.compute(&key, &[&seed[..len]]);
                assert_eq!(out.expose(), hx(&v["out"]).as_slice(), "{}", v["title"]);
            }
            other => panic!("{other}"),
        }
        n += 1;
    }
    assert!(n >= 7);
}

#[test]
fn aes_cmac_wycheproof_128_bit_keys() {
    let d = data("aes_cmac_test.json");
    let mut checked = 0;
    for g in d["testGroups"].as_array().unwrap() {
        if g["keySize"].as_u64() != Some(128) || g["tagSize"].as_u64() != Some(128) {
            continue;
        }
        for t in g["tests"].as_array().unwrap() {
            let key: [u8; 16] = hx(&t["key"]).try_into().unwrap();
            let matches = aes_cmac(&key, &hx(&t["msg"])).as_slice() == hx(&t["tag"]).as_slice();
            match t["result"].as_str().unwrap() {
                "valid" => assert!(matches, "tcId {}", t["tcId"]),
                "invalid" => assert!(!matches, "tcId {}", t["tcId"]),
                _ => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}

#[test]
fn ikev2_kdf_acvp_vectors_from_openssl() {
    let d = data("ikev2_kdf_openssl_evpkdf.json");
    let mut modes = std::collections::BTreeSet::new();
    for v in d["vectors"].as_array().unwrap() {
        let prf = hmac_alg(v["hash"].as_str().unwrap());
        let (ni, nr, out) = (hx(&v["ni"]), hx(&v["nr"]), hx(&v["out"]));
        let mode = v["mode"].as_str().unwrap();
        let got = match mode {
            "skeyseed" => v2::skeyseed(prf, &ni, &nr, &hx(&v["gir"])),
            "dkm" => v2::dkm(
                prf,
                &hx(&v["skeyseed"]),
                &ni,
                &nr,
                &hx(&v["spii"]),
                &hx(&v["spir"]),
                out.len(),
            )
            .unwrap(),
            "child_sa" => {
                v2::child_keymat(prf, &hx(&v["sk_d"]), None, &[], &ni, &nr, out.len()).unwrap()
            }
            "child_dh" => v2::child_keymat(
                prf,
                &hx(&v["sk_d"]),
                Some(&hx(&v["gir_new"])),
                &[],
                &ni,
                &nr,
                out.len(),
            )
            .unwrap(),
            "rekey" => v2::rekey_skeyseed(prf, &hx(&v["sk_d"]), &hx(&v["gir_new"]), &[], &ni, &nr),
            other => panic!("mode {other}"),
        };
        assert_eq!(got.expose(), out.as_slice(), "{}", v["name"]);
        modes.insert(mode.to_owned());
    }
    assert_eq!(modes.len(), 5, "{modes:?}");
}

#[test]
fn prf_plus_is_t1_t2_and_bounded() {
    let prf = PrfAlg::HmacSha256;
    let (k, s) = (b"key", b"seed");
    let t1 = prf.compute(k, &[s, &[1]]);
    let t2 = prf.compute(k, &[t1.expose(), s, &[2]]);
    let out = prf_plus(prf, k, s, 50).unwrap();
    assert_eq!(&out.expose()[..32], t1.expose());
    assert_eq!(&out.expose()[32..], &t2.expose()[..18]);
    assert!(prf_plus(prf, k, s, 255 * 32).is_ok());
    assert!(prf_plus(prf, k, s, 255 * 32 + 1).is_err());
}

#[test]
fn fixed_key_prfs_take_half_of_each_nonce_for_skeyseed() {
    // RFC 7296 §2.14: with AES-XCBC/CMAC the key is the first 64 bits of Ni and of Nr.
    let ni: Vec<u8> = (0..32).collect();
    let nr: Vec<u8> = (100..132).collect();
    for prf in [PrfAlg::Aes128Xcbc, PrfAlg::Aes128Cmac] {
        let key = [&ni[..8], &nr[..8]].concat();
        assert_eq!(
            v2::skeyseed(prf, &ni, &nr, b"gir").expose(),
            prf.compute(&key, &[b"gir"]).expose()
        );
    }
}

#[test]
fn ike_sa_keys_split_dkm_in_rfc_order() {
    let prf = PrfAlg::HmacSha256;
    let keys = v2::ike_sa_keys(prf, b"seed", b"ni", b"nr", &[1; 8], &[2; 8], 32, 20).unwrap();
    let all = v2::dkm(
        prf,
        b"seed",
        b"ni",
        b"nr",
        &[1; 8],
        &[2; 8],
        3 * 32 + 2 * 32 + 2 * 20,
    )
    .unwrap();
    let joined = [
        &keys.sk_d,
        &keys.sk_ai,
        &keys.sk_ar,
        &keys.sk_ei,
        &keys.sk_er,
        &keys.sk_pi,
        &keys.sk_pr,
    ]
    .iter()
    .flat_map(|s| s.expose().to_vec())
    .collect::<Vec<u8>>();
    assert_eq!(joined, all.expose());
    assert_eq!(
        (
            keys.sk_d.len(),
            keys.sk_ai.len(),
            keys.sk_ei.len(),
            keys.sk_pr.len()
        ),
        (32, 32, 20, 32)
    );
}

#[test]
fn psk_auth_matches_an_independent_python_computation() {
    let Some(python) = python3() else { return };
    let octets = b"message one|nonce|maced id";
    for (prf, name) in [
        (PrfAlg::HmacSha1, "sha1"),
        (PrfAlg::HmacSha256, "sha256"),
        (PrfAlg::HmacSha512, "sha512"),
    ] {
        let ours = v2::psk_auth(prf, b"a long random string", octets);
        let script = format!(
            "import hmac\ninner = hmac.new(b'a long random string', b'Key Pad for IKEv2', '{name}').digest()\nprint(hmac.new(inner, b'message one|nonce|maced id', '{name}').hexdigest())"
        );
        let out = std::process::Command::new(&python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            hex::encode(ours.expose())
        );
    }
}

fn python3() -> Option<String> {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_PYTHON").is_none(),
            "python3 required"
        );
        eprintln!("SKIPPED: python3 not found; the independent computation did not run");
        return None;
    }
    Some("python3".to_owned())
}
