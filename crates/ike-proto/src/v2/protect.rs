//! The Encrypted payload (RFC 7296 §3.14; RFC 5282 for AEAD): sealing the inner payloads of a
//! message and opening a received one.

use ike_crypto::cipher::{Cipher, EncrAlg, IntegAlg, Integrity};
use ike_crypto::rng::Rng;
use ike_crypto::{CryptoError, Secret};
use ike_wire::v2::{self, ExchangeType, Flags, PayloadType};

/// The keys protecting one direction of an IKE SA.
///
/// It keeps the raw keys (zeroized on drop) and keys the cipher and integrity algorithm for each
/// message: a keyed AES-GCM context is about a kilobyte, twice per IKE SA, while keying costs
/// well under a microsecond, and an established IKE SA sends a message every few minutes at
/// most (decisions.md).
pub(crate) struct Protect {
    alg: EncrAlg,
    encr_key: Secret,
    integ: Option<(IntegAlg, Secret)>,
}

impl std::fmt::Debug for Protect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protect")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Protect {
    pub(crate) fn new(
        alg: EncrAlg,
        encr_key: &[u8],
        integ: Option<(IntegAlg, &[u8])>,
    ) -> Result<Self, CryptoError> {
        // Keyed once here so that a bad key length fails at derivation, not at first use.
        Cipher::new(alg, encr_key)?;
        if let Some((a, k)) = integ {
            Integrity::new(a, k)?;
        }
        Ok(Self {
            alg,
            encr_key: Secret::from_slice(encr_key),
            integ: integ.map(|(a, k)| (a, Secret::from_slice(k))),
        })
    }

    fn keyed(&self) -> Result<(Cipher, Option<Integrity>), CryptoError> {
        let cipher = Cipher::new(self.alg, self.encr_key.expose())?;
        let integ = match &self.integ {
            Some((a, k)) => Some(Integrity::new(*a, k.expose())?),
            None => None,
        };
        Ok((cipher, integ))
    }

    /// Builds a whole message: header, then an SK payload holding `inner`.
    pub(crate) fn seal(
        &self,
        header: &v2::Header,
        inner: &[v2::Payload<'_>],
        rng: &mut dyn Rng,
    ) -> Result<Vec<u8>, CryptoError> {
        let (cipher, integ) = self.keyed()?;
        let mut plain = Vec::new();
        let first = v2::encode_payloads(inner, &mut plain)
            .map_err(|_| CryptoError::Backend("encoding inner payloads"))?;
        // Padding: to the block size for CBC; RFC 5282 allows none for AEAD. The Pad Length
        // octet always follows.
        let block = self.alg.block_len().max(1);
        let pad = (block - (plain.len() + 1) % block) % block;
        plain.extend(std::iter::repeat_n(0u8, pad));
        plain.push(u8::try_from(pad).map_err(|_| CryptoError::Backend("padding"))?);
        let iv_len = self.alg.iv_len();
        let icv_len = if self.alg.is_aead() {
            self.alg.icv_len()
        } else {
            self.integ.as_ref().map_or(0, |(a, _)| a.output_len())
        };
        let sk_len = 4 + iv_len + plain.len() + icv_len;
        let total = 28 + sk_len;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&header.spi_i);
        out.extend_from_slice(&header.spi_r);
        out.push(PayloadType::Sk.value());
        out.push(header.version);
        out.push(header.exchange.value());
        out.push(header.flags.0);
        out.extend_from_slice(&header.message_id.to_be_bytes());
        out.extend_from_slice(
            &u32::try_from(total)
                .map_err(|_| CryptoError::Backend("message too long"))?
                .to_be_bytes(),
        );
        out.push(first.value());
        out.push(0);
        out.extend_from_slice(
            &u16::try_from(sk_len)
                .map_err(|_| CryptoError::Backend("message too long"))?
                .to_be_bytes(),
        );
        let mut iv = vec![0u8; iv_len];
        rng.fill(&mut iv)?;
        if self.alg.is_aead() {
            // RFC 5282 §5.1: the associated data is the IKE header and the SK payload header.
            let sealed = cipher.seal(&iv, &out, &plain)?;
            out.extend_from_slice(&iv);
            out.extend_from_slice(&sealed);
        } else {
            cipher.encrypt(&iv, &mut plain)?;
            out.extend_from_slice(&iv);
            out.extend_from_slice(&plain);
            let icv = integ.as_ref().map(|i| i.compute(&out)).unwrap_or_default();
            out.extend_from_slice(&icv);
        }
        Ok(out)
    }

    /// Checks and decrypts the SK payload of a received message: returns the plaintext inner
    /// payloads' bytes and the type of the first one.
    pub(crate) fn open(
        &self,
        datagram: &[u8],
        sk: &v2::Encrypted<'_>,
    ) -> Result<(Vec<u8>, PayloadType), CryptoError> {
        let (cipher, integ) = self.keyed()?;
        let body_offset = datagram
            .len()
            .checked_sub(sk.body.len())
            .ok_or(CryptoError::IntegrityFailure)?;
        let icv_len = if self.alg.is_aead() {
            self.alg.icv_len()
        } else {
            self.integ.as_ref().map_or(0, |(a, _)| a.output_len())
        };
        let parts = sk
            .split(self.alg.iv_len(), icv_len, body_offset)
            .map_err(|_| CryptoError::IntegrityFailure)?;
        let mut plain = if self.alg.is_aead() {
            let aad = datagram
                .get(..body_offset)
                .ok_or(CryptoError::IntegrityFailure)?;
            let ct_and_tag = sk
                .body
                .get(self.alg.iv_len()..)
                .ok_or(CryptoError::IntegrityFailure)?;
            cipher.open(parts.iv, aad, ct_and_tag)?
        } else {
            let covered = datagram
                .get(..datagram.len() - icv_len)
                .ok_or(CryptoError::IntegrityFailure)?;
            match &integ {
                Some(i) => i.verify(covered, parts.icv)?,
                None => return Err(CryptoError::IntegrityFailure),
            }
            let block = self.alg.block_len().max(1);
            if parts.ciphertext.is_empty() || parts.ciphertext.len() % block != 0 {
                return Err(CryptoError::IntegrityFailure);
            }
            let mut data = parts.ciphertext.to_vec();
            cipher.decrypt(parts.iv, &mut data)?;
            data
        };
        let pad = usize::from(*plain.last().ok_or(CryptoError::IntegrityFailure)?);
        let keep = plain
            .len()
            .checked_sub(pad + 1)
            .ok_or(CryptoError::IntegrityFailure)?;
        plain.truncate(keep);
        Ok((plain, sk.first_inner))
    }
}

/// The header of a message we send.
pub(crate) fn header(
    spi_i: [u8; 8],
    spi_r: [u8; 8],
    exchange: ExchangeType,
    initiator: bool,
    response: bool,
    message_id: u32,
) -> v2::Header {
    let mut flags = 0;
    if initiator {
        flags |= Flags::INITIATOR;
    }
    if response {
        flags |= Flags::RESPONSE;
    }
    v2::Header {
        spi_i,
        spi_r,
        version: 0x20,
        exchange,
        flags: Flags(flags),
        message_id,
    }
}

impl Protect {
    /// Builds a message as Encrypted Fragment payloads (RFC 7383 §2.5), each a whole IKE
    /// message of at most `max_len` bytes: the inner payloads' encoding is cut into pieces,
    /// and each piece is padded and protected on its own; the associated data of fragment *n*
    /// is its IKE header and SKF header (§2.5.3). The first fragment names the first inner
    /// payload; the others carry zero.
    pub(crate) fn seal_fragments(
        &self,
        header: &v2::Header,
        inner: &[v2::Payload<'_>],
        max_len: usize,
        rng: &mut dyn Rng,
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        let (cipher, integ) = self.keyed()?;
        let mut plain = Vec::new();
        let first = v2::encode_payloads(inner, &mut plain)
            .map_err(|_| CryptoError::Backend("encoding inner payloads"))?;
        let iv_len = self.alg.iv_len();
        let block = self.alg.block_len().max(1);
        let icv_len = if self.alg.is_aead() {
            self.alg.icv_len()
        } else {
            self.integ.as_ref().map_or(0, |(a, _)| a.output_len())
        };
        // Room for content: header, SKF header, IV, ICV, worst-case padding and its length octet.
        let overhead = 28 + 8 + iv_len + icv_len + block;
        let room = max_len.checked_sub(overhead).filter(|r| *r >= 16).ok_or(
            CryptoError::InvalidLength {
                what: "fragment size",
                len: max_len,
            },
        )?;
        let chunks: Vec<&[u8]> = plain.chunks(room).collect();
        let total =
            u16::try_from(chunks.len()).map_err(|_| CryptoError::Backend("too many fragments"))?;
        let mut out = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.iter().enumerate() {
            let number =
                u16::try_from(i + 1).map_err(|_| CryptoError::Backend("too many fragments"))?;
            let mut data = chunk.to_vec();
            let pad = (block - (data.len() + 1) % block) % block;
            data.extend(std::iter::repeat_n(0u8, pad));
            data.push(u8::try_from(pad).map_err(|_| CryptoError::Backend("padding"))?);
            let skf_len = 8 + iv_len + data.len() + icv_len;
            let total_len = 28 + skf_len;
            let mut msg = Vec::with_capacity(total_len);
            msg.extend_from_slice(&header.spi_i);
            msg.extend_from_slice(&header.spi_r);
            msg.push(PayloadType::Skf.value());
            msg.push(header.version);
            msg.push(header.exchange.value());
            msg.push(header.flags.0);
            msg.extend_from_slice(&header.message_id.to_be_bytes());
            msg.extend_from_slice(
                &u32::try_from(total_len)
                    .map_err(|_| CryptoError::Backend("fragment too long"))?
                    .to_be_bytes(),
            );
            msg.push(if number == 1 { first.value() } else { 0 });
            msg.push(0);
            msg.extend_from_slice(
                &u16::try_from(skf_len)
                    .map_err(|_| CryptoError::Backend("fragment too long"))?
                    .to_be_bytes(),
            );
            msg.extend_from_slice(&number.to_be_bytes());
            msg.extend_from_slice(&total.to_be_bytes());
            let mut iv = vec![0u8; iv_len];
            rng.fill(&mut iv)?;
            if self.alg.is_aead() {
                let sealed = cipher.seal(&iv, &msg, &data)?;
                msg.extend_from_slice(&iv);
                msg.extend_from_slice(&sealed);
            } else {
                cipher.encrypt(&iv, &mut data)?;
                msg.extend_from_slice(&iv);
                msg.extend_from_slice(&data);
                let icv = integ.as_ref().map(|i| i.compute(&msg)).unwrap_or_default();
                msg.extend_from_slice(&icv);
            }
            out.push(msg);
        }
        Ok(out)
    }

    /// Checks and decrypts one Encrypted Fragment payload: its content with the padding removed.
    pub(crate) fn open_fragment(
        &self,
        datagram: &[u8],
        skf: &v2::EncryptedFragment<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        let as_sk = v2::Encrypted {
            first_inner: skf.first_inner,
            body: skf.body,
        };
        self.open(datagram, &as_sk).map(|(plain, _)| plain)
    }
}
