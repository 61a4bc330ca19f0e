//! A datagram as the daemon receives it, on port 500 (the bytes as they are) and on port 4500
//! (through `classify_port_4500`): `peek_version` picks the decoder, and the decoded message is
//! looked at the way an engine would (SA proposals and their names, SK payload split).
//! `peek_version` must agree with the decoders: a message one decoder accepts, the other refuses.
#![no_main]

use ike_wire::{classify_port_4500, peek_version, v1, v2, IkeVersion, Port4500};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    handle(data);
    match classify_port_4500(data) {
        Ok(Port4500::Ike(ike)) => {
            assert_eq!(data.get(..4), Some(&[0u8; 4][..]));
            handle(ike);
        }
        Ok(Port4500::Esp(esp)) => {
            assert!(esp.len() >= 8 && esp.get(..4) != Some(&[0u8; 4][..]));
        }
        Ok(Port4500::Keepalive) => assert_eq!(data, [0xff]),
        Err(_) => {}
    }
});

fn handle(ike: &[u8]) {
    match peek_version(ike) {
        Ok(IkeVersion::V1) => {
            assert!(
                v2::Message::decode(ike).is_err(),
                "IKEv2 decoder took a v1 message"
            );
            if let Ok(msg) = v1::Message::decode(ike) {
                look_v1(&msg);
            }
        }
        Ok(IkeVersion::V2) => {
            assert!(
                v1::Message::decode(ike).is_err(),
                "IKEv1 decoder took a v2 message"
            );
            if let Ok(msg) = v2::Message::decode(ike) {
                look_v2(&msg, ike.len());
            }
        }
        Err(_) => {
            assert!(
                v1::Message::decode(ike).is_err(),
                "IKEv1 decoder took what peek refused"
            );
            assert!(
                v2::Message::decode(ike).is_err(),
                "IKEv2 decoder took what peek refused"
            );
        }
    }
}

fn look_v1(msg: &v1::Message<'_>) {
    let v1::Body::Plain(payloads) = &msg.body else {
        return;
    };
    for payload in payloads {
        if let v1::Payload::Sa(sa) = payload {
            let bundled: usize = sa.bundles().map(<[_]>::len).sum();
            assert_eq!(bundled, sa.proposals.len());
            for proposal in &sa.proposals {
                for transform in &proposal.transforms {
                    let _ = proposal.transform_name(transform);
                    for attribute in &transform.attributes {
                        let _ = proposal.attribute_names(attribute);
                    }
                }
            }
        }
    }
}

fn look_v2(msg: &v2::Message<'_>, len: usize) {
    for payload in &msg.payloads {
        match payload {
            v2::Payload::Sa(sa) => {
                for transform in sa.proposals.iter().flat_map(|p| &p.transforms) {
                    let _ = transform.id_name();
                    let _ = transform.key_length();
                }
            }
            // Typical IV and ICV sizes (AES-CBC with HMAC-SHA2-256-128, AES-GCM-16), and sizes
            // taken from the message so that the split's bounds get exercised.
            v2::Payload::Encrypted(sk) => {
                for (iv, icv) in [(16, 16), (8, 16), (len % 64, len / 64), (usize::MAX, 1)] {
                    if let Ok(parts) = sk.split(iv, icv, 0) {
                        assert_eq!(
                            parts.iv.len() + parts.ciphertext.len() + parts.icv.len(),
                            sk.body.len()
                        );
                    }
                }
            }
            v2::Payload::EncryptedFragment(skf) => {
                for (iv, icv) in [(16, 16), (len % 64, len / 64), (1, usize::MAX)] {
                    if let Ok(parts) = skf.split(iv, icv, 0) {
                        assert_eq!(
                            parts.iv.len() + parts.ciphertext.len() + parts.icv.len(),
                            skf.body.len()
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
