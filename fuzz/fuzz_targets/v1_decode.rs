//! IKEv1 codec: whatever `Message::decode` accepts must encode, to the same length, and decode
//! back to the same value. A bare payload chain (first payload type from byte 0) is parsed both
//! as a plain chain and as decrypted plaintext with padding: the two modes must agree, and the
//! payloads must round-trip.
#![no_main]

use ike_wire::v1::{decode_payloads, encode_payloads, Message, Padding, PayloadType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        let bytes = msg.to_vec().expect("a decoded message must encode");
        // Reserved fields are written as zero, so the bytes may differ, but every length is
        // recomputed from the same values and must come out the same.
        assert_eq!(bytes.len(), data.len(), "re-encoding changed the length");
        let again = Message::decode(&bytes).expect("an encoded message must decode");
        assert_eq!(again, msg, "decode(encode(m)) != m");
    }

    let Some((&first, chain)) = data.split_first() else {
        return;
    };
    let first = PayloadType::from(first);
    let strict = decode_payloads(first, chain, 1, Padding::Forbidden);
    let padded = decode_payloads(first, chain, 1, Padding::Allowed);
    match (&strict, &padded) {
        (Ok(s), Ok(p)) => {
            assert_eq!(s.padding, 0);
            assert_eq!(s, p, "padding mode changed a chain that has no padding");
        }
        (Ok(_), Err(e)) => panic!("strict parse succeeded, padded parse failed: {e:?}"),
        (Err(_), Ok(p)) => assert_ne!(p.padding, 0, "only padding may make a strict parse fail"),
        (Err(_), Err(_)) => {}
    }
    if let Ok(p) = padded {
        let mut out = Vec::new();
        let first_out =
            encode_payloads(&p.payloads, &mut out).expect("a decoded chain must encode");
        assert_eq!(
            out.len() + p.padding,
            chain.len(),
            "re-encoding changed the chain length"
        );
        if !p.payloads.is_empty() {
            assert_eq!(first_out, first, "first payload type changed");
        }
        let again = decode_payloads(first_out, &out, 1, Padding::Forbidden)
            .expect("an encoded chain must decode");
        assert_eq!(again.payloads, p.payloads, "decode(encode(chain)) != chain");
    }
});
