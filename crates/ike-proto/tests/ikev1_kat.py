#!/usr/bin/env python3
"""An independent check of a whole IKEv1 exchange: Main Mode with a pre-shared key, one Quick Mode
and optional Informational exchanges, written from RFC 2408 section 3 (ISAKMP payloads), RFC 2407
section 4 (IPsec DOI), RFC 2409 sections 5, 5.4, 5.5, 5.7 and Appendix B, and RFC 7748 (X25519),
with Python's hmac/hashlib and the `cryptography` package. It shares no code with the engine.

Fixed suite (asserted from the SA payloads): Phase 1 AES-CBC-128, SHA2-256 (PRF HMAC-SHA256),
pre-shared key, group 31 (Curve25519); Quick Mode ESP_AES-128 with HMAC-SHA2-256, PFS optional.

Input (JSON on stdin):
  messages       hex: Main Mode 1..6 then Quick Mode 1..3, each the whole UDP payload
  informational  optional, hex: later Informational exchanges (type 5), encrypted, HASH(1) first
  draws_i/draws_r  the 32-byte draws of each side's RNG; its X25519 private keys are among them
  psk            hex
  installs       [{side: "i"|"r", spi_in, spi_out, enc_in, integ_in, enc_out, integ_out}]
Output: a JSON report on stdout; a mismatch is a false in it. A decrypted message that does not
parse (wrong key or IV) is a mismatch too: "decrypt_ok" false with "decrypt_error", and every check
after it stays false. Exit status 2 only on malformed input (a cleartext parse error, a missing
cleartext payload, no draw matching a KE, a suite other than the one above), reason on stderr.

Conclusions on points the RFC text leaves open:
- Informational IV: RFC 2409 5.7 sends the reader to Appendix B, which derives the first IV of any
  Phase 2 exchange from hash(last Phase 1 CBC output block | M-ID). So every new M-ID starts from
  the last ciphertext block of Main Mode message 6, never from the end of the previous Quick Mode
  or Informational exchange. A second message with an M-ID already seen continues that exchange's
  chain (the last block of its previous message), as within Quick Mode.
- Padding: Appendix B says to pad to the block size (with zero bytes) and that the header length
  includes the pad; nothing carries a pad length. The payload chain says where the payloads end;
  whatever follows is padding and is reported, not judged.
- IDii_b/IDir_b and SAi_b are the payload bodies without the 4-byte generic header, so IDii_b
  starts with the ID type, protocol ID and port of RFC 2407 4.6.2."""
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# RFC 2408 3.1 payload types and exchange types.
SA, PROPOSAL, TRANSFORM, KE, ID, HASH, NONCE, NOTIFY, DELETE = 1, 2, 3, 4, 5, 8, 10, 11, 12
MAIN_MODE, INFORMATIONAL, QUICK_MODE = 2, 5, 32
FLAG_E = 0x01


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


def header(msg, label):
    """The ISAKMP header (RFC 2408 3.1): 28 octets, its length counting the whole message."""
    need(len(msg) >= 28, f"{label}: shorter than the ISAKMP header")
    need(msg[17] == 0x10, f"{label}: version {msg[17]:#x}, not 1.0")
    need(int.from_bytes(msg[24:28], "big") == len(msg), f"{label}: header length != datagram")
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
              "hash_r_ok": False, "qm_hash1_ok": False, "qm_hash2_ok": False,
              "qm_hash3_ok": False, "spis_ok": False, "keymat_ok": False, "installs_checked": 0,
              "informational_hash_ok": [], "informational": [], "decrypted_payloads": {},
              "padding": {}}
    try:
        check(c, report)
    except Garbled as e:  # the checks that depended on this message stay false
        report["decrypt_ok"], report["decrypt_error"] = False, str(e)
    report["headers_ok"] = not report["problems"]
    json.dump(report, sys.stdout)
    print()


def check(c, report):
    msgs = [bytes.fromhex(m) for m in c["messages"]]
    need(len(msgs) == 9, "messages: want Main Mode 1..6 and Quick Mode 1..3")
    labels = ["mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "qm1", "qm2", "qm3"]
    hdrs = [header(m, l) for m, l in zip(msgs, labels)]
    cky_i, cky_r = hdrs[1]["cky_i"], hdrs[1]["cky_r"]
    qm_mid = hdrs[6]["mid"]
    problems = report["problems"]  # header rules of RFC 2408 3.1 / RFC 2409 5 broken
    for i, (h, l) in enumerate(zip(hdrs, labels)):
        want_exch, want_mid = (MAIN_MODE, b"\0" * 4) if i < 6 else (QUICK_MODE, qm_mid)
        if h["exch"] != want_exch or h["mid"] != want_mid:
            problems.append(f"{l}: exchange {h['exch']} M-ID {h['mid'].hex()}")
        if h["cky_i"] != cky_i or h["cky_r"] != (b"\0" * 8 if i == 0 else cky_r):
            problems.append(f"{l}: cookies")
        if bool(h["flags"] & FLAG_E) != (i >= 4):
            problems.append(f"{l}: encryption flag")
    if qm_mid == b"\0" * 4:
        problems.append("qm: M-ID zero")

    # Main Mode 1-4 in the clear (RFC 2409 5, 5.4): SA, then KE and nonce.
    plain = []
    for m, h, l in zip(msgs[:4], hdrs, labels):
        ps, end = chain(h["np"], m[28:], l)
        need(end == len(m) - 28, f"{l}: bytes after the payload chain")
        plain.append(ps)
    sai_b = get(plain[0], SA, "mm1")
    offered, chosen = proposals(sai_b, "mm1"), proposals(get(plain[1], SA, "mm2"), "mm2")
    need(len(chosen) == 1 and len(chosen[0]["transforms"]) == 1, "mm2: not one transform")
    t = chosen[0]["transforms"][0]
    # RFC 2409 Appendix A: 1 encryption (7 AES-CBC), 14 key length, 2 hash (4 SHA2-256),
    # 3 authentication method (1 pre-shared key), 4 group (31 Curve25519); KEY_IKE in PROTO_ISAKMP.
    need(chosen[0]["protocol"] == 1 and t["id"] == 1, "mm2: not PROTO_ISAKMP/KEY_IKE")
    need(all(t["attrs"].get(k) == v for k, v in {1: 7, 14: 128, 2: 4, 3: 1, 4: 31}.items()),
         f"mm2: Phase 1 suite {t['attrs']} is not AES-CBC-128/SHA2-256/PSK/group 31")
    if t["attrs"] not in [x["attrs"] for p in offered for x in p["transforms"]]:
        problems.append("mm2: the chosen transform was not offered in mm1")
    gxi, gxr = get(plain[2], KE, "mm3"), get(plain[3], KE, "mm4")
    ni_b, nr_b = get(plain[2], NONCE, "mm3"), get(plain[3], NONCE, "mm4")
    priv_i = x25519_priv(c["draws_i"], gxi, "mm3")
    priv_r = x25519_priv(c["draws_r"], gxr, "mm4")
    gxy = priv_i.exchange(X25519PublicKey.from_public_bytes(gxr))
    need(gxy == priv_r.exchange(X25519PublicKey.from_public_bytes(gxi)), "g^xy differs")

    # RFC 2409 5: SKEYID for pre-shared keys and its three children.
    skeyid = prf(bytes.fromhex(c["psk"]), ni_b, nr_b)
    skeyid_d = prf(skeyid, gxy, cky_i, cky_r, b"\0")
    skeyid_a = prf(skeyid, skeyid_d, gxy, cky_i, cky_r, b"\1")
    skeyid_e = prf(skeyid, skeyid_a, gxy, cky_i, cky_r, b"\2")
    # Appendix B: the cipher key is the first bits of SKEYID_e when it is long enough (32 >= 16
    # here, so the Ka = K1 | K2 expansion never applies).
    enc_key = skeyid_e[:16]
    report.update({"gxy": gxy.hex(), "skeyid": skeyid.hex(), "skeyid_d": skeyid_d.hex(),
                   "skeyid_a": skeyid_a.hex(), "skeyid_e": skeyid_e.hex(),
                   "enc_key": enc_key.hex()})
    opened = {}

    def open_msg(label, msg, h, iv):
        """Decrypt one message and walk its payloads; the rest of the plaintext is padding."""
        report["ivs"][label] = iv.hex()
        p = cbc_decrypt(enc_key, iv, msg[28:], label)
        try:
            ps, end = chain(h["np"], p, label)
        except Malformed as e:
            raise Garbled(f"{label}: decrypted payload chain: {e}") from None
        report["padding"][label] = {"len": len(p) - end, "hex": p[end:].hex()}
        report["decrypted_payloads"][label] = [x[0] for x in ps]
        opened[label] = (ps, p[:end])

    def after_hash(label):
        """The first payload must be HASH; return its value and every byte after it up to the
        end of the chain, generic headers included and padding excluded (RFC 2409 5.5)."""
        ps, data = opened[label]
        need(ps and ps[0][0] == HASH, f"{label}: first payload is not HASH", Garbled)
        return ps[0][1], data[ps[0][3]:]

    # Appendix B: the first encrypted Phase 1 message takes hash(g^xi | g^xr); each later one the
    # last ciphertext block of the message before it.
    open_msg("mm5", msgs[4], hdrs[4], hash_(gxi, gxr)[:16])
    open_msg("mm6", msgs[5], hdrs[5], msgs[4][-16:])
    p1_last = msgs[5][-16:]  # the last Phase 1 CBC output block, seed of every Phase 2 IV
    # RFC 2409 5.4 / 5: HASH_I and HASH_R over the SA, ID payload bodies without generic header.
    ps5, ps6 = opened["mm5"][0], opened["mm6"][0]
    hash_i = prf(skeyid, gxi, gxr, cky_i, cky_r, sai_b, get(ps5, ID, "mm5", Garbled))
    hash_r = prf(skeyid, gxr, gxi, cky_r, cky_i, sai_b, get(ps6, ID, "mm6", Garbled))
    report["hash_i_ok"] = get(ps5, HASH, "mm5", Garbled) == hash_i
    report["hash_r_ok"] = get(ps6, HASH, "mm6", Garbled) == hash_r

    # Informational exchanges (RFC 2409 5.7): HASH(1) = prf(SKEYID_a, M-ID | N/D ...), each one
    # independent of the others and of Quick Mode, so a garbled one spoils only its own entry.
    chains = {}
    for n, hexmsg in enumerate(c.get("informational", [])):
        msg, label = bytes.fromhex(hexmsg), f"info{n + 1}"
        h = header(msg, label)
        if h["exch"] != INFORMATIONAL or not h["flags"] & FLAG_E or h["mid"] == b"\0" * 4:
            problems.append(
                f"{label}: exchange {h['exch']} flags {h['flags']} M-ID {h['mid'].hex()}")
        if (h["cky_i"], h["cky_r"]) != (cky_i, cky_r):
            problems.append(f"{label}: cookies")
        iv = chains.get(h["mid"]) or hash_(p1_last, h["mid"])[:16]
        chains[h["mid"]] = msg[-16:]
        entry = {"mid": h["mid"].hex(), "hash_ok": False}
        report["informational"].append(entry)
        try:
            open_msg(label, msg, h, iv)
            value, rest = after_hash(label)
            entry["payloads"] = report["decrypted_payloads"][label]
            entry["hash_ok"] = value == prf(skeyid_a, h["mid"], rest)
            entry.update(notify_delete(opened[label][0], label))
        except Garbled as e:
            entry["error"] = str(e)
    report["informational_hash_ok"] = [e["hash_ok"] for e in report["informational"]]

    # Quick Mode (RFC 2409 5.5), its first IV per Appendix B.
    iv = hash_(p1_last, qm_mid)[:16]
    for i in (6, 7, 8):
        open_msg(labels[i], msgs[i], hdrs[i], iv)
        iv = msgs[i][-16:]
    (h1, rest1), (h2, rest2), (h3, _) = (after_hash(l) for l in ("qm1", "qm2", "qm3"))
    q1, q2 = opened["qm1"][0], opened["qm2"][0]
    qni_b, qnr_b = get(q1, NONCE, "qm1", Garbled), get(q2, NONCE, "qm2", Garbled)
    report["qm_hash1_ok"] = h1 == prf(skeyid_a, qm_mid, rest1)
    report["qm_hash2_ok"] = h2 == prf(skeyid_a, qm_mid, qni_b, rest2)
    report["qm_hash3_ok"] = h3 == prf(skeyid_a, b"\0", qm_mid, qni_b, qnr_b)
    qm_offer = proposals(get(q1, SA, "qm1", Garbled), "qm1")
    qm_chosen = proposals(get(q2, SA, "qm2", Garbled), "qm2")
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
    if pfs:
        need(qt["attrs"].get(3) == 31, "qm2: PFS group is not 31")
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

    km = {spi_i: keymat(spi_i), spi_r: keymat(spi_r)}
    report.update({"spi_i": int.from_bytes(spi_i, "big"), "spi_r": int.from_bytes(spi_r, "big"),
                   "keymat": {"i_in": km[spi_i].hex(), "r_in": km[spi_r].hex()}})
    keys_ok, spis_ok = True, True
    for inst in c.get("installs", []):
        sin, sout = inst["spi_in"].to_bytes(4, "big"), inst["spi_out"].to_bytes(4, "big")
        want_in, want_out = (spi_i, spi_r) if inst["side"] == "i" else (spi_r, spi_i)
        if (sin, sout) != (want_in, want_out):
            spis_ok = False
            continue
        kin, kout = km[sin], km[sout]  # 16 octets of AES key, then 32 of HMAC-SHA256 key
        keys_ok &= (inst["enc_in"], inst["integ_in"]) == (kin[:16].hex(), kin[16:].hex())
        keys_ok &= (inst["enc_out"], inst["integ_out"]) == (kout[:16].hex(), kout[16:].hex())
    report.update({"spis_ok": spis_ok, "keymat_ok": keys_ok and spis_ok,
                   "installs_checked": len(c.get("installs", []))})


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
