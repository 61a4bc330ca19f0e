//! Whatever the text, `parse` returns `Ok` or `Err`: random TOML-ish text, and mutations of the
//! examples (which exercise the certificate, key and secret loading paths).

mod common;

use proptest::prelude::*;

/// Fragments a configuration is made of, so that random text is often nearly valid.
const TOKENS: &[&str] = &[
    "[daemon]\n",
    "[connections.a]\n",
    "[connections.a.local]\n",
    "[connections.a.remote]\n",
    "[connections.a.children.c]\n",
    "[[secrets.ike]]\n",
    "[[secrets.private_key]]\n",
    "[[authorities]]\n",
    "version = ",
    "auth = ",
    "id = ",
    "certs = ",
    "cacerts = ",
    "cacert = ",
    "file = ",
    "secret = ",
    "ids = ",
    "local_addrs = ",
    "remote_addrs = ",
    "proposals = ",
    "esp_proposals = ",
    "ah_proposals = ",
    "local_ts = ",
    "remote_ts = ",
    "mode = ",
    "start_action = ",
    "rekey_time = ",
    "life_time = ",
    "over_time = ",
    "dpd_delay = ",
    "dpd_action = ",
    "listen = ",
    "fragment_size = ",
    "retransmit_base = ",
    "keep_alive = ",
    "log = ",
    "\"psk\"",
    "\"pubkey\"",
    "\"pke\"",
    "\"%any\"",
    "\"dynamic\"",
    "\"10.0.0.1\"",
    "\"fd00::/64[tcp/1-2]\"",
    "\"10.0.0.0/24\"",
    "\"a.example.org\"",
    "\"C=CH, CN=x\"",
    "\"@#00ff\"",
    "\"0x00\"",
    "\"0s==\"",
    "\"aes128gcm16-prfsha256-x25519\"",
    "\"aes256-sha256-modp2048-esn\"",
    "\"default\"",
    "\"4h\"",
    "\"1.5d\"",
    "\"0\"",
    "\"99999999999999999999d\"",
    "\"../../../../examples/certs/ca.pem\"",
    "\"../../../../examples/certs/a.example.org.pem\"",
    "\"../../../../examples/certs/a.example.org.key.pem\"",
    "\"not-a-cert.pem\"",
    "\"site-b.psk\"",
    "\"/dev/null\"",
    "\".\"",
    "1",
    "2",
    "-1",
    "1e308",
    "nan",
    "inf",
    "9223372036854775807",
    "true",
    "[",
    "]",
    ", ",
    "{ x = 1 }",
    "\n",
    " = ",
    "#",
    "\"",
];

fn tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

fn example_texts() -> Vec<String> {
    let mut out = vec![common::BASE.to_owned()];
    for entry in std::fs::read_dir(common::examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            // Make the example's relative paths work from the test data directory.
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("\"certs/", "\"../../../../examples/certs/");
            out.push(text);
        }
    }
    out
}

/// An example with some lines deleted, duplicated, or cut, and some bytes replaced.
fn mutated() -> impl Strategy<Value = String> {
    let texts = example_texts();
    (
        prop::sample::select(texts),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..5, any::<u8>()), 1..8),
    )
        .prop_map(|(text, edits)| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            for (at, op, byte) in edits {
                if lines.is_empty() {
                    break;
                }
                let i = at.index(lines.len());
                match op {
                    0 => {
                        lines.remove(i);
                    }
                    1 => {
                        let l = lines[i].clone();
                        lines.insert(i, l);
                    }
                    2 => {
                        let l = &mut lines[i];
                        let cut = l
                            .char_indices()
                            .map(|(c, _)| c)
                            .nth(at.index(l.len() + 1))
                            .unwrap_or(l.len());
                        l.truncate(cut);
                    }
                    3 => {
                        let l = &mut lines[i];
                        let c = char::from(byte % 95 + 32);
                        let pos = l
                            .char_indices()
                            .map(|(c, _)| c)
                            .nth(at.index(l.len() + 1))
                            .unwrap_or(l.len());
                        l.insert(pos, c);
                    }
                    _ => {
                        let j = at.index(TOKENS.len());
                        lines[i].push_str(TOKENS[j]);
                    }
                }
            }
            lines.join("\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_token_soup_never_panics(text in tokens()) {
        let _ = ike_config::parse(&text, "fuzz.toml", &common::data_dir());
    }

    #[test]
    fn mutated_examples_never_panic(text in mutated()) {
        match ike_config::parse(&text, "fuzz.toml", &common::data_dir()) {
            Ok(_) => {}
            Err(e) => {
                // Every problem names the file, and every error but a missing file has a line.
                prop_assert!(!e.is_empty());
                for p in e.iter() {
                    prop_assert_eq!(&p.file, "fuzz.toml");
                    prop_assert!(p.line.is_some(), "{}", p);
                }
            }
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,400}") {
        let _ = ike_config::parse(&text, "fuzz.toml", &common::data_dir());
    }
}
