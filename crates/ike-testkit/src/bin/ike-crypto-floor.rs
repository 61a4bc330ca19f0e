//! `ike-crypto-floor`: the CPU cost of the cryptography an IKEv2 responder cannot avoid for one
//! childless handshake with PSK, X25519 and AES-128-GCM with PRF-HMAC-SHA256 (what
//! `bench/handshakes.sh` measures), so that the benchmark can say how far the daemon's cost per
//! SA is from it.
//!
//! Per handshake, with ike-crypto (the same backends the engine uses):
//! - IKE_SA_INIT: an X25519 key pair and the shared secret with the initiator's public value;
//!   Nr and the SPI from the system RNG; NAT detection (two SHA-1 hashes sent, two checked);
//!   SKEYSEED and the seven keys by prf+ (RFC 7296 §2.14).
//! - IKE_AUTH: the request's Encrypted payload opened (AES-128-GCM over `AUTH_LEN` bytes; costed
//!   as a seal of the same length, the same AES-GCM work), the initiator's AUTH checked and ours
//!   computed (MACedID and `prf(prf(PSK, "Key Pad for IKEv2"), SignedOctets)` over an
//!   IKE_SA_INIT message of `INIT_LEN` bytes, RFC 7296 §2.15), the response sealed.
//!
//! It does nothing else: no parsing, no state, no I/O. CPU time comes from
//! `/proc/self/schedstat` (nanoseconds on CPU). Prints one JSON line.

use std::time::Duration;

use clap::Parser;
use ike_crypto::cipher::{Cipher, EncrAlg};
use ike_crypto::dh;
use ike_crypto::kdf::v2 as kdf;
use ike_crypto::prf::PrfAlg;
use ike_crypto::rng::{Rng, SystemRng};
use ike_wire::group::DhGroup;

/// Sizes of the messages the responder protects or authenticates, as ike-load's childless
/// exchange has them (IKE_SA_INIT request and response about 300 bytes; IKE_AUTH payloads
/// about 150).
const INIT_LEN: usize = 300;
const AUTH_LEN: usize = 160;

#[derive(Parser)]
#[command(about = "CPU cost of the crypto of one IKEv2 PSK/X25519/AES-GCM responder handshake")]
struct Args {
    /// Handshakes to compute.
    #[arg(long, default_value_t = 20_000)]
    count: u32,
}

fn cpu_ns() -> anyhow::Result<u64> {
    let s = std::fs::read_to_string("/proc/self/schedstat")?;
    let first = s.split_whitespace().next().unwrap_or("0");
    Ok(first.parse()?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = SystemRng::new();
    let prf = PrfAlg::HmacSha256;
    let encr = EncrAlg::AesGcm {
        key_bits: 128,
        icv_len: 16,
    };
    let initiator = dh::generate(DhGroup::Curve25519, &mut rng)?;
    let peer_public = initiator.public_value().to_vec();
    let ni = [7u8; 32];
    let spi_i = [9u8; 8];
    let init_message = vec![0x5au8; INIT_LEN];
    let auth_plain = vec![0xa5u8; AUTH_LEN];
    let psk = b"a long random string";
    let id_body = [2u8, 0, 0, 0, b'r', b'.', b'e', b'x'];
    let addr = [10u8, 77, 9, 2, 1, 244];
    let start = cpu_ns()?;
    let mut sink = 0u8;
    for _ in 0..args.count {
        // IKE_SA_INIT
        let ours = dh::generate(DhGroup::Curve25519, &mut rng)?;
        let shared = ours.shared_secret(&peer_public)?;
        let mut nr = [0u8; 32];
        let mut spi_r = [0u8; 8];
        rng.fill(&mut nr)?;
        rng.fill(&mut spi_r)?;
        for _ in 0..4 {
            let h = PrfAlg::HmacSha1.hash(&[&spi_i, &spi_r, &addr])?;
            sink ^= h.first().copied().unwrap_or(0);
        }
        let seed = kdf::skeyseed(prf, &ni, &nr, shared.expose());
        let keys = kdf::ike_sa_keys(prf, seed.expose(), &ni, &nr, &spi_i, &spi_r, 0, 20)?;
        // IKE_AUTH: open the request, check its AUTH, compute ours, seal the response.
        let iv = [1u8; 8];
        let opened =
            Cipher::new(encr, keys.sk_ei.expose())?.seal(&iv, &init_message[..28], &auth_plain)?;
        sink ^= opened.first().copied().unwrap_or(0);
        for (sk_p, nonce) in [(&keys.sk_pi, &nr[..]), (&keys.sk_pr, &ni[..])] {
            let maced = kdf::maced_id(prf, sk_p.expose(), &id_body);
            let octets = kdf::signed_octets(&init_message, nonce, maced.expose(), None);
            let auth = kdf::psk_auth(prf, psk, &octets);
            sink ^= auth.expose().first().copied().unwrap_or(0);
        }
        let sealed =
            Cipher::new(encr, keys.sk_er.expose())?.seal(&iv, &init_message[..28], &auth_plain)?;
        sink ^= sealed.first().copied().unwrap_or(0);
    }
    let spent = Duration::from_nanos(cpu_ns()?.saturating_sub(start));
    let per = spent.as_secs_f64() * 1e6 / f64::from(args.count.max(1));
    println!(
        "{{\"count\":{},\"cpu_s\":{:.3},\"us_per_handshake\":{per:.2},\"sink\":{sink}}}",
        args.count,
        spent.as_secs_f64()
    );
    Ok(())
}
