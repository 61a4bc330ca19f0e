#!/usr/bin/env python3
"""An independent check of a whole IKEv1 exchange: Main Mode or Aggressive Mode, authenticated
with a pre-shared key, with DSS, RSA or ECDSA signatures, or with public-key encryption (RFC 2409
5.2) or its revised mode (5.3), an optional New Group Mode, one Quick Mode and optional
Informational exchanges; or the ISAKMP Base exchange (RFC 2408 4.4) as Phase 1, with a
pre-shared key or RSA signatures, followed likewise; or the Authentication Only exchange (RFC
2408 4.6) with a pre-shared key and its cleartext Informational exchanges, no Quick Mode. Written
from RFC 2408 sections 3, 4.4 and 4.6 (ISAKMP payloads and exchanges), RFC 2407 section 4
(IPsec DOI), RFC 2409 sections 5, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.7 and Appendices A and B,
FIPS 186 (DSA), RFC 4754 (ECDSA), RFC 3947 (NAT-D), RFC 3948 2.2 (non-ESP marker), RFC 7748
(X25519) and PKCS #1 v1.5 (RFC 8017 7.2), with Python's hmac/hashlib, its integers (pow) for the
MODP arithmetic and the `cryptography` package. It shares no code with the engine. The keys and
proofs of the Base and Authentication Only exchanges, which RFC 2409 defines for Main and
Aggressive Mode only, follow the project's definition in crates/ike-proto/src/v1/base.rs's
module comment (see "Base and Authentication Only exchanges" below).

Fixed suite (asserted from the SA payloads): Phase 1 AES-CBC-128, SHA2-256 (PRF HMAC-SHA256),
group 31 (Curve25519), authentication method 1 (pre-shared key), 2 (DSS signatures), 3 (RSA
signatures), 9/10/11 (ECDSA-256/384/521, RFC 4754 4), 4 (encryption with RSA) or 5 (revised
encryption with RSA) (Base: 1 or 3; Authentication Only: 1, with a group attribute of any value,
which is not used); Quick Mode ESP_AES-128 with HMAC-SHA2-256, PFS optional, in group 31 or in
a private MODP group (Group Description 32768..65535, RFC 2409 5.6) of private_groups.

Input (JSON on stdin):
  messages       hex, each the whole UDP payload: Phase 1 then Quick Mode 1..3. The first
                 message's exchange type says which Phase 1: Main Mode (2) has 6 messages,
                 Aggressive Mode (4) has 3, Base (1) has 4, so 9, 6 or 7 messages in all;
                 Authentication Only (3) has 3 and no Quick Mode follows, so 3 in all
  informational  optional, hex: later Informational exchanges (type 5), encrypted, HASH(1) first;
                 after Authentication Only in the clear with flags 0x04 (see below)
  new_group      optional, hex: one New Group Mode exchange (type 33, RFC 2409 5.6), the
                 initiator's request then the responder's answer, both encrypted (HDR*)
  private_groups optional {"<number>": {"type": "modp", "prime": hex, "generator": hex}}: the
                 private groups the configuration holds. Used only to compare with what New Group
                 Mode carries and for the modular arithmetic of a Quick Mode PFS in that group
  draws_i/draws_r  the 32-byte draws of each side's RNG; its X25519 private keys are among them,
                 and so is its Quick Mode MODP exponent with a private PFS group (see below)
  auth           optional, "psk" (the default), "dss" (method 2), "rsa", "ecdsa", "pke" (RFC
                 2409 5.2, method 4) or "rpke" (5.3, method 5); each in Main or Aggressive
                 Mode; "psk" or "rsa" in Base; "psk" in Authentication Only
  psk            hex, needed with "psk" only
  pke_keys       with "pke"/"rpke": {"i": PEM, "r": PEM}, each side's RSA private key (PKCS#1 or
                 PKCS#8), to open what the other side encrypted to it
  pke_certs      with "pke"/"rpke": {"i": PEM, "r": PEM}, each side's X.509 certificate; each
                 must hold the public half of the pke_keys entry of its side
  addresses      optional {"i": "ip:port", "r": "ip:port"} ("[v6]:port" for IPv6): where each
                 side sent Phase 1 from; with it the NAT-D payloads are checked too
  installs       [{side: "i"|"r", spi_in, spi_out, enc_in, integ_in, enc_out, integ_out}];
                 empty or absent with Authentication Only
Output: a JSON report on stdout; a mismatch is a false in it.
  mode, auth      "main" | "aggressive" | "base" | "authonly", and the auth of the input
  hash_i_ok/hash_r_ok  the Phase 1 proof of each side is right for the HASH_I/HASH_R computed
                  here: with a pre-shared key or public-key encryption the HASH payload equals
                  it; with signatures the SIG payload is a valid signature over it (with DSS
                  over the HMAC-SHA1 HASH_I/HASH_R of RFC 2409 5.1), so these equal
                  sig_i_ok/sig_r_ok (one key for "Phase 1 authenticated" whatever the method)
  sig_i_ok/sig_r_ok  null with a pre-shared key or public-key encryption; else SIG_I/SIG_R
                  verify as RFC 2409 5.1 and RFC 4754 say (see below) under the end-entity
                  certificate's public key
  sig_i_form/sig_r_form  what the signature turned out to sign, for diagnosis when it fails:
                  "pkcs1-bare-hash", "ecdsa-sha-of-hash" or "dsa-sha1-of-hash" (the three
                  accepted), or "pkcs1-digestinfo-sha256-of-hash", "pkcs1-digestinfo-around-hash",
                  "pkcs1-over <hex>", "ecdsa-hash-as-digest", "dsa-hash-as-digest",
                  "dsa-over-negotiated-prf-hash", "dsa-over-negotiated-prf-hash-as-digest",
                  "dsa-sha256-of-hash", "dsa-sha256-of-negotiated-prf-hash" (see the DSS
                  conclusions below), or why nothing could be verified (a DER-encoded DSS
                  signature is named as such)
  dss_signed_hash  with "dss" only: says that the signed HASH_I/HASH_R are HMAC-SHA1 ones
  cert_i_subject/cert_r_subject  RFC 4514 subject of the end-entity certificate used
  certs           {"i"|"r": [{encoding, subject, issuer}]}: every CERT payload, in order
  nat_d           {label: [hex]}: the NAT-D payloads each Phase 1 message carried
  nat_d_ok        null without "addresses" or NAT-D; else every NAT-D-carrying message has
                  HASH(CKY-I | CKY-R | IP | port) of its destination first and of its source
                  among the rest (RFC 3947 3.2)
  non_esp_marker  labels of the datagrams that began with the 4-octet non-ESP marker (stripped)
  am3_encrypted   Aggressive Mode only: whether message 3 was encrypted
  p1_last         the block every Phase 2 IV is derived from (see below)
With "pke"/"rpke" only (none of these keys appear for the other methods), about the messages
that carry the encrypted nonces and identities: Main Mode 3 and 4 ("mm3", "mm4") or Aggressive
Mode 1 and 2 ("am1", "am2"):
  pke_mode        "pke" | "rpke"
  hash1_ok        null without a HASH(1) payload in the initiator's message (mm3 / am1); else
                  whether it is SHA-256 of the DER of pke_certs.r (the certificate the initiator
                  encrypted to); when false, hash1_form names what it is the hash of, if one of a
                  few likely inputs
  hash_r_place    Aggressive Mode only: where HASH_R stood in am2, "clear-before-nonce",
                  "clear-after-nonce" (5.2 only; 5.2 encrypts nothing but the ID and nonce
                  bodies) or "ke_r-after-nonce" (5.3: after the nonce, so Ke_r-encrypted and
                  opened like the other bodies there)
  pkcs1_ok        {label: bool}, label "mm3.id", "mm3.nonce", "mm4.id", "mm4.nonce" (5.2) or
                  the two nonces (5.3), "am1.*" / "am2.*" in Aggressive Mode: the body is a
                  PKCS#1 v1.5 type 2 block exactly the modulus long under the key of the side it
                  was sent to; pkcs1_errors says why not (and whether it opens under the other
                  side's key instead)
  id_i/id_r       the plaintext IDii_b / IDir_b, hex
  nonce_lens      {"i": octets, "r": octets} of the plaintext Ni_b / Nr_b (8..256 or a problem)
  rpke_padding_ok {label: bool}, 5.3 only, each Ke-encrypted body ("mm3.ke", "mm3.id",
                  "mm3.cert", "mm4.ke", ..., "am2.hash" for a HASH_R after the nonce): its
                  padding obeys 5.3 (see below); rpke_padding gives the padding octets found,
                  rpke_ivs the IV each body was decrypted with, rpke_keys Ne and Ke of each
                  message, rpke_iv_chain the IV rule applied, and rpke_clear_before_nonce the
                  payload types ahead of the encrypted nonce (in Aggressive Mode the SA first)
  certs           also lists CERT payloads of those messages (5.3 lets the initiator send one,
                  encrypted), with is_pke_cert: whether it is its sender's pke_certs entry
hash_i_ok/hash_r_ok are then the HASH payloads of Main Mode 5/6 (Aggressive Mode 3/2) against
HASH_I/HASH_R over the plaintext ID bodies; everything after Phase 1 is checked as for other
methods.
A body that does not open (bad PKCS#1 block, a Ke-encrypted body that is not whole blocks or whose
last octet exceeds it) makes decrypt_ok false, with decrypt_error naming it.
  qm_hash1_ok.., keymat_ok, informational_hash_ok, ivs, padding, decrypted_payloads as before.
With "new_group" only (none of these keys appear without it):
  ngm_hash1_ok/ngm_hash2_ok  the HASH of the request / answer is prf(SKEYID_a, M-ID | SA), SA the
                  SA payload of that message, generic header included (see below); when false,
                  ngm.hash1_form / hash2_form name another input that gives it, if one does
  ngm_sa_ok       the answer's SA body is the request's, octet for octet
  ngm_group_ok    the agreed group (the answer's SA): Group Description >= 2^15, Group Type MODP,
                  prime and generator equal to the private_groups entry of that number, p and
                  (p-1)/2 both pass 64 Miller-Rabin rounds (a safe prime), 1 < g < p-1
  ngm             {mid, number, prime_bits, generator, group_type, ivs {ngm1, ngm2}, sa {doi,
                  situation, proposals, protocol, spi, transforms, transform_id, attributes
                  [{class, format, len}]}, other_attributes, checks {the parts of ngm_group_ok},
                  sa_problems (shape of the SA: one PROTO_ISAKMP proposal, one KEY_IKE transform,
                  DOI 1, no basic class sent as variable), sa_payloads_identical (headers too),
                  generator_order ("(p-1)/2" or "p-1", not judged), miller_rabin_rounds, error
                  (a message that did not decrypt to HASH, SA: every ngm_* check stays false)}
  ivs/padding/decrypted_payloads  also get "ngm1" and "ngm2"
With a Quick Mode PFS group other than 31 only (none of these keys appear with group 31):
  qm_pfs_group    the Group Description of the chosen ESP transform (a private_groups number)
  qm_pfs_group_agreed  New Group Mode above agreed that number and all four ngm_* checks passed
  qm_group_in_every_transform  every transform of every proposal of qm1 names that group (RFC
                  2409 5.5); false also adds a problem
  qm_ke           {"i"|"r": {len, len_ok, range_ok}}: each KE body is exactly the prime's length
                  (RFC 2409 5: left-padded with zeros) and 1 < y < p-1 as a big-endian integer;
                  qm_ke_ok is all four true
  qm_dh_found     a draw of at least one side is the exponent of its KE (g^x mod p == y)
  qm_dh_exponent_form, qm_dh_draw  {"i"|"r": ...}: which reading of a draw gave x ("big-endian",
                  "little-endian", "big-endian mod (p-1)/2", "big-endian with the top bit set")
                  and which draw (index), null for a side whose exponent was not found
  qm_dh_prime_bits  the size of p
  keymat_ok       null (not false) when qm_dh_found is false: KEYMAT cannot be computed here,
                  keymat_unverifiable says so, keymat is absent; spis_ok is still checked
With the Base exchange ("base", labels "bx1".."bx4") every key above has its meaning, with
HASH_I as defined below: hash_i_ok/hash_r_ok (with "rsa" = sig_i_ok/sig_r_ok, the same
PKCS#1 v1.5 "pkcs1-bare-hash" form as in Main Mode), decrypt_ok, headers_ok (also: every Phase 1
header has flags exactly 0, and each message carries the payloads of its diagram, see below),
the qm_* keys, keymat_ok, installs_checked, informational_hash_ok, p1_last (= the first Phase 1
IV, hash(g^xi | g^xr) truncated, since nothing in Phase 1 is encrypted). When hash_i_ok is false,
hash_i_form names which other HASH_I reading the HASH payload (or the RSA-recovered value) is,
if one of a few.
With Authentication Only ("authonly", labels "ao1".."ao3"):
  hash_i_ok/hash_r_ok  the HASH payloads of ao3 / ao2 against HASH_I / HASH_R below
  ke_absent       no KE payload in any of the three messages (false also adds a problem)
  headers_ok      exchange 3, M-ID 0, flags exactly 0 and the cookies in ao1..ao3, each with
                  the payloads of its diagram; each Informational message with exchange 5, flags
                  exactly 0x04, a non-zero M-ID, the SA's cookies, payloads HASH(1), D, the D a
                  Delete of this ISAKMP SA (PROTO_ISAKMP, SPI CKY-I | CKY-R)
  informational_hash_ok  one per Informational message: HASH(1) = prf(SKEYID_a, M-ID | D), D
                  the whole Delete payload with its generic header; informational[n] has mid,
                  payloads, delete, deletes_isakmp_sa
  authonly_group  the (unused) group attribute of the chosen transform
  skeyid, skeyid_d, skeyid_a, skeyid_e  as computed here
  decrypt_ok, p1_last, qm_hash1_ok..3, spis_ok, keymat_ok, installs_checked  null (nothing is
                  encrypted and no Quick Mode follows); sig_*_ok null as with any pre-shared key
A decrypted message that does not parse (wrong key or IV) is a mismatch too: "decrypt_ok" false
with "decrypt_error", and every check after it stays false. Exit status 2 only on malformed input
(a cleartext parse error, a missing cleartext payload, no draw matching a KE, a suite other than
the one above, an IKE fragment: payload 132 is not supported, pke_keys that are not the keys of
pke_certs, a Quick Mode PFS group that is neither 31 nor a "modp" entry >= 2^15 of
private_groups, a new_group that is not two messages, an auth the Base or Authentication Only
exchange is not defined for, Authentication Only with other than 3 messages or with installs),
reason on stderr. With a private MODP
group, no draw matching a Quick Mode KE is not an exit: qm_dh_found false, keymat_ok null.

Base and Authentication Only exchanges: RFC 2408 4.4 and 4.6 give the message flows, RFC 2409
keys and proofs only for Main and Aggressive Mode; the project's definition in
crates/ike-proto/src/v1/base.rs's module comment applies RFC 2409 5 with the fewest changes the
message order forces, and is what is checked here:
- Base (type 1), all four messages in the clear (flags 0), M-ID 0:
    1 I->R: HDR, SA, Ni, V(DPD)       2 R->I: HDR, SA, Nr, V(DPD)
    3 I->R: HDR, KE, IDii, HASH_I  |  HDR, KE, IDii, CERT, SIG_I, CERTREQ   (rsa)
    4 R->I: HDR, KE, IDir, HASH_R  |  HDR, KE, IDir, CERT, SIG_R            (rsa)
  SKEYID, SKEYID_d/a/e, the cipher key and HASH_R exactly as RFC 2409 5 for the method. HASH_I
  leaves g^xr out, since message 3 goes before it is known: HASH_I = prf(K, g^xi | CKY-I | CKY-R
  | SAi_b | IDii_b), K = SKEYID = prf(psk, Ni_b | Nr_b) with a pre-shared key, K = Ni_b | Nr_b
  (the nonce bodies themselves as the prf key) with signatures. SIG_I / SIG_R are RSA
  signatures over HASH_I / HASH_R in the Main Mode form. No Phase 1 message is encrypted, so
  every Phase 2 IV derives from the first Phase 1 IV, hash(g^xi | g^xr) truncated (Appendix B):
  hash(that | M-ID). Quick Mode and the (encrypted) Informational exchanges then as after Main
  Mode.
- Authentication Only (type 3), pre-shared key only, all in the clear (flags 0), M-ID 0:
    1 I->R: HDR, SA, Ni, V(DPD)     2 R->I: HDR, SA, Nr, IDir, HASH_R, V(DPD)
    3 I->R: HDR, IDii, HASH_I
  No KE payloads; RFC 2409 5's formulas with g^xy, g^xi and g^xr empty: SKEYID = prf(psk, Ni_b
  | Nr_b), SKEYID_d = prf(SKEYID, CKY-I | CKY-R | 0), SKEYID_a = prf(SKEYID, SKEYID_d | CKY-I |
  CKY-R | 1), SKEYID_e = prf(SKEYID, SKEYID_a | CKY-I | CKY-R | 2), HASH_I = prf(SKEYID, CKY-I |
  CKY-R | SAi_b | IDii_b), HASH_R = prf(SKEYID, CKY-R | CKY-I | SAi_b | IDir_b). No Quick Mode;
  the SA's Informational messages go unencrypted with flags exactly 0x04 (the Authentication
  Only bit, RFC 2408 3.1), a random non-zero M-ID, HASH(1), D in the clear, HASH(1) as RFC 2409
  5.7 says.
- Diagrams (both exchanges): each message must carry every payload its diagram shows, and besides
  only VID, NAT-D, N (and more CERT payloads), with the SA first where there is one (RFC 2409 5);
  otherwise a problem. The order of the other payloads is not judged.
Conclusions on points the RFC text leaves open:
- Informational IV: RFC 2409 5.7 sends the reader to Appendix B, which derives the first IV of any
  Phase 2 exchange from hash(last Phase 1 CBC output block | M-ID). So every new M-ID starts from
  the last ciphertext block of Phase 1 (Main Mode message 6, Aggressive Mode message 3), never
  from the end of the previous Quick Mode or Informational exchange. A second message with an
  M-ID already seen continues that exchange's chain (the last block of its previous message), as
  within Quick Mode.
- Aggressive Mode message 3: RFC 2409 5 shows it without the asterisk of an encrypted message,
  yet RFC 2408 4.7 encrypts it, and both occur. Its E flag decides. Encrypted, it takes the first
  Phase 1 IV, hash(g^xi | g^xr), and its last block seeds Phase 2; in the clear, no Phase 1 CBC
  output exists, so Phase 2 is seeded by that first IV itself (the Phase 1 IV state, unused).
- Padding: Appendix B says to pad to the block size (with zero bytes) and that the header length
  includes the pad; nothing carries a pad length. The payload chain says where the payloads end;
  whatever follows is padding and is reported, not judged.
- IDii_b/IDir_b and SAi_b are the payload bodies without the 4-byte generic header, so IDii_b
  starts with the ID type, protocol ID and port of RFC 2407 4.6.2.
- What is signed (RFC 2409 5.1: "the negotiated digital signature algorithm applied to HASH_I").
  RSA: PKCS#1 v1.5 block type 1 around the bare HASH_I, no DigestInfo (there is no hash
  algorithm to name: HASH_I is a prf output), and the signature is exactly the modulus length.
  ECDSA: RFC 4754 treats ECDSA-256/384/521 as ECDSA with SHA-256/384/512 applied to a message
  (its section 8 vectors sign m = "abc" by way of h = SHA-256(m)), and in IKEv1 that message is
  HASH_I, so e = SHA-256(HASH_I) for ECDSA-256; the signature is r | s, each an unsigned
  big-endian integer of the field length (RFC 4754 7). Using HASH_I itself as the digest is the
  other reading found in the field; it is reported as "ecdsa-hash-as-digest" and not accepted.
- Certificates: only encoding 4 (X.509 signature, DER) is used; CERT payloads may come in any
  order, so the end-entity certificate is the one that issued none of the others. Chains are not
  validated here: that is the engine's policy, not a known-answer question.
- NAT-D (RFC 3947 3.2): HASH is the negotiated hash (SHA-256); IP is 4 or 16 octets and the port
  2 octets, network order. Phase 1 HASH_I/HASH_R do not cover NAT-D (nor VID) payloads, so
  they may sit anywhere in Phase 1 messages (in the clear or after HASH_I in Aggressive Mode 3).
- Non-ESP marker: after NAT-T moves to port 4500, each IKE datagram starts with four zero
  octets, which are stripped and reported. An ISAKMP header starts with the random CKY-I, so it
  is mistaken for a marker once in 2^32 exchanges.
DSS signatures (RFC 2409 5.1, authentication method 2), in either mode:
- Which HASH_I is signed: 5.1 lets a signature algorithm "tied to a particular hash algorithm
  (e.g. DSS is only defined with SHA's 160 bit output)" override the prf: "the signature will be
  over HASH_I and HASH_R as above, except using the HMAC version of the hash algorithm
  associated with the signature method. The negotiated prf and hash function would continue to
  be used for all other prescribed pseudo-random functions." So for DSS the signed HASH_I =
  HMAC-SHA1(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b) (20 octets; HASH_R likewise),
  keyed with the SKEYID of the signature formula, which itself stays prf(Ni_b | Nr_b, g^xy)
  under the negotiated prf (HMAC-SHA256), as do SKEYID_d/a/e, the Phase 1 IV, Quick Mode and
  Informational hashes. "as above" is read as: only the HMAC changes, never the key or input.
- How it is signed: "the negotiated digital signature algorithm applied to HASH_I" is read as
  DSA with SHA-1 over the message HASH_I (the FIPS 186 DSS signs a message by way of its SHA-1
  hash), just as ECDSA signs SHA-256(HASH_I) above; the 20-octet HASH_I is not itself taken as
  the digest. For q of 224 or 256 bits (2048-bit p, FIPS 186-3) the same SHA-1 is kept (FIPS
  186-3 uses the leftmost min(N, outlen) bits of the hash, i.e. all 160), since 5.1 ties DSS to
  SHA-1 and names no other hash. Only "dsa-sha1-of-hash" is accepted.
- Encoding: "DSS signatures MUST be encoded as r followed by s" gives no length; read as r and s
  each an unsigned big-endian integer left-padded to the length of the key's q (20 octets for
  160 bits, 28 for 224, 32 for 256), so r | s is 40, 56 or 64 octets; another length (a DER
  SEQUENCE, or 20-octet halves with a 256-bit q) fails. q of other sizes is refused.
- Diagnosis only (never accepted): "dsa-hash-as-digest" (the HMAC-SHA1 HASH_I taken as the
  SHA-1 digest, prehashed), "dsa-over-negotiated-prf-hash" (HASH_I computed with the
  negotiated prf HMAC-SHA256 instead of HMAC-SHA1, then DSA-SHA1 over it),
  "dsa-over-negotiated-prf-hash-as-digest" (that 32-octet HASH_I as the digest, truncated to q),
  "dsa-sha256-of-hash" and "dsa-sha256-of-negotiated-prf-hash" (DSA with SHA-256, the hash FIPS
  186-3 pairs with 2048/256 keys). The key is the DSA key of the end-entity certificate of the
  CERT payloads (encoding 4), which sit in Main Mode 5/6 or Aggressive Mode 2/3 as for RSA.
Public-key encryption (RFC 2409 5.2 "pke", 5.3 "rpke"), Main Mode and Aggressive Mode. "The
initiator's message" is Main Mode 3 or Aggressive Mode 1, "the responder's" Main Mode 4 or
Aggressive Mode 2; what follows holds for both modes unless it names one:
- Those messages go with the E flag clear; only payload bodies are encrypted and the generic
  headers stay in the clear, so their Payload Length is 4 + the ciphertext length (the payload
  chain must fill the message exactly, as for any cleartext message).
- "PKCS #1 format" is PKCS #1 v1.5 encryption (block type 2: 00 02, at least 8 nonzero octets,
  00, data), as the RFC's 1993 [PKCS1] reference has it; one RSA operation per payload body (the
  ID and the Nonce each get their own), each ciphertext exactly the modulus length. The block is
  checked by hand and compared with the library's PKCS1v15 decryption, so that a library doing
  implicit rejection cannot turn a bad block into a pass.
- 5.2: only the ID and Nonce bodies are RSA-encrypted; KE, HASH(1), HASH_R (Aggressive Mode),
  NAT-D and VID are in the clear, in any order (RFC 2409 5: no order requirements unless noted).
- HASH(1): "a hash (using the negotiated hash function) of the certificate which the initiator
  is using to encrypt": the plain negotiated hash (SHA-256, not the prf) of the responder's
  certificate, read as its DER encoding (the form a CERT payload of encoding 4 carries; the RFC
  names no encoding). Optional, the initiator's message only (a HASH payload in Main Mode 4 is
  a problem; the HASH of Aggressive Mode 2 is HASH_R, never HASH(1)); in 5.2 it may stand
  anywhere in that message, in 5.3 see below. The responder's certificate, since the initiator
  encrypts to the responder's key.
- SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R) for both 5.2 and 5.3 (5 gives one formula
  "for public key encryption"), Ni_b / Nr_b the decrypted nonce bodies, hash = SHA-256 and prf
  = HMAC-SHA256. SKEYID_d/a/e, the cipher key and the Phase 1 IV hash(g^xi | g^xr) (with the
  decrypted KE values in 5.3) are as for the other methods.
- HASH_I / HASH_R take IDii_b / IDir_b in plaintext: the ID body before encryption (5 defines
  the hash over "the entire ID payload ... excluding the generic header"; the diagrams write the
  encrypted form separately as <IDii_b>PubKey_r). Main Mode 5 and 6 and Aggressive Mode 3
  carry only HASH_I / HASH_R (and possibly NAT-D, VID or notifications); an ID payload there is
  a problem.
- The nonce length rule of 5 (8 to 256 octets) applies to the plaintext nonce.
- 5.3 order: the RFC says HASH(1), if sent, "MUST be the first payload of the second message
  exchange" (the initiator's message) "and MUST be followed by the encrypted nonce", and else the
  nonce is first. Read as a rule on HASH(1), the nonce and the encrypted payloads among
  themselves: the SA, which RFC 2409 5 puts ahead of all payloads in Aggressive Mode 1 and 2,
  and cleartext NAT-D (RFC 3947, a later extension) and VID payloads may come ahead of them and
  are accepted, and listed in rpke_clear_before_nonce. A problem is: HASH(1) not immediately
  followed by the nonce, a HASH after the nonce in the initiator's message, or a KE, ID, CERT
  (or second nonce) in the clear before the nonce.
- Aggressive Mode HASH_R, 5.3: the diagram ends message 2 with HASH_R after <IDir_b>Ke_r, but
  HASH_R is not written as encrypted there, and 5.3 also says "Save the requirements on the
  location of the optional HASH payload and the mandatory nonce payload there are no further
  payload requirements. All payloads-- in whatever order-- following the encrypted nonce MUST
  be encrypted with Ke_i or Ke_r". So HASH_R may stand anywhere: before the nonce it is in the
  clear (need not be next to the nonce, since the HASH(1) rule does not apply to it), after the
  nonce it is Ke_r-encrypted like the rest, in the same IV chain and padding; both pass and
  hash_r_place says which. A HASH_R after the nonce sent in the clear fails to open (a
  decryption mismatch). More than one HASH in message 2 is a problem (the first is checked).
- Aggressive Mode HASH_R, 5.2: in the clear wherever it stands (5.2 encrypts only ID and Nonce
  bodies); the diagram's place after the nonce is not required.
- Aggressive Mode, the rest: Ne_r = prf(Nr_b, CKY-R) with CKY-R from the header of message 2
  (message 1 carries zero); SKEYID likewise uses that CKY-R. Message 3 is HASH_I only, its E flag
  deciding whether it is encrypted, as for the other methods. RFC 2409 5: in Aggressive Mode
  "authentication with public key encryption cannot be negotiated and when using the revised
  method ... the cipher and hash cannot be negotiated"; read as: every transform message 1
  offers must carry the chosen authentication method (5.2), and with 5.3 also the chosen
  cipher, key length and hash (Ke_i and the encrypted payloads of message 1 already depend on
  them); an offer that differs is a problem. The group, which RFC 2409 5 says Aggressive Mode
  cannot negotiate either, is not checked here (as for the other methods).
- 5.3 encryption: "All payloads-- in whatever order-- following the encrypted nonce MUST be
  encrypted", so every body after the nonce is opened, NAT-D and VID too if they stand there
  (the NAT-D check then sees the plaintext). Ne_i = prf(Ni_b, CKY-I), Ne_r = prf(Nr_b, CKY-R),
  the nonce body as the prf key; Ke is the first (most significant) 16 octets of Ne, since the
  32-octet prf output covers AES-128 (the K1 = prf(Ne, 0x00) expansion is never needed here).
- 5.3 IVs: AES-CBC per payload body; the first body after the nonce uses IV 0, each later body
  the last ciphertext block of the body before it, in payload order. The RFC's sentence names
  only Ke_i; the responder's message is read the same way under Ke_r, starting again from IV 0
  (the chain is per message and independent of the Appendix B Phase 1 IV).
- 5.3 padding: each body is padded on its own; "padded up to the nearest block size" means the
  fewest pad octets that reach a block boundary, at least one ("there will always be padding"):
  1 to 16 octets, all 0x00 except the last, which holds their count minus one (0..15). So a body
  that is already whole blocks gets a full block: fifteen 0x00 then 0x0f. Anything else makes
  rpke_padding_ok false; the body is still cut by the last octet when it can be, so the checks
  that use it (KE, HASH_I/HASH_R) show the consequence. The payload length includes the padding.
- In 5.3 a KE that decrypts to no draw's public value is a decryption mismatch (decrypt_ok
  false), not malformed input: the encrypted bytes are the engine's, not the test's.
New Group Mode (RFC 2409 5.6) and Quick Mode PFS in a private group:
- The hashes: 5.6 says HASH(1) takes "the message-ID from the ISAKMP header concatenated with the
  entire SA proposal, body and header, as the data" and HASH(2) "the message-ID ... concatenated
  with the reply", and writes both as prf(SKEYID_a, M-ID | SA). "SA" without _b is read, as in
  the Quick Mode formulas of 5.5 and by "body and header", as the whole SA payload with its
  generic header (its Next Payload octet included), exactly as it stands after the HASH payload,
  padding excluded; "the reply" as the reply's SA payload, which the diagram makes the only
  payload after HASH(2). A message with other payloads is a problem and the SA payload alone is
  hashed. M-ID is the 4 octets of the header.
- IVs: Appendix B defines IVs for Quick Mode and Informational exchanges and names no New Group
  Mode; 5.6 says it is "not a phase 2 exchange", but it runs under the ISAKMP SA after Phase 1
  with its own M-ID, and Appendix B has "Each post- phase 1 exchange ... generates IVs
  independantly". So it is treated as any post-phase-1 exchange: the request's IV is
  hash(last Phase 1 CBC output block | M-ID), the answer's the request's last ciphertext block;
  it neither takes its IV from nor gives one to the Quick Mode and Informational exchanges.
- The SA: 5.6 says "The proposal will specify the characteristics of the group (see appendix
  A)"; read as an SA in the IPsec DOI with one Proposal (PROTO_ISAKMP) and one Transform
  (KEY_IKE) whose attributes are the Oakley classes of Appendix A: Group Description (4, basic)
  = the private number, Group Type (5, basic) = 1 MODP, Group Prime (6) and Group Generator One
  (7), variable-length classes that "MAY be encoded as basic" when they fit two octets, so
  either format is accepted for them, while a basic class sent as variable is a problem. The
  RFC does not say that the Group Description itself travels in New Group Mode; the brief's
  layout does, and the number is checked >= 2^15 (5.6, Appendix A, section 6). The group agreed
  is the answer's SA, which must equal the request's (the responder "MUST reply with only one"
  proposal, and a single one was offered). Primality (section 10: "incumbent upon
  implementations to check the primality in groups being offered") is checked here as a safe
  prime, p and (p-1)/2 prime by Miller-Rabin, with 1 < g < p-1; whether g generates the
  subgroup of order (p-1)/2 or the whole group is reported, not judged.
- Quick Mode: the IPsec DOI Group Description (class 3) of the chosen transform names the
  private group; the arithmetic uses private_groups, whose parameters ngm_group_ok compares
  with what New Group Mode carried. KE bodies and g(qm)^xy are big-endian and exactly the prime's
  length (RFC 2409 5 for KE; the shared secret is left-padded the same way, the length of the
  group's elements), and g(qm)^xy leads the KEYMAT input as with X25519. The exponent is not
  given: each side's draws are tried in the forms qm_dh_exponent_form lists, in that order,
  form by form over all draws, and a candidate counts only when g^x mod p is that side's KE,
  so the search cannot make a wrong KEYMAT pass. One side's exponent suffices for g(qm)^xy;
  with both, the two results must agree."""
import hashlib
import hmac
import ipaddress
import json
import random
import sys
import warnings

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# RFC 2408 3.1 payload types and exchange types; 20 NAT-D (RFC 3947 3.2); 132 the IKE fragment
# payload of the Cisco/strongSwan extension, which this check does not reassemble.
SA, PROPOSAL, TRANSFORM, KE, ID, CERT, HASH, SIG, NONCE, NOTIFY, DELETE = (
    1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12)
NAT_D, FRAGMENT = 20, 132
BASE, MAIN_MODE, AUTH_ONLY, AGGRESSIVE, INFORMATIONAL, QUICK_MODE = 1, 2, 3, 4, 5, 32
PHASE1 = {BASE: ("base", "bx", 4), MAIN_MODE: ("main", "mm", 6),
          AGGRESSIVE: ("aggressive", "am", 3)}
FLAG_E, FLAG_A = 0x01, 0x04  # RFC 2408 3.1: Encryption and Authentication Only bits
CERTREQ = 7
# The project's Base exchange is defined for a pre-shared key and RSA signatures, its
# Authentication Only exchange for a pre-shared key only.
BASE_AUTHS, AUTH_ONLY_AUTHS = ("psk", "rsa"), ("psk",)
# The payloads each Phase 1 message of the project's Base / Authentication Only exchange carries
# (its diagrams); VID, NAT-D and N may come besides, CERT more than once.
BASE_DIAGRAM = {"psk": ((SA, NONCE), (SA, NONCE), (KE, ID, HASH), (KE, ID, HASH)),
                "rsa": ((SA, NONCE), (SA, NONCE), (KE, ID, CERT, SIG, CERTREQ),
                        (KE, ID, CERT, SIG))}
AUTH_ONLY_DIAGRAM = ((SA, NONCE), (SA, NONCE, ID, HASH), (ID, HASH))
ZERO_MID = b"\0" * 4
# RFC 2409 Appendix A authentication methods, RFC 4754 4 for ECDSA; each ECDSA method fixes the
# curve and the hash applied to the signed message.
AUTH_METHODS = {"psk": (1,), "dss": (2,), "rsa": (3,), "ecdsa": (9, 10, 11), "pke": (4,),
                "rpke": (5,)}
PKE_AUTHS = ("pke", "rpke")  # RFC 2409 5.2 (encryption with RSA) and 5.3 (revised)
ECDSA_METHODS = {9: ("secp256r1", hashes.SHA256), 10: ("secp384r1", hashes.SHA384),
                 11: ("secp521r1", hashes.SHA512)}
CERT_X509_SIGNATURE = 4
SHA256_DIGESTINFO = bytes.fromhex("3031300d060960864801650304020105000420")  # RFC 8017 9.2
VID = 13
# Names for the labels of RSA- and Ke-encrypted payload bodies ("mm3.nonce", "mm4.ke", ...).
PAYLOAD_NAMES = {KE: "ke", ID: "id", CERT: "cert", HASH: "hash", NONCE: "nonce",
                 NOTIFY: "n", VID: "vid", NAT_D: "natd"}
AES_BLOCK = 16
RPKE_IV_CHAIN = ("RFC 2409 5.3, per message: the first payload after the RSA-encrypted nonce "
                 "with IV 0, each later one with the last ciphertext block of the payload body "
                 "before it; the responder's message (Main Mode 4, Aggressive Mode 2) starts "
                 "again from 0 under Ke_r. Not linked to the Appendix B Phase 1 IV, which starts "
                 "from hash(g^xi | g^xr) at the first HDR* message (Main Mode 5, Aggressive Mode "
                 "3 when encrypted)")
# RFC 2409 5.1: a signature algorithm tied to one hash signs HASH_I / HASH_R computed with the
# HMAC of that hash instead of the negotiated prf; DSS is tied to SHA-1.
DSS_METHOD = 2
DSA_Q_BITS = (160, 224, 256)
# RFC 2409 5.6 and Appendix A: New Group Mode is exchange 33; private Group Descriptions are
# 2^15 and up. Its SA carries Oakley (phase 1) attribute classes: 4 Group Description (basic),
# 5 Group Type (basic; 1 MODP), 6 Group Prime (variable), 7 Group Generator One (variable).
NEW_GROUP = 33
PRIVATE_GROUP_MIN = 1 << 15
G_DESC, G_TYPE, G_PRIME, G_GEN1 = 4, 5, 6, 7
OAKLEY_BASIC = (1, 2, 3, 4, 5, 11, 13, 14, 15)  # Appendix A classes of type B
GROUP_TYPE_MODP = 1
MR_ROUNDS = 64  # Miller-Rabin rounds on p and (p-1)/2: error below 4^-64 each
# IPsec DOI (RFC 2407 4.5) attribute class 3, the Quick Mode PFS Group Description.
QM_GROUP = 3


class Malformed(Exception):
    pass


class Garbled(Exception):
    """Decrypted bytes that are not the payloads they should be: a wrong key, IV or hash input
    on the engine's side, so a mismatch to report, not malformed input."""


def need(cond, what, exc=Malformed):
    if not cond:
        raise exc(what)


def prf(key, *parts):
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def hash_(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def u16(b):
    return int.from_bytes(b[:2], "big")


def unwrap(msg, label, report):
    """Strip the non-ESP marker of RFC 3948 2.2 from a datagram sent to port 4500."""
    if msg[:4] == b"\0\0\0\0":
        report["non_esp_marker"].append(label)
        return msg[4:]
    return msg


def header(msg, label):
    """The ISAKMP header (RFC 2408 3.1): 28 octets, its length counting the whole message."""
    need(len(msg) >= 28, f"{label}: shorter than the ISAKMP header")
    need(msg[17] == 0x10, f"{label}: version {msg[17]:#x}, not 1.0")
    need(int.from_bytes(msg[24:28], "big") == len(msg), f"{label}: header length != datagram")
    need(msg[16] != FRAGMENT, f"{label}: an IKE fragment (payload 132), not supported here")
    return {"cky_i": msg[0:8], "cky_r": msg[8:16], "np": msg[16], "exch": msg[18],
            "flags": msg[19], "mid": msg[20:24]}


def chain(first, data, label):
    """Walk generic payload headers (RFC 2408 3.2) from `first` until a next payload of 0.
    Returns [(type, body, start offset, end offset)] and where the chain ends."""
    out, nxt, off = [], first, 0
    while nxt != 0:
        need(off + 4 <= len(data), f"{label}: payload header past the end")
        length = u16(data[off + 2:])
        need(4 <= length and off + length <= len(data), f"{label}: payload length {length}")
        out.append((nxt, data[off + 4:off + length], off, off + length))
        nxt, off = data[off], off + length
    return out, off


def clear_chain(msg, h, label):
    """The payloads of a message sent in the clear, which must fill it exactly."""
    ps, end = chain(h["np"], msg[28:], label)
    need(end == len(msg) - 28, f"{label}: bytes after the payload chain")
    need(all(p[0] != FRAGMENT for p in ps), f"{label}: an IKE fragment payload (132)")
    return ps


def get(payloads, ptype, label, exc=Malformed):
    bodies = [p[1] for p in payloads if p[0] == ptype]
    need(bodies, f"{label}: no payload of type {ptype}", exc)
    return bodies[0]


def attributes(data, label):
    """SA attributes (RFC 2408 3.3): AF=1 is TV with a 2-octet value, AF=0 is TLV."""
    out, off = {}, 0
    while off < len(data):
        need(off + 4 <= len(data), f"{label}: truncated attribute")
        kind, val = u16(data[off:]), u16(data[off + 2:])
        if kind & 0x8000:
            out[kind & 0x7FFF], off = val, off + 4
        else:
            need(off + 4 + val <= len(data), f"{label}: attribute length {val}")
            out[kind] = int.from_bytes(data[off + 4:off + 4 + val], "big")
            off += 4 + val
    return out


def proposals(sa_body, label):
    """An SA payload body in the IPsec DOI (RFC 2408 3.4-3.6, RFC 2407 4.6.1): DOI 1, situation
    SIT_IDENTITY_ONLY, then Proposal payloads each carrying its Transform payloads."""
    need(len(sa_body) >= 8 and sa_body[0:4] == b"\0\0\0\1", f"{label}: DOI is not IPsec")
    need(sa_body[4:8] == b"\0\0\0\1", f"{label}: situation is not SIT_IDENTITY_ONLY")
    props, end = chain(PROPOSAL, sa_body[8:], label)
    need(end == len(sa_body) - 8, f"{label}: bytes after the last proposal")
    out = []
    for _, p, _, _ in props:
        need(len(p) >= 4 and len(p) >= 4 + p[2], f"{label}: short proposal")
        spi, transforms = p[4:4 + p[2]], []
        ts, end = chain(TRANSFORM, p[4 + p[2]:], label)
        need(end == len(p) - 4 - p[2] and len(ts) == p[3], f"{label}: transform count")
        for _, t, _, _ in ts:
            need(len(t) >= 4, f"{label}: short transform")
            transforms.append({"id": t[1], "attrs": attributes(t[4:], label)})
        out.append({"number": p[0], "protocol": p[1], "spi": spi, "transforms": transforms})
    return out


def decrypted_proposals(sa_body, label):
    """proposals() of an SA payload that came encrypted: unparsable, it is a decryption
    mismatch, not malformed input (a well-formed SA of another suite still is)."""
    try:
        return proposals(sa_body, label)
    except Malformed as e:
        raise Garbled(f"{label}: decrypted SA payload: {e}") from None


def x25519_draw(draws, public, label, exc):
    """x25519_priv() whose failure is raised as `exc`."""
    try:
        return x25519_priv(draws, public, label)
    except Malformed as e:
        raise exc(str(e)) from None


def x25519_priv(draws, public, label):
    for d in draws:
        k = X25519PrivateKey.from_private_bytes(bytes.fromhex(d))
        raw = k.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)
        if raw == public:
            return k
    raise Malformed(f"{label}: no draw is the private key of KE {public.hex()}")


def cbc_decrypt(key, iv, ct, label):
    need(ct and len(ct) % 16 == 0, f"{label}: ciphertext of {len(ct)} octets")
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(ct) + d.finalize()


def main():
    c = json.load(sys.stdin)
    report = {"decrypt_ok": True, "problems": [], "ivs": {}, "hash_i_ok": False,
              "hash_r_ok": False, "sig_i_ok": None, "sig_r_ok": None, "certs": {},
              "nat_d": {}, "nat_d_ok": None, "non_esp_marker": [], "qm_hash1_ok": False,
              "qm_hash2_ok": False, "qm_hash3_ok": False, "spis_ok": False,
              "keymat_ok": False, "installs_checked": 0, "informational_hash_ok": [],
              "informational": [], "decrypted_payloads": {}, "padding": {}}
    try:
        check(c, report)
    except Garbled as e:  # the checks that depended on this message stay false
        report["decrypt_ok"], report["decrypt_error"] = False, str(e)
    report["headers_ok"] = not report["problems"]
    json.dump(report, sys.stdout)
    print()


class Opener:
    """Decrypts messages under the Phase 1 cipher key (RFC 2409 Appendix B) and keeps each one's
    payloads; the plaintext after the end of the payload chain is padding."""

    def __init__(self, key, report):
        self.key, self.report, self.opened = key, report, {}

    def open(self, label, msg, h, iv):
        self.report["ivs"][label] = iv.hex()
        p = cbc_decrypt(self.key, iv, msg[28:], label)
        try:
            ps, end = chain(h["np"], p, label)
        except Malformed as e:
            raise Garbled(f"{label}: decrypted payload chain: {e}") from None
        self.report["padding"][label] = {"len": len(p) - end, "hex": p[end:].hex()}
        self.report["decrypted_payloads"][label] = [x[0] for x in ps]
        self.opened[label] = (ps, p[:end])
        return ps

    def after_hash(self, label):
        """The first payload must be HASH; return its value and every byte after it up to the
        end of the chain, generic headers included and padding excluded (RFC 2409 5.5)."""
        ps, data = self.opened[label]
        need(ps and ps[0][0] == HASH, f"{label}: first payload is not HASH", Garbled)
        return ps[0][1], data[ps[0][3]:]


def check(c, report):
    auth = c.get("auth", "psk")
    need(auth in AUTH_METHODS, f"auth {auth!r} is not psk, dss, rsa, ecdsa, pke or rpke")
    raw = [bytes.fromhex(m) for m in c["messages"]]
    need(raw and len(raw[0]) >= 28, "messages: no first message")
    need(raw[0][18] in PHASE1 or raw[0][18] == AUTH_ONLY,
         f"first message: exchange type {raw[0][18]}, not 1, 2, 3 or 4")
    if raw[0][18] == AUTH_ONLY:
        return auth_only(c, report, auth, raw)
    mode, prefix, n1 = PHASE1[raw[0][18]]
    need(mode != "base" or auth in BASE_AUTHS,
         f"auth {auth!r}: the Base exchange is defined for {BASE_AUTHS} only")
    need(len(raw) == n1 + 3, f"messages: want {mode} mode 1..{n1} and Quick Mode 1..3")
    labels = [f"{prefix}{i + 1}" for i in range(n1)] + ["qm1", "qm2", "qm3"]
    report.update({"mode": mode, "auth": auth})
    msgs = [unwrap(m, l, report) for m, l in zip(raw, labels)]
    hdrs = [header(m, l) for m, l in zip(msgs, labels)]
    cky_i, cky_r = hdrs[1]["cky_i"], hdrs[1]["cky_r"]
    qm_mid = hdrs[n1]["mid"]
    am3_encrypted = mode == "aggressive" and bool(hdrs[2]["flags"] & FLAG_E)
    # Main Mode encrypts from message 5 on; Aggressive Mode 1 and 2 go in the clear, 3 either way;
    # the Base exchange encrypts nothing.
    encrypted = [i >= 4 if mode == "main" else (i == 2 and am3_encrypted) for i in range(n1)]
    encrypted += [True] * 3
    problems = report["problems"]  # header rules of RFC 2408 3.1 / RFC 2409 5 broken
    for i, (h, l) in enumerate(zip(hdrs, labels)):
        want_exch, want_mid = (raw[0][18], ZERO_MID) if i < n1 else (QUICK_MODE, qm_mid)
        if h["exch"] != want_exch or h["mid"] != want_mid:
            problems.append(f"{l}: exchange {h['exch']} M-ID {h['mid'].hex()}")
        if h["cky_i"] != cky_i or h["cky_r"] != (b"\0" * 8 if i == 0 else cky_r):
            problems.append(f"{l}: cookies")
        if bool(h["flags"] & FLAG_E) != encrypted[i]:
            problems.append(f"{l}: encryption flag")
        if mode == "base" and i < n1 and h["flags"] != 0:  # "all messages in the clear (flags 0)"
            problems.append(f"{l}: flags {h['flags']:#04x}, not 0")
    if qm_mid == ZERO_MID:
        problems.append("qm: M-ID zero")
    if mode == "aggressive":
        report["am3_encrypted"] = am3_encrypted

    # Phase 1 messages in the clear (RFC 2409 5, 5.4): SA first, then KE and nonce, which
    # Aggressive Mode carries in its first two messages together with the identities.
    n_clear = encrypted.index(True)
    plain = [clear_chain(m, h, l) for m, h, l in zip(msgs[:n_clear], hdrs, labels)]
    sai_b = get(plain[0], SA, labels[0])
    offered = proposals(sai_b, labels[0])
    chosen = proposals(get(plain[1], SA, labels[1]), labels[1])
    need(len(chosen) == 1 and len(chosen[0]["transforms"]) == 1, f"{labels[1]}: not one transform")
    t = chosen[0]["transforms"][0]
    # RFC 2409 Appendix A: 1 encryption (7 AES-CBC), 14 key length, 2 hash (4 SHA2-256),
    # 3 authentication method, 4 group (31 Curve25519); KEY_IKE in PROTO_ISAKMP.
    need(chosen[0]["protocol"] == 1 and t["id"] == 1, f"{labels[1]}: not PROTO_ISAKMP/KEY_IKE")
    need(all(t["attrs"].get(k) == v for k, v in {1: 7, 14: 128, 2: 4, 4: 31}.items())
         and t["attrs"].get(3) in AUTH_METHODS[auth],
         f"{labels[1]}: Phase 1 suite {t['attrs']} is not AES-CBC-128/SHA2-256/group 31 "
         f"with a {auth} authentication method {AUTH_METHODS[auth]}")
    method = t["attrs"][3]
    if t["attrs"] not in [x["attrs"] for p in offered for x in p["transforms"]]:
        problems.append(f"{labels[1]}: the chosen transform was not offered in {labels[0]}")
    if auth in PKE_AUTHS:
        # RFC 2409 5.2 / 5.3: Main Mode messages 3 and 4, Aggressive Mode 1 and 2, are in the
        # clear, but the bodies of some of their payloads are RSA- or Ke-encrypted; from here on
        # they stand for their plaintext.
        at = 2 if mode == "main" else 0
        if mode == "aggressive":
            am_pke_offer(report, auth, offered, t["attrs"])
        plain[at], plain[at + 1], idii_b, idir_b = pke_phase1(
            c, report, auth, mode, labels[at:at + 2], plain[at], plain[at + 1], cky_i, cky_r)
    if mode == "base":
        phase1_shape(problems, BASE_DIAGRAM[auth], plain, labels)
    # KE and the nonces: Main Mode 3 and 4, Aggressive Mode 1 and 2; the Base exchange carries the
    # nonces in 1 and 2 and KE in 3 and 4.
    at_ke, at_n = {"main": (2, 2), "aggressive": (0, 0), "base": (2, 0)}[mode]
    li, lr = labels[at_ke], labels[at_ke + 1]
    gxi, gxr = get(plain[at_ke], KE, li), get(plain[at_ke + 1], KE, lr)
    ni_b = get(plain[at_n], NONCE, labels[at_n])
    nr_b = get(plain[at_n + 1], NONCE, labels[at_n + 1])
    # A KE the engine sent Ke-encrypted (5.3) that matches no draw is a decryption mismatch.
    ke_exc = Garbled if auth == "rpke" else Malformed
    priv_i = x25519_draw(c["draws_i"], gxi, li, ke_exc)
    priv_r = x25519_draw(c["draws_r"], gxr, lr, ke_exc)
    gxy = priv_i.exchange(X25519PublicKey.from_public_bytes(gxr))
    need(gxy == priv_r.exchange(X25519PublicKey.from_public_bytes(gxi)), "g^xy differs")

    # RFC 2409 5: SKEYID for pre-shared keys and for signatures, then its three children.
    if auth == "psk":
        skeyid = prf(bytes.fromhex(c["psk"]), ni_b, nr_b)
    elif auth in PKE_AUTHS:  # "For public key encryption", both 5.2 and 5.3
        skeyid = prf(hash_(ni_b, nr_b), cky_i, cky_r)
    else:
        skeyid = prf(ni_b + nr_b, gxy)
    skeyid_d = prf(skeyid, gxy, cky_i, cky_r, b"\0")
    skeyid_a = prf(skeyid, skeyid_d, gxy, cky_i, cky_r, b"\1")
    skeyid_e = prf(skeyid, skeyid_a, gxy, cky_i, cky_r, b"\2")
    # Appendix B: the cipher key is the first bits of SKEYID_e when it is long enough (32 >= 16
    # here, so the Ka = K1 | K2 expansion never applies).
    enc_key = skeyid_e[:16]
    report.update({"gxy": gxy.hex(), "skeyid": skeyid.hex(), "skeyid_d": skeyid_d.hex(),
                   "skeyid_a": skeyid_a.hex(), "skeyid_e": skeyid_e.hex(),
                   "enc_key": enc_key.hex()})
    box = Opener(enc_key, report)

    # Appendix B: the first encrypted Phase 1 message takes hash(g^xi | g^xr); each later one the
    # last ciphertext block of the message before it. The last Phase 1 CBC output block seeds
    # every Phase 2 IV; with nothing encrypted in Phase 1 it is that first IV, still unused.
    iv = hash_(gxi, gxr)[:16]
    p1 = dict(zip(labels, plain))  # every Phase 1 message's payloads, by label
    for i in range(n_clear, n1):
        p1[labels[i]] = box.open(labels[i], msgs[i], hdrs[i], iv)
        iv = msgs[i][-16:]
    p1_last = iv
    report["p1_last"] = p1_last.hex()

    nat_d(report, c, p1, labels, cky_i, cky_r)

    # RFC 2409 5 / 5.1 / 5.4: HASH_I and HASH_R over the SA and ID payload bodies (no generic
    # header). Main Mode carries IDii and its proof in message 5, IDir and its proof in 6;
    # Aggressive Mode the identities in 1 and 2, the proofs in 3 and 2; the Base exchange IDii
    # and its proof in 3, IDir and its proof in 4.
    if mode == "main":
        id_i, id_r, from_i, from_r = "mm5", "mm6", "mm5", "mm6"
    elif mode == "base":
        id_i, id_r, from_i, from_r = "bx3", "bx4", "bx3", "bx4"
    else:
        id_i, id_r, from_i, from_r = "am1", "am2", "am3", "am2"
    # A payload missing from a decrypted message is a mismatch; from a cleartext one, bad input.
    missing = {l: Garbled if encrypted[i] else Malformed for i, l in enumerate(labels[:n1])}
    if auth in PKE_AUTHS:
        # With public-key encryption the identities travelled (encrypted) in Main Mode messages 3
        # and 4, Aggressive Mode 1 and 2; Main Mode 5 and 6 and Aggressive Mode 3 carry only
        # HASH_I / HASH_R (RFC 2409 5.2 / 5.3 diagrams).
        for l in (("mm5", "mm6") if mode == "main" else ("am3",)):
            if any(p[0] == ID for p in p1[l]):
                problems.append(f"{l}: ID payload after a public-key-encryption exchange")
    else:
        idii_b = get(p1[id_i], ID, id_i, missing[id_i])
        idir_b = get(p1[id_r], ID, id_r, missing[id_r])
    hi_data = (gxi, gxr, cky_i, cky_r, sai_b, idii_b)
    hr_data = (gxr, gxi, cky_r, cky_i, sai_b, idir_b)
    hash_i, hash_r = prf(skeyid, *hi_data), prf(skeyid, *hr_data)
    if mode == "base":
        # The project's Base exchange: message 3 goes before g^xr is known, so HASH_I leaves it
        # out, keyed with SKEYID = prf(psk, Ni_b | Nr_b) for a pre-shared key and with the nonce
        # bodies Ni_b | Nr_b themselves for signatures; HASH_R is RFC 2409 5's.
        hash_i = prf(skeyid if auth == "psk" else ni_b + nr_b, gxi, cky_i, cky_r, sai_b, idii_b)
    alt_i = alt_r = None
    if method == DSS_METHOD:
        # RFC 2409 5.1: DSS is tied to SHA-1, so the HASH_I / HASH_R it signs are computed "as
        # above, except using the HMAC version of" SHA-1, keyed with the same SKEYID (which, like
        # everything else, stays with the negotiated prf). The prf-computed ones are kept only
        # to name that misreading.
        alt_i, alt_r = hash_i, hash_r
        hash_i = hmac.new(skeyid, b"".join(hi_data), hashlib.sha1).digest()
        hash_r = hmac.new(skeyid, b"".join(hr_data), hashlib.sha1).digest()
        report["dss_signed_hash"] = "HMAC-SHA1(SKEYID, ...) per RFC 2409 5.1"
    authenticate(report, "i", auth, method, p1[from_i], hash_i, from_i, missing[from_i], alt_i)
    authenticate(report, "r", auth, method, p1[from_r], hash_r, from_r, missing[from_r], alt_r)
    if mode == "base" and not report["hash_i_ok"]:
        base_hash_i_form(report, auth, p1[from_i], skeyid, ni_b + nr_b, hi_data)

    # New Group Mode (RFC 2409 5.6): after Phase 1, under the ISAKMP SA, its own M-ID and IVs.
    if "new_group" in c:
        new_group_mode(c, report, box, p1_last, skeyid_a, cky_i, cky_r, qm_mid)

    # Informational exchanges (RFC 2409 5.7): HASH(1) = prf(SKEYID_a, M-ID | N/D ...), each one
    # independent of the others and of Quick Mode, so a garbled one spoils only its own entry.
    chains = {}
    for n, hexmsg in enumerate(c.get("informational", [])):
        label = f"info{n + 1}"
        msg = unwrap(bytes.fromhex(hexmsg), label, report)
        h = header(msg, label)
        if h["exch"] != INFORMATIONAL or not h["flags"] & FLAG_E or h["mid"] == ZERO_MID:
            problems.append(
                f"{label}: exchange {h['exch']} flags {h['flags']} M-ID {h['mid'].hex()}")
        if (h["cky_i"], h["cky_r"]) != (cky_i, cky_r):
            problems.append(f"{label}: cookies")
        iv = chains.get(h["mid"]) or hash_(p1_last, h["mid"])[:16]
        chains[h["mid"]] = msg[-16:]
        entry = {"mid": h["mid"].hex(), "hash_ok": False}
        report["informational"].append(entry)
        try:
            box.open(label, msg, h, iv)
            value, rest = box.after_hash(label)
            entry["payloads"] = report["decrypted_payloads"][label]
            entry["hash_ok"] = value == prf(skeyid_a, h["mid"], rest)
            entry.update(notify_delete(box.opened[label][0], label))
        except Garbled as e:
            entry["error"] = str(e)
    report["informational_hash_ok"] = [e["hash_ok"] for e in report["informational"]]

    quick_mode(c, report, box, msgs[n1:], hdrs[n1:], p1_last, skeyid_a, skeyid_d)


def base_hash_i_form(report, auth, payloads, skeyid, nonces, main_data):
    """Diagnosis only, for a Base exchange HASH_I that failed: which other reading it is, the
    HASH payload (pre-shared key) or what the RSA signature recovered to (signatures)."""
    if auth == "psk":
        got = next((p[1] for p in payloads if p[0] == HASH), None)
    else:
        form = report.get("sig_i_form") or ""
        got = bytes.fromhex(form[len("pkcs1-over "):]) if form.startswith("pkcs1-over ") else None
    gxi, gxr, cky_i, cky_r, sai_b, idii_b = main_data
    tries = {"RFC 2409 5 HASH_I with g^xr, keyed with SKEYID": prf(skeyid, *main_data),
             "without g^xr, keyed with SKEYID": prf(skeyid, gxi, cky_i, cky_r, sai_b, idii_b),
             "without g^xr, keyed with Ni_b | Nr_b": prf(nonces, gxi, cky_i, cky_r, sai_b,
                                                         idii_b)}
    report["hash_i_form"] = next((k for k, v in tries.items() if v == got),
                                 f"{got.hex() if got else None}, none of: {list(tries)}")


def phase1_shape(problems, diagram, p1, labels):
    """The payloads of each Phase 1 message against its diagram (the project's Base and
    Authentication Only exchanges): every payload of the diagram present, nothing else but VID,
    NAT-D, N (and more CERT payloads), and the SA first where there is one (RFC 2409 5: "The SA
    payload MUST precede all other payloads in a phase 1 exchange")."""
    for want, payloads, label in zip(diagram, p1, labels):
        types = [p[0] for p in payloads]
        missing = [t for t in want if t not in types]
        extra = [t for t in types if t not in want and t not in (VID, NAT_D, NOTIFY)]
        if missing or extra:
            problems.append(f"{label}: payloads {types}, the diagram has {list(want)} "
                            f"(missing {missing}, not expected {extra})")
        if SA in want and types and types[0] != SA:
            problems.append(f"{label}: the SA payload is not first")


def auth_only(c, report, auth, raw):
    """The project's Authentication Only exchange (exchange type 3, RFC 2408 4.6 with RFC 2409 5's
    formulas without Diffie-Hellman), all in the clear, message ID 0:
        HDR, SA, Ni  -->   <-- HDR, SA, Nr, IDir, HASH_R   HDR, IDii, HASH_I  -->
    No KE anywhere: SKEYID = prf(psk, Ni_b | Nr_b), SKEYID_d/a/e and HASH_I/HASH_R as RFC 2409 5
    with g^xy, g^xi and g^xr empty. No Quick Mode follows; each Informational message of the SA
    goes in the clear with flags exactly 0x04 (the Authentication Only bit), a non-zero M-ID,
    HASH(1) then D, HASH(1) = prf(SKEYID_a, M-ID | D) over the whole Delete payload, generic
    header included (RFC 2409 5.7)."""
    need(auth in AUTH_ONLY_AUTHS,
         f"auth {auth!r}: the Authentication Only exchange is defined for {AUTH_ONLY_AUTHS} only")
    need(len(raw) == 3, f"messages: want Authentication Only 1..3 and no Quick Mode, "
         f"got {len(raw)}")
    labels = ["ao1", "ao2", "ao3"]
    report.update({"mode": "authonly", "auth": auth, "decrypt_ok": None, "p1_last": None,
                   "qm_hash1_ok": None, "qm_hash2_ok": None, "qm_hash3_ok": None,
                   "spis_ok": None, "keymat_ok": None, "installs_checked": None})
    need(not c.get("installs"), "installs: no Quick Mode follows Authentication Only")
    msgs = [unwrap(m, l, report) for m, l in zip(raw, labels)]
    hdrs = [header(m, l) for m, l in zip(msgs, labels)]
    cky_i, cky_r = hdrs[1]["cky_i"], hdrs[1]["cky_r"]
    problems = report["problems"]
    for i, (h, l) in enumerate(zip(hdrs, labels)):
        if h["exch"] != AUTH_ONLY or h["mid"] != ZERO_MID:
            problems.append(f"{l}: exchange {h['exch']} M-ID {h['mid'].hex()}")
        if h["cky_i"] != cky_i or h["cky_r"] != (b"\0" * 8 if i == 0 else cky_r):
            problems.append(f"{l}: cookies")
        if h["flags"] != 0:  # "all in the clear"; the A bit marks only the SA's Informationals
            problems.append(f"{l}: flags {h['flags']:#04x}, not 0")
    plain = [clear_chain(m, h, l) for m, h, l in zip(msgs, hdrs, labels)]
    p1 = dict(zip(labels, plain))
    # "No KE payloads", in any message of the exchange.
    with_ke = [l for l in labels if any(p[0] == KE for p in p1[l])]
    report["ke_absent"] = not with_ke
    if with_ke:
        problems.append(f"{', '.join(with_ke)}: a KE payload in Authentication Only")
    phase1_shape(problems, AUTH_ONLY_DIAGRAM, plain, labels)
    sai_b = get(plain[0], SA, labels[0])
    offered = proposals(sai_b, labels[0])
    chosen = proposals(get(plain[1], SA, labels[1]), labels[1])
    need(len(chosen) == 1 and len(chosen[0]["transforms"]) == 1, "ao2: not one transform")
    t = chosen[0]["transforms"][0]
    # "an ordinary Oakley transform (with a group attribute that is not used)": the fixed suite
    # with method 1; the group is reported, not used.
    need(chosen[0]["protocol"] == 1 and t["id"] == 1, "ao2: not PROTO_ISAKMP/KEY_IKE")
    need(all(t["attrs"].get(k) == v for k, v in {1: 7, 14: 128, 2: 4, 3: 1}.items())
         and 4 in t["attrs"],
         f"ao2: Phase 1 suite {t['attrs']} is not AES-CBC-128/SHA2-256/pre-shared key with a "
         f"group attribute")
    report["authonly_group"] = t["attrs"][4]
    if t["attrs"] not in [x["attrs"] for p in offered for x in p["transforms"]]:
        problems.append("ao2: the chosen transform was not offered in ao1")
    ni_b, nr_b = get(plain[0], NONCE, "ao1"), get(plain[1], NONCE, "ao2")
    idir_b, idii_b = get(plain[1], ID, "ao2"), get(plain[2], ID, "ao3")

    skeyid = prf(bytes.fromhex(c["psk"]), ni_b, nr_b)
    skeyid_d = prf(skeyid, cky_i, cky_r, b"\0")
    skeyid_a = prf(skeyid, skeyid_d, cky_i, cky_r, b"\1")
    skeyid_e = prf(skeyid, skeyid_a, cky_i, cky_r, b"\2")
    report.update({"skeyid": skeyid.hex(), "skeyid_d": skeyid_d.hex(),
                   "skeyid_a": skeyid_a.hex(), "skeyid_e": skeyid_e.hex()})
    nat_d(report, c, p1, labels, cky_i, cky_r)
    hash_i = prf(skeyid, cky_i, cky_r, sai_b, idii_b)
    hash_r = prf(skeyid, cky_r, cky_i, sai_b, idir_b)
    authenticate(report, "i", auth, 1, p1["ao3"], hash_i, "ao3", Malformed)
    authenticate(report, "r", auth, 1, p1["ao2"], hash_r, "ao2", Malformed)

    for n, hexmsg in enumerate(c.get("informational", [])):
        label = f"info{n + 1}"
        msg = unwrap(bytes.fromhex(hexmsg), label, report)
        h = header(msg, label)
        if h["exch"] != INFORMATIONAL or h["flags"] != FLAG_A or h["mid"] == ZERO_MID:
            problems.append(f"{label}: exchange {h['exch']} flags {h['flags']:#04x} M-ID "
                            f"{h['mid'].hex()} (want 5, exactly 0x04, non-zero)")
        if (h["cky_i"], h["cky_r"]) != (cky_i, cky_r):
            problems.append(f"{label}: cookies")
        entry = {"mid": h["mid"].hex(), "hash_ok": False}
        report["informational"].append(entry)
        if h["flags"] & FLAG_E:
            entry["error"] = "encrypted, but the SA has no encryption (Authentication Only)"
            continue
        ps = clear_chain(msg, h, label)
        entry["payloads"] = types = [p[0] for p in ps]
        entry.update(notify_delete(ps, label))
        if types != [HASH, DELETE]:
            problems.append(f"{label}: payloads {types}, not HASH(1), D")
        deletes = [p for p in ps if p[0] == DELETE]
        if not types or types[0] != HASH or not deletes:
            entry["error"] = "HASH(1) is not the first payload or there is no D"
            continue
        # The ISAKMP SA's Delete (RFC 2408 3.15): PROTO_ISAKMP, SPI size 16, the two cookies.
        entry["deletes_isakmp_sa"] = entry.get("delete") == [
            {"protocol": 1, "spis": [(cky_i + cky_r).hex()]}]
        if not entry["deletes_isakmp_sa"]:
            problems.append(f"{label}: not a Delete of this ISAKMP SA: {entry.get('delete')}")
        _, _, start, end = deletes[0]
        d_whole = msg[28 + start:28 + end]  # the Delete payload, generic header included
        entry["hash_ok"] = ps[0][1] == prf(skeyid_a, h["mid"], d_whole)
    report["informational_hash_ok"] = [e["hash_ok"] for e in report["informational"]]


def quick_mode(c, report, box, msgs, hdrs, p1_last, skeyid_a, skeyid_d):
    """Quick Mode (RFC 2409 5.5), its first IV per Appendix B."""
    qm_mid = hdrs[0]["mid"]
    iv = hash_(p1_last, qm_mid)[:16]
    for label, msg, h in zip(("qm1", "qm2", "qm3"), msgs, hdrs):
        box.open(label, msg, h, iv)
        iv = msg[-16:]
    (h1, rest1), (h2, rest2), (h3, _) = (box.after_hash(l) for l in ("qm1", "qm2", "qm3"))
    q1, q2 = box.opened["qm1"][0], box.opened["qm2"][0]
    qni_b, qnr_b = get(q1, NONCE, "qm1", Garbled), get(q2, NONCE, "qm2", Garbled)
    report["qm_hash1_ok"] = h1 == prf(skeyid_a, qm_mid, rest1)
    report["qm_hash2_ok"] = h2 == prf(skeyid_a, qm_mid, qni_b, rest2)
    report["qm_hash3_ok"] = h3 == prf(skeyid_a, b"\0", qm_mid, qni_b, qnr_b)
    qm_offer = decrypted_proposals(get(q1, SA, "qm1", Garbled), "qm1")
    qm_chosen = decrypted_proposals(get(q2, SA, "qm2", Garbled), "qm2")
    need(len(qm_chosen) == 1 and len(qm_chosen[0]["transforms"]) == 1, "qm2: not one transform")
    qt = qm_chosen[0]["transforms"][0]
    # RFC 2407 4.4.4 / 4.5: PROTO_IPSEC_ESP 3, ESP_AES 12, attribute 6 key length 128 and
    # attribute 5 authentication algorithm 5 (HMAC-SHA2-256); 3 is the PFS group.
    need(qm_chosen[0]["protocol"] == 3 and qt["id"] == 12, "qm2: not ESP with ESP_AES")
    need(qt["attrs"].get(6) == 128 and qt["attrs"].get(5) == 5, f"qm2: ESP suite {qt['attrs']}")
    need(len(qm_chosen[0]["spi"]) == 4, "qm2: SPI size is not 4")
    same = [p for p in qm_offer if p["number"] == qm_chosen[0]["number"] and p["protocol"] == 3]
    need(same and len(same[0]["spi"]) == 4, "qm1: no ESP proposal with the chosen number")
    spi_i, spi_r = same[0]["spi"], qm_chosen[0]["spi"]  # each the SPI its sender receives on
    # PFS: a KE payload in both Quick Mode messages; g(qm)^xy leads the KEYMAT input.
    report["pfs"] = pfs = any(p[0] == KE for p in q1)
    gqm = b""
    if pfs and qt["attrs"].get(QM_GROUP) != 31:
        # A private MODP group (RFC 2409 5.6, Appendix A): None when no draw gives either KE.
        gqm = modp_pfs(c, report, qt["attrs"].get(QM_GROUP), qm_offer,
                       get(q1, KE, "qm1"), get(q2, KE, "qm2", Garbled))
    elif pfs:
        qi, qr = get(q1, KE, "qm1"), get(q2, KE, "qm2", Garbled)
        gqm = x25519_priv(c["draws_i"], qi, "qm1").exchange(X25519PublicKey.from_public_bytes(qr))
        other = x25519_priv(c["draws_r"], qr, "qm2").exchange(X25519PublicKey.from_public_bytes(qi))
        need(gqm == other, "g(qm)^xy differs")

    def keymat(spi, n=48):
        """RFC 2409 5.5: K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
        Kn = prf(SKEYID_d, Kn-1 | that same input); the SPI is the one its receiver chose."""
        seed = gqm + b"\3" + spi + qni_b + qnr_b
        out = k = prf(skeyid_d, seed)
        while len(out) < n:
            k = prf(skeyid_d, k, seed)
            out += k
        return out[:n]

    report.update({"spi_i": int.from_bytes(spi_i, "big"), "spi_r": int.from_bytes(spi_r, "big")})
    verifiable = gqm is not None  # without g(qm)^xy KEYMAT cannot be computed here
    if verifiable:
        km = {spi_i: keymat(spi_i), spi_r: keymat(spi_r)}
        report["keymat"] = {"i_in": km[spi_i].hex(), "r_in": km[spi_r].hex()}
    keys_ok, spis_ok = True, True
    for inst in c.get("installs", []):
        sin, sout = inst["spi_in"].to_bytes(4, "big"), inst["spi_out"].to_bytes(4, "big")
        want_in, want_out = (spi_i, spi_r) if inst["side"] == "i" else (spi_r, spi_i)
        if (sin, sout) != (want_in, want_out):
            spis_ok = False
            continue
        if not verifiable:
            continue
        kin, kout = km[sin], km[sout]  # 16 octets of AES key, then 32 of HMAC-SHA256 key
        keys_ok &= (inst["enc_in"], inst["integ_in"]) == (kin[:16].hex(), kin[16:].hex())
        keys_ok &= (inst["enc_out"], inst["integ_out"]) == (kout[:16].hex(), kout[16:].hex())
    report.update({"spis_ok": spis_ok, "keymat_ok": keys_ok and spis_ok if verifiable else None,
                   "installs_checked": len(c.get("installs", []))})
    if not verifiable:
        report["keymat_unverifiable"] = ("no draw of either side is the private exponent of its "
                                         "Quick Mode KE, so g(qm)^xy is unknown here")


def modp_pfs(c, report, group, qm_offer, qi, qr):
    """Quick Mode PFS (RFC 2409 5.5) in a private MODP group (5.6, Appendix A): the group's
    prime and generator come from private_groups; the KE values are big-endian integers as long
    as the prime (RFC 2409 5: "MUST be the length of the negotiated Diffie-Hellman group
    enforced, if necessary, by pre-pending the value with zeros"), 1 < y < p - 1. Each side's
    exponent is searched among its draws (see exponent_forms) and accepted only when g^x mod p
    is its KE value. Returns g(qm)^xy left-padded to the prime's length, or None when no draw
    gives either side's KE."""
    groups = c.get("private_groups") or {}
    need(isinstance(group, int) and group >= PRIVATE_GROUP_MIN and str(group) in groups,
         f"qm2: PFS group {group} is neither 31 nor a private group of private_groups")
    conf = groups[str(group)]
    need(conf.get("type") == "modp", f"private_groups.{group}: type {conf.get('type')!r}, "
         f"not 'modp'")
    p, g = int(conf["prime"], 16), int(conf["generator"], 16)
    need(p > 3 and 1 < g < p - 1, f"private_groups.{group}: prime or generator out of range")
    plen = (p.bit_length() + 7) // 8
    ngm = report.get("ngm") or {}
    report["qm_pfs_group"] = group
    # Whether New Group Mode (checked above) agreed this number, every check of it passing.
    report["qm_pfs_group_agreed"] = ngm.get("number") == group and all(
        report.get(k) is True for k in ("ngm_hash1_ok", "ngm_hash2_ok", "ngm_sa_ok",
                                        "ngm_group_ok"))
    # RFC 2409 5.5: with a KE, the group attribute "MUST be included in every transform of
    # every proposal of every SA being negotiated"; RFC 2409 4: no group attributes (type,
    # prime, ...) alongside a defined group, which IPsec DOI transforms cannot carry anyway.
    every = all(x["attrs"].get(QM_GROUP) == group for pr in qm_offer for x in pr["transforms"])
    report["qm_group_in_every_transform"] = every
    if not every:
        report["problems"].append(f"qm1: not every transform offered carries group {group}")
    ys, ke = {}, {}
    for side, value in (("i", qi), ("r", qr)):
        ys[side] = int.from_bytes(value, "big")
        ke[side] = {"len": len(value), "len_ok": len(value) == plen,
                    "range_ok": 1 < ys[side] < p - 1}
    report["qm_ke"] = ke
    report["qm_ke_ok"] = all(v["len_ok"] and v["range_ok"] for v in ke.values())
    xs, forms, draw = {}, {}, {}
    for side in "ir":
        hit = modp_exponent(c[f"draws_{side}"], g, p, ys[side])
        forms[side] = hit and hit[1]
        draw[side] = hit and hit[2]
        if hit:
            xs[side] = hit[0]
    report.update({"qm_dh_found": bool(xs), "qm_dh_exponent_form": forms,
                   "qm_dh_draw": draw, "qm_dh_prime_bits": p.bit_length()})
    if not xs:
        return None
    secrets = {}
    if "i" in xs:
        secrets["i"] = pow(ys["r"], xs["i"], p)
    if "r" in xs:
        secrets["r"] = pow(ys["i"], xs["r"], p)
    need(len(set(secrets.values())) == 1, "g(qm)^xy differs")
    return next(iter(secrets.values())).to_bytes(plen, "big")


def exponent_forms(p):
    """How a 32-octet draw may have become a MODP exponent, in the order tried: the draw as
    a big-endian integer, then little-endian, then big-endian reduced mod (p-1)/2, then
    big-endian with its top bit set. The first that gives g^x = KE is taken."""
    q = (p - 1) // 2
    return (("big-endian", lambda d: int.from_bytes(d, "big")),
            ("little-endian", lambda d: int.from_bytes(d, "little")),
            ("big-endian mod (p-1)/2", lambda d: int.from_bytes(d, "big") % q),
            ("big-endian with the top bit set",
             lambda d: int.from_bytes(d, "big") | (1 << (8 * len(d) - 1))))


def modp_exponent(draws, g, p, y):
    """(x, form, draw index) of the first candidate with pow(g, x, p) == y, or None."""
    for form, make in exponent_forms(p):
        for n, d in enumerate(draws):
            x = make(bytes.fromhex(d))
            if pow(g, x, p) == y:
                return x, form, n
    return None


def probably_prime(n, rounds=MR_ROUNDS):
    """Miller-Rabin with the first twelve primes as bases and then pseudo-random ones (seeded
    by n, so the report is reproducible), `rounds` bases in all."""
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    if n < 2:
        return False
    for s in small:
        if n % s == 0:
            return n == s
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    rng = random.Random(n)
    bases = list(small) + [rng.randrange(2, n - 1) for _ in range(rounds - len(small))]
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def raw_attributes(data, label):
    """SA attributes (RFC 2408 3.3) as [(class, basic?, value octets)], keeping the format."""
    out, off = [], 0
    while off < len(data):
        need(off + 4 <= len(data), f"{label}: truncated attribute", Garbled)
        kind, val = u16(data[off:]), u16(data[off + 2:])
        if kind & 0x8000:
            out.append((kind & 0x7FFF, True, data[off + 2:off + 4]))
            off += 4
        else:
            need(off + 4 + val <= len(data), f"{label}: attribute length {val}", Garbled)
            out.append((kind, False, data[off + 4:off + 4 + val]))
            off += 4 + val
    return out


def ngm_group(sa_body, label, ngm):
    """The group an SA payload of New Group Mode describes (RFC 2409 5.6: "The proposal will
    specify the characteristics of the group (see appendix A)"): the SA body (DOI, situation,
    RFC 2408 3.4), one Proposal (PROTO_ISAKMP, 1) with one Transform (KEY_IKE, 1) whose
    attributes are Oakley classes. Returns {class: int} and fills ngm["sa"]; what breaks the
    expected shape goes to ngm["sa_problems"]."""
    sa_problems = ngm.setdefault("sa_problems", [])
    need(len(sa_body) >= 8, f"{label}: SA body of {len(sa_body)} octets", Garbled)
    doi, sit = int.from_bytes(sa_body[0:4], "big"), int.from_bytes(sa_body[4:8], "big")
    try:
        props, end = chain(PROPOSAL, sa_body[8:], label)
        need(end == len(sa_body) - 8, f"{label}: bytes after the last proposal")
    except Malformed as e:
        raise Garbled(f"{label}: decrypted SA payload: {e}") from None
    info = {"doi": doi, "situation": sit, "proposals": len(props)}
    ngm["sa"] = info
    if doi != 1:
        sa_problems.append(f"{label}: DOI {doi}, not 1 (IPsec)")
    need(props, f"{label}: no proposal", Garbled)
    if len(props) != 1:
        sa_problems.append(f"{label}: {len(props)} proposals, not one")
    p = props[0][1]
    need(len(p) >= 4 and len(p) >= 4 + p[2], f"{label}: short proposal", Garbled)
    info.update({"protocol": p[1], "spi": p[4:4 + p[2]].hex(), "transforms": p[3]})
    try:
        ts, end = chain(TRANSFORM, p[4 + p[2]:], label)
        need(end == len(p) - 4 - p[2] and len(ts) == p[3], f"{label}: transform count")
    except Malformed as e:
        raise Garbled(f"{label}: decrypted SA payload: {e}") from None
    need(ts and len(ts[0][1]) >= 4, f"{label}: no transform", Garbled)
    if p[1] != 1:
        sa_problems.append(f"{label}: protocol {p[1]}, not PROTO_ISAKMP (1)")
    if len(ts) != 1:
        sa_problems.append(f"{label}: {len(ts)} transforms, not one")
    t = ts[0][1]
    info["transform_id"] = t[1]
    if t[1] != 1:
        sa_problems.append(f"{label}: transform {t[1]}, not KEY_IKE (1)")
    attrs, seen = {}, []
    for cls, basic, value in raw_attributes(t[4:], label):
        seen.append({"class": cls, "format": "TV" if basic else "TLV", "len": len(value)})
        if cls in attrs:
            sa_problems.append(f"{label}: attribute class {cls} twice")
        if cls in OAKLEY_BASIC and not basic:  # Appendix A: "basic MUST NOT be ... variable"
            sa_problems.append(f"{label}: basic attribute class {cls} encoded as variable")
        attrs[cls] = int.from_bytes(value, "big")
    info["attributes"] = seen
    return attrs


def ngm_hash_form(value, skeyid_a, mid, sa_whole, sa_body, rest):
    """Diagnosis only: which other input a New Group Mode hash that failed was computed over."""
    tries = {"prf(SKEYID_a, M-ID | SA_b) (no generic header)": prf(skeyid_a, mid, sa_body),
             "prf(SKEYID_a, M-ID | all after HASH)": prf(skeyid_a, mid, rest),
             "prf(SKEYID_a, SA) (no M-ID)": prf(skeyid_a, sa_whole),
             "prf(SKEYID_a, SA_b) (no M-ID, no header)": prf(skeyid_a, sa_body)}
    return next((k for k, v in tries.items() if v == value),
                f"{len(value)} octets {value.hex()}, none of: {list(tries)}")


def new_group_mode(c, report, box, p1_last, skeyid_a, cky_i, cky_r, qm_mid):
    """New Group Mode (RFC 2409 5.6), `new_group` = [request, answer]:
        HDR*, HASH(1), SA -->   <-- HDR*, HASH(2), SA
    HASH(1) = prf(SKEYID_a, M-ID | SA) over the request's SA payload, HASH(2) likewise over the
    answer's, "SA" being "the entire SA proposal, body and header" (generic header included).
    IVs as for any post-phase-1 exchange (Appendix B): hash(last Phase 1 CBC block | M-ID) for
    the request, its last ciphertext block for the answer. A garbled message spoils only the
    ngm_* checks."""
    raw = c["new_group"]
    need(isinstance(raw, list) and len(raw) == 2,
         "new_group: want two messages, the request and the answer")
    labels = ("ngm1", "ngm2")
    msgs = [unwrap(bytes.fromhex(m), l, report) for m, l in zip(raw, labels)]
    hdrs = [header(m, l) for m, l in zip(msgs, labels)]
    mid = hdrs[0]["mid"]
    ngm = {"mid": mid.hex(), "number": None, "prime_bits": None, "ivs": {}}
    report.update({"ngm_hash1_ok": False, "ngm_hash2_ok": False, "ngm_sa_ok": False,
                   "ngm_group_ok": False, "ngm": ngm})
    problems = report["problems"]
    for h, l in zip(hdrs, labels):
        if h["exch"] != NEW_GROUP or not h["flags"] & FLAG_E or h["mid"] != mid:
            problems.append(f"{l}: exchange {h['exch']} flags {h['flags']} M-ID {h['mid'].hex()}")
        if (h["cky_i"], h["cky_r"]) != (cky_i, cky_r):
            problems.append(f"{l}: cookies")
    if mid == ZERO_MID:
        problems.append("ngm: M-ID zero")
    if mid == qm_mid:
        problems.append("ngm: same M-ID as the Quick Mode")
    iv = hash_(p1_last, mid)[:16]
    try:
        sas = []
        for n, (l, m, h) in enumerate(zip(labels, msgs, hdrs)):
            ngm["ivs"][l] = iv.hex()
            box.open(l, m, h, iv)
            iv = m[-16:]
            ps, data = box.opened[l]
            value, rest = box.after_hash(l)
            types = [x[0] for x in ps]
            if types != [HASH, SA]:
                problems.append(f"{l}: payloads {types}, not HASH, SA (RFC 2409 5.6)")
            sa = [x for x in ps if x[0] == SA]
            need(sa, f"{l}: no SA payload", Garbled)
            _, body, start, end = sa[0]
            sa_whole = data[start:end]  # generic header and body, as the payload appears
            sas.append((body, sa_whole))
            ok = value == prf(skeyid_a, mid, sa_whole)
            report[f"ngm_hash{n + 1}_ok"] = ok
            if not ok:
                ngm[f"hash{n + 1}_form"] = ngm_hash_form(value, skeyid_a, mid, sa_whole, body,
                                                         rest)
        report["ngm_sa_ok"] = sas[0][0] == sas[1][0]
        ngm["sa_payloads_identical"] = sas[0][1] == sas[1][1]  # generic headers too
        attrs = ngm_group(sas[1][0], "ngm2", ngm)  # the group agreed: the answer's
        if not report["ngm_sa_ok"]:
            ngm["request_attributes"] = {k: hex(v) for k, v in
                                         ngm_group(sas[0][0], "ngm1", {}).items()}
        number, gtype = attrs.get(G_DESC), attrs.get(G_TYPE)
        prime, gen = attrs.get(G_PRIME), attrs.get(G_GEN1)
        ngm.update({"number": number, "group_type": gtype,
                    "prime_bits": prime and prime.bit_length(), "generator": gen,
                    "other_attributes": sorted(k for k in attrs
                                               if k not in (G_DESC, G_TYPE, G_PRIME, G_GEN1))})
        conf = (c.get("private_groups") or {}).get(str(number)) or {}
        checks = {"number_private": number is not None and number >= PRIVATE_GROUP_MIN,
                  "type_modp": gtype == GROUP_TYPE_MODP,
                  "in_config": conf.get("type") == "modp",
                  "prime_equals_config": prime is not None and "prime" in conf
                  and prime == int(conf["prime"], 16),
                  "generator_equals_config": gen is not None and "generator" in conf
                  and gen == int(conf["generator"], 16),
                  "p_prime": False, "q_prime": False, "generator_in_range": False}
        if prime is not None and prime > 5:
            checks["p_prime"] = probably_prime(prime)
            checks["q_prime"] = probably_prime((prime - 1) // 2)
            if gen is not None:
                checks["generator_in_range"] = 1 < gen < prime - 1
                if checks["p_prime"] and checks["q_prime"] and checks["generator_in_range"]:
                    # Not judged: g of order q (a square) or 2q (a generator of the whole group).
                    ngm["generator_order"] = ("(p-1)/2" if pow(gen, (prime - 1) // 2, prime) == 1
                                              else "p-1")
        ngm["checks"] = checks
        ngm["miller_rabin_rounds"] = MR_ROUNDS
        report["ngm_group_ok"] = all(checks.values())
    except Garbled as e:
        ngm["error"] = str(e)


def authenticate(report, side, auth, method, payloads, want, label, exc, alt=None):
    """One side's Phase 1 proof of HASH_I or HASH_R (`want`): the HASH payload itself with a
    pre-shared key (RFC 2409 5.4) or public-key encryption (5.2, 5.3); with signatures (5.1) a
    SIG payload over it, checked with the key of the end-entity certificate among the CERT
    payloads. `alt` (DSS only) is the same hash under the negotiated prf, for diagnosis."""
    types = [p[0] for p in payloads]
    if auth == "psk" or auth in PKE_AUTHS:  # 5.2 / 5.3: the HASH payload is the proof too
        if SIG in types:
            how = "a pre-shared key" if auth == "psk" else "public-key encryption"
            report["problems"].append(f"{label}: SIG payload with {how}")
        report[f"hash_{side}_ok"] = get(payloads, HASH, label, exc) == want
        return
    if HASH in types:
        report["problems"].append(f"{label}: HASH payload in a signature exchange")
    sig = get(payloads, SIG, label, exc)
    certs, listed = [], report["certs"].setdefault(side, [])
    for ptype, body, _, _ in payloads:
        if ptype != CERT:
            continue
        entry = {"encoding": body[0] if body else None}
        listed.append(entry)
        if entry["encoding"] == CERT_X509_SIGNATURE:
            try:  # cryptography decodes lazily: every field used is read here
                with warnings.catch_warnings():  # e.g. a non-positive serial: not our concern
                    warnings.simplefilter("ignore")
                    cert = x509.load_der_x509_certificate(body[1:])
                entry.update(subject=cert.subject.rfc4514_string(),
                             issuer=cert.issuer.rfc4514_string())
                certs.append((cert, cert.public_key()))
            except Exception as e:  # ValueError, InvalidVersion, UnsupportedAlgorithm, ...
                entry["error"] = f"unusable X.509 certificate: {e!r}"
    ok, form = False, "no X.509 certificate (CERT encoding 4) to verify with"
    if certs:
        # The end-entity certificate is the one that issued none of the others.
        ee = [x for x in certs
              if not any(o is not x and o[0].issuer == x[0].subject for o in certs)]
        cert, key = (ee or certs)[0]
        report[f"cert_{side}_subject"] = cert.subject.rfc4514_string()
        ok, form = verify_signature(key, method, sig, want, alt)
    report[f"sig_{side}_ok"] = report[f"hash_{side}_ok"] = ok
    report[f"sig_{side}_form"] = form


def verify_signature(key, method, sig, signed, alt=None):
    """Whether `sig` signs `signed` (a HASH_I/HASH_R) as RFC 2409 5.1 / RFC 4754 want, and a
    name for what it does sign, to tell one misreading of the RFCs from another."""
    if method == DSS_METHOD:
        return verify_dss(key, sig, signed, alt)
    if method == 3:
        if not isinstance(key, rsa.RSAPublicKey):
            return False, f"method 3 (RSA) but the certificate holds a {type(key).__name__}"
        k = (key.key_size + 7) // 8
        if len(sig) != k:
            return False, f"signature of {len(sig)} octets, modulus of {k}"
        try:
            inner = key.recover_data_from_signature(sig, padding.PKCS1v15(), None)
        except InvalidSignature:
            return False, "not a PKCS#1 v1.5 type 1 signature under the certificate's key"
        if inner == signed:
            return True, "pkcs1-bare-hash"
        if inner == SHA256_DIGESTINFO + hash_(signed):
            return False, "pkcs1-digestinfo-sha256-of-hash"
        if inner == SHA256_DIGESTINFO + signed:
            return False, "pkcs1-digestinfo-around-hash"
        return False, f"pkcs1-over {inner.hex()}"
    curve, algorithm = ECDSA_METHODS[method]
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
        return False, f"method {method} wants {curve}, the certificate holds {key_name(key)}"
    n = (key.curve.key_size + 7) // 8  # RFC 4754 7: r | s, each as long as a field element
    if len(sig) != 2 * n:
        return False, f"signature of {len(sig)} octets, r | s wants {2 * n}"
    der = utils.encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
    for form, alg in (("ecdsa-sha-of-hash", algorithm()),
                      ("ecdsa-hash-as-digest", utils.Prehashed(hashes.SHA256()))):
        try:
            key.verify(der, signed, ec.ECDSA(alg))
            return form == "ecdsa-sha-of-hash", form
        except InvalidSignature:
            pass
    return False, "not an ECDSA signature of HASH under the certificate's key"


def verify_dss(key, sig, signed, prf_signed):
    """RFC 2409 5.1 DSS: "the negotiated digital signature algorithm applied to HASH_I", read as
    DSA with SHA-1 over the message HASH_I (the FIPS 186 DSS hashes its message with SHA-1),
    HASH_I itself computed with HMAC-SHA1; "encoded as r followed by s", each an unsigned
    big-endian integer as long as the key's q. `prf_signed` is HASH_I under the negotiated prf;
    the other readings are tried only to name what a failing signature signs."""
    if not isinstance(key, dsa.DSAPublicKey):
        return False, f"method 2 (DSS) but the certificate holds a {key_name(key)}"
    qbits = key.parameters().parameter_numbers().q.bit_length()
    if qbits not in DSA_Q_BITS:
        return False, f"DSA key with q of {qbits} bits, not 160, 224 or 256"
    n = (qbits + 7) // 8
    if len(sig) != 2 * n:
        why = f"signature of {len(sig)} octets, r | s wants {2 * n} (q of {qbits} bits)"
        try:
            r, s = utils.decode_dss_signature(sig)
            why += (f"; it is a DER SEQUENCE of r and s instead "
                    f"({r.bit_length()}/{s.bit_length()} bits)")
        except ValueError:
            pass
        return False, why
    der = utils.encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
    tries = [("dsa-sha1-of-hash", signed, hashes.SHA1()),
             ("dsa-hash-as-digest", signed, utils.Prehashed(hashes.SHA1())),
             ("dsa-over-negotiated-prf-hash", prf_signed, hashes.SHA1()),
             ("dsa-over-negotiated-prf-hash-as-digest", prf_signed,
              utils.Prehashed(hashes.SHA256())),
             ("dsa-sha256-of-hash", signed, hashes.SHA256()),
             ("dsa-sha256-of-negotiated-prf-hash", prf_signed, hashes.SHA256())]
    for form, data, alg in tries:
        try:
            key.verify(der, data, alg)
            return form == "dsa-sha1-of-hash", form
        except InvalidSignature:
            pass
    return False, "not a DSA signature of HASH under the certificate's key in any form tried"


def am_pke_offer(report, auth, offered, chosen):
    """RFC 2409 5: in Aggressive Mode "authentication with public key encryption cannot be
    negotiated and when using the revised method of public key encryption for authentication
    the cipher and hash cannot be negotiated": message 1 is already encrypted for them, so every
    transform offered must carry the chosen authentication method (and with 5.3 the chosen
    cipher, key length and hash)."""
    fixed = (3,) if auth == "pke" else (3, 1, 14, 2)
    for p in offered:
        for x in p["transforms"]:
            if any(x["attrs"].get(k) != chosen.get(k) for k in fixed):
                report["problems"].append(
                    f"am1: offers {x['attrs']}, which differs from the chosen transform in "
                    f"attributes {fixed}, which Aggressive Mode with {auth} cannot negotiate")


def pke_phase1(c, report, auth, mode, labels, p_i, p_r, cky_i, cky_r):
    """The messages of RFC 2409 5.2 ("pke") or 5.3 ("rpke") that carry the encrypted nonces and
    identities, Main Mode 3 and 4 or Aggressive Mode 1 and 2 (`labels`), with their encrypted
    bodies opened: returns both payload lists with every body in plaintext (same types, same
    order) and the plaintext IDii_b / IDir_b. In Aggressive Mode the responder's message also
    carries HASH_R, in the clear or (5.3) Ke_r-encrypted after the nonce; hash_r_place says
    which."""
    keys, certs = pke_material(c)
    report.update({"pke_mode": auth, "hash1_ok": None, "pkcs1_ok": {}})
    if auth == "rpke":
        report.update({"rpke_padding_ok": {}, "rpke_iv_chain": RPKE_IV_CHAIN, "rpke_ivs": {},
                       "rpke_padding": {}})
    failed = []  # labels whose body could not be opened; raised once both messages are walked
    opened = {}
    li, lr = labels
    for label, payloads, sender, cky in ((li, p_i, "i", cky_i), (lr, p_r, "r", cky_r)):
        peer = "r" if sender == "i" else "i"
        # Aggressive Mode 2: its HASH is HASH_R (there is no HASH(1) from the responder).
        has_hash_r = mode == "aggressive" and sender == "r"
        if auth == "pke":
            opened[label] = pke_message(report, label, payloads, keys, peer, failed)
        else:
            opened[label] = rpke_message(report, label, payloads, keys, peer, cky, failed,
                                         has_hash_r)
        hashes = [n for n, p in enumerate(payloads) if p[0] == HASH]
        if sender == "r" and hashes and not has_hash_r:
            report["problems"].append(f"{label}: HASH payload (HASH(1) belongs in message 3 "
                                      f"only)")
        if has_hash_r and hashes:
            if len(hashes) > 1:
                report["problems"].append(f"{label}: more than one HASH payload")
            types = [p[0] for p in payloads]
            if NONCE in types:
                after = hashes[0] > types.index(NONCE)
                report["hash_r_place"] = ("ke_r" if auth == "rpke" and after else "clear") + (
                    "-after-nonce" if after else "-before-nonce")
        if sender == "i" and hashes:
            if len(hashes) > 1:
                report["problems"].append(f"{label}: more than one HASH payload")
            hash1(report, opened[label][hashes[0]][1], certs, c)
        certs_seen(report, sender, opened[label], certs)
    if failed:
        raise Garbled(f"could not open {', '.join(failed)}")
    ids, nonces = {}, {}
    for label, side in ((li, "i"), (lr, "r")):
        for ptype, store in ((ID, ids), (NONCE, nonces)):
            n = [p for p in opened[label] if p[0] == ptype]
            need(n, f"{label}: no payload of type {ptype}")  # the generic headers are clear
            if len(n) > 1:
                report["problems"].append(f"{label}: {len(n)} payloads of type {ptype}")
            store[side] = n[0][1]
    report.update({"id_i": ids["i"].hex(), "id_r": ids["r"].hex(),
                   "nonce_lens": {s: len(nonces[s]) for s in "ir"}})
    for s in "ir":  # RFC 2409 5: "between 8 and 256 bytes inclusive"
        if not 8 <= len(nonces[s]) <= 256:
            report["problems"].append(f"nonce of {s}: {len(nonces[s])} octets, not 8..256")
    return opened[li], opened[lr], ids["i"], ids["r"]


def pke_material(c):
    """The RSA private keys (to decrypt) and certificates (for HASH(1)) of both sides; each
    key must be the one its certificate holds, or the input contradicts itself."""
    keys, certs = {}, {}
    for s in "ir":
        keys[s] = serialization.load_pem_private_key(c["pke_keys"][s].encode(), None)
        need(isinstance(keys[s], rsa.RSAPrivateKey), f"pke_keys.{s} is not an RSA key")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            certs[s] = x509.load_pem_x509_certificate(c["pke_certs"][s].encode())
        need(certs[s].public_key().public_numbers() == keys[s].public_key().public_numbers(),
             f"pke_keys.{s} is not the private key of pke_certs.{s}")
    return keys, certs


def body_labels(label, payloads):
    """'mm3.nonce', 'mm3.id', ... one per payload; a repeated type gets '.2', '.3'."""
    out, seen = [], {}
    for p in payloads:
        name = PAYLOAD_NAMES.get(p[0], f"p{p[0]}")
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{label}.{name}" + (f".{seen[name]}" if seen[name] > 1 else ""))
    return out


def pke_message(report, label, payloads, keys, to, failed):
    """RFC 2409 5.2: the ID and Nonce bodies are RSA-encrypted (PKCS#1) to the peer `to`;
    every other payload (KE, HASH(1), NAT-D, VID) is in the clear."""
    out = []
    for p, name in zip(payloads, body_labels(label, payloads)):
        body = p[1]
        if p[0] in (ID, NONCE):
            body = rsa_open(report, name, body, keys, to, failed)
        out.append((p[0], body, p[2], p[3]))
    if not any(p[0] == KE for p in payloads):
        raise Malformed(f"{label}: no KE payload")
    return out


def rpke_message(report, label, payloads, keys, to, cky, failed, has_hash_r=False):
    """RFC 2409 5.3: optional HASH(1) (the initiator's message only), then the Nonce
    RSA-encrypted to `to`; every payload after the nonce has its body AES-CBC-encrypted under
    Ke = the first 16 octets of Ne = prf(N_b, CKY) (16 <= 32, so Appendix B's K1 | K2 expansion
    does not arise), the IV 0 for the first and the last ciphertext block of the previous body
    for each later one, and the plaintext padded with 0x00 octets and a final octet counting
    them. With `has_hash_r` (Aggressive Mode 2) the HASH payload is HASH_R, on which 5.3 puts no
    place: in the clear before the nonce, or after it and so encrypted like the rest."""
    problems = report["problems"]
    types = [p[0] for p in payloads]
    need(NONCE in types, f"{label}: no Nonce payload")
    at = types.index(NONCE)
    before = types[:at]
    report.setdefault("rpke_clear_before_nonce", {})[label] = before
    for t in before:
        if t in (KE, ID, CERT, NONCE):
            problems.append(f"{label}: payload {t} in the clear before the encrypted nonce")
    if HASH in before and before.index(HASH) != at - 1 and not has_hash_r:
        problems.append(f"{label}: HASH(1) is not immediately followed by the encrypted nonce")
    if HASH in types[at + 1:] and not has_hash_r:
        problems.append(f"{label}: HASH payload after the nonce (HASH(1) must precede it)")
    names = body_labels(label, payloads)
    out = list(payloads)
    nonce = rsa_open(report, names[at], payloads[at][1], keys, to, failed)
    if nonce is None:
        return out
    out[at] = (NONCE, nonce, payloads[at][2], payloads[at][3])
    ne = prf(nonce, cky)
    ke = ne[:16]
    report.setdefault("rpke_keys", {})[label] = {"ne": ne.hex(), "ke": ke.hex()}
    iv = b"\0" * AES_BLOCK
    for n in range(at + 1, len(payloads)):
        ptype, ct, start, end = payloads[n]
        name = names[n]
        report["rpke_ivs"][name] = iv.hex()
        if not ct or len(ct) % AES_BLOCK:
            report["rpke_padding_ok"][name] = False
            report["rpke_padding"][name] = f"ciphertext of {len(ct)} octets, not whole blocks"
            failed.append(name)
            continue
        pt = Cipher(algorithms.AES(ke), modes.CBC(iv)).decryptor().update(ct)
        iv = ct[-AES_BLOCK:]
        count = pt[-1]  # pad octets before the last one
        pad = pt[-(count + 1):] if count < len(pt) else pt
        ok = count < AES_BLOCK and count < len(pt) and pad[:-1] == b"\0" * count
        report["rpke_padding_ok"][name] = ok
        report["rpke_padding"][name] = pad.hex() if count < len(pt) else (
            f"last octet {count}, not below the {len(pt)} octets decrypted")
        if count >= len(pt):
            failed.append(name)
            continue
        out[n] = (ptype, pt[:-(count + 1)], start, end)
    return out


def rsa_open(report, label, ct, keys, to, failed):
    """A body RSA-encrypted to `to` (RFC 2409 5.2: "encoded in PKCS #1 format", i.e. the
    block type 2 of PKCS #1 v1.5): its plaintext, or None, with pkcs1_ok[label] saying which."""
    body, why = pkcs1_type2(keys[to], ct)
    report["pkcs1_ok"][label] = body is not None
    if body is None:
        other = "i" if to == "r" else "r"
        if pkcs1_type2(keys[other], ct)[0] is not None:
            why += f"; it is a valid type 2 block under pke_keys.{other} (the sender's own key)"
        report.setdefault("pkcs1_errors", {})[label] = why
        failed.append(label)
    return body


def pkcs1_type2(key, ct):
    """RSAES-PKCS1-v1_5 decryption (RFC 8017 7.2.2) done by hand, EM = 00 02 PS 00 M with PS
    at least 8 nonzero octets, and cross-checked with the library (which may be doing implicit
    rejection, returning a pseudo-random message instead of failing)."""
    k = (key.key_size + 7) // 8
    if len(ct) != k:
        return None, f"ciphertext of {len(ct)} octets, modulus of {k}"
    priv = key.private_numbers()
    n, c_int = priv.public_numbers.n, int.from_bytes(ct, "big")
    if c_int >= n:
        return None, "ciphertext not below the modulus"
    em = pow(c_int, priv.d, n).to_bytes(k, "big")
    if em[:2] != b"\0\2":
        return None, f"decrypted block starts {em[:2].hex()}, not 0002 (type 2)"
    sep = em.find(b"\0", 2)
    if sep < 0:
        return None, "no 00 octet after the padding string"
    if sep - 2 < 8:
        return None, f"padding string of {sep - 2} octets, fewer than 8"
    try:
        lib = key.decrypt(ct, padding.PKCS1v15())
    except ValueError:
        lib = None
    if lib != em[sep + 1:]:
        return None, "the library's PKCS1v15 decryption disagrees with the block"
    return em[sep + 1:], ""


def hash1(report, value, certs, c):
    """RFC 2409 5.2: HASH(1) is the negotiated hash (SHA-256, not the prf) of the certificate
    the initiator encrypts to, the responder's, read as its DER encoding. Other inputs are
    tried only to name what a wrong value is."""
    der = {s: certs[s].public_bytes(serialization.Encoding.DER) for s in "ir"}
    report["hash1_ok"] = value == hash_(der["r"])
    if report["hash1_ok"]:
        return
    pub = certs["r"].public_key()
    tries = {
        "sha256 of the initiator's own certificate DER": hash_(der["i"]),
        "sha256 of the responder's SubjectPublicKeyInfo DER": hash_(pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)),
        "sha256 of the responder's PKCS#1 RSAPublicKey DER": hash_(pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1)),
        "sha256 of the responder's tbsCertificate": hash_(certs["r"].tbs_certificate_bytes),
        "sha256 of the responder's PEM text": hash_(c["pke_certs"]["r"].encode()),
        "sha1 of the responder's certificate DER": hashlib.sha1(der["r"]).digest(),
        "hmac-sha256 (prf) keyed with the DER, empty data": prf(der["r"]),
    }
    report["hash1_form"] = next((k for k, v in tries.items() if v == value),
                                f"{len(value)} octets {value.hex()}, none of: {list(tries)}")


def certs_seen(report, side, payloads, certs):
    """CERT payloads of messages 3/4 (5.3 lets the initiator send its own, Ke_i-encrypted):
    listed as in signature exchanges, and whether each is the pke_certs one of its sender."""
    for ptype, body, _, _ in payloads:
        if ptype != CERT:
            continue
        entry = {"encoding": body[0] if body else None}
        if entry["encoding"] == CERT_X509_SIGNATURE:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cert = x509.load_der_x509_certificate(body[1:])
                entry["subject"] = cert.subject.rfc4514_string()
            except Exception as e:
                entry["error"] = f"unusable X.509 certificate: {e!r}"
        entry["is_pke_cert"] = body[1:] == certs[side].public_bytes(serialization.Encoding.DER)
        report["certs"].setdefault(side, []).append(entry)


def key_name(key):
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.name
    return type(key).__name__


def nat_d(report, c, p1, labels, cky_i, cky_r):
    """RFC 3947 3.2: a NAT-D payload is HASH(CKY-I | CKY-R | IP | Port); the first one a message
    carries is for its destination, the others for the addresses its sender may have."""
    for label, payloads in p1.items():
        bodies = [p[1] for p in payloads if p[0] == NAT_D]
        if bodies:
            report["nat_d"][label] = [b.hex() for b in bodies]
    if not c.get("addresses") or not report["nat_d"]:
        return

    def natd(where):
        host, _, port = where.rpartition(":")
        ip = ipaddress.ip_address(host.strip("[]"))
        return hash_(cky_i, cky_r, ip.packed, int(port).to_bytes(2, "big"))

    ok = True
    for label, hexes in report["nat_d"].items():
        bodies = [bytes.fromhex(x) for x in hexes]
        sender = "i" if labels.index(label) % 2 == 0 else "r"  # Phase 1 alternates from i
        dest = c["addresses"]["r" if sender == "i" else "i"]
        ok &= bodies[0] == natd(dest) and natd(c["addresses"][sender]) in bodies[1:]
    report["nat_d_ok"] = ok


def notify_delete(payloads, label):
    """What Notification (RFC 2408 3.14: DOI, protocol, SPI size, type, SPI, data) and Delete
    (3.15: DOI, protocol, SPI size, count, SPIs) payloads say, for the report."""
    out = {}
    for ptype, body, _, _ in payloads:
        if ptype not in (NOTIFY, DELETE):
            continue
        need(len(body) >= 8, f"{label}: short notify/delete", Garbled)
        size, count = body[5], (1 if ptype == NOTIFY else u16(body[6:]))
        spis = body[8:8 + size * count]
        if ptype == NOTIFY:
            out.setdefault("notify", []).append({"protocol": body[4], "type": u16(body[6:]),
                                                 "spi": spis.hex(), "data": body[8 + size:].hex()})
        else:
            out.setdefault("delete", []).append(
                {"protocol": body[4], "spis": [spis[j:j + size].hex() for j in
                                               range(0, len(spis), max(size, 1))]})
    return out


if __name__ == "__main__":
    try:
        main()
    except (Malformed, KeyError, ValueError, TypeError) as e:
        print(f"malformed input: {e!r}", file=sys.stderr)
        sys.exit(2)
