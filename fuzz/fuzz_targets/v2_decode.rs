//! IKEv2 codec: whatever `Message::decode` accepts must encode, to the same length, and decode
//! back to the same value; the same for a bare payload chain (`decode_payloads`, as used on the
//! plaintext of an SK payload), whose first payload type is taken from byte 0.
#![no_main]

use ike_wire::v2::{decode_payloads, encode_payloads, Message, PayloadType};
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

    if let Some((&first, chain)) = data.split_first() {
        if let Ok(payloads) = decode_payloads(PayloadType::from(first), chain, 1) {
            let mut out = Vec::new();
            let first_out =
                encode_payloads(&payloads, &mut out).expect("a decoded chain must encode");
            assert_eq!(
                out.len(),
                chain.len(),
                "re-encoding changed the chain length"
            );
            if !payloads.is_empty() {
                assert_eq!(first_out.value(), first, "first payload type changed");
            }
            let again = decode_payloads(first_out, &out, 1).expect("an encoded chain must decode");
            assert_eq!(again, payloads, "decode(encode(chain)) != chain");
        }
    }
});
