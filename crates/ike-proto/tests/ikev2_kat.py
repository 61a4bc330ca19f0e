#!/usr/bin/env python3
"""An independent check of a whole IKEv2 exchange (IKE_SA_INIT + IKE_AUTH, PSK, X25519,
AES-128-GCM-16, PRF-HMAC-SHA256), written from RFC 7296 sections 2.13-2.17 and 3, RFC 5282 and
RFC 7748 with Python's hmac and the `cryptography` package.

Input (JSON on stdin): the four messages as hex, the 32-byte random draws of each side (one of
which is its X25519 private key), the PSK, and the Child SA keys our engine installed. It finds
each side's private key by matching its public value in the KE payload, derives every key,
decrypts both IKE_AUTH messages, checks both AUTH payloads and the Child SA keys, and prints a
JSON report. With "ccsa_i_to_r"/"ccsa_r_to_i" it also decrypts messages 5 and 6, a
CREATE_CHILD_SA exchange, and checks the keys of the Child SA it created."""
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization


def prf(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def prf_plus(key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


def payloads(first, data):
    """Walk a payload chain: list of (type, body)."""
    out, nxt, off = [], first, 0
    while nxt != 0:
        np, length = data[off], int.from_bytes(data[off + 2:off + 4], "big")
        out.append((nxt, data[off + 4:off + length]))
        if nxt == 46:  # SK: its next-payload names the first inner payload
            break
        nxt, off = np, off + length
    return out


def x25519_pub(priv):
    k = X25519PrivateKey.from_private_bytes(priv)
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def main():
    c = json.load(sys.stdin)
    m1, m2, m3, m4 = (bytes.fromhex(x) for x in c["messages"][:4])
    spi_i, spi_r = m2[0:8], m2[8:16]
    p1, p2 = dict(payloads(m1[16], m1[28:])), dict(payloads(m2[16], m2[28:]))
    ni, nr = p1[40], p2[40]
    ke_i, ke_r = p1[34][4:], p2[34][4:]
    assert int.from_bytes(p1[34][:2], "big") == 31 and int.from_bytes(p2[34][:2], "big") == 31
    priv_i = next(bytes.fromhex(d) for d in c["draws_i"] if x25519_pub(bytes.fromhex(d)) == ke_i)
    priv_r = next(bytes.fromhex(d) for d in c["draws_r"] if x25519_pub(bytes.fromhex(d)) == ke_r)
    g_ir = X25519PrivateKey.from_private_bytes(priv_i).exchange(X25519PublicKey.from_public_bytes(ke_r))
    assert g_ir == X25519PrivateKey.from_private_bytes(priv_r).exchange(X25519PublicKey.from_public_bytes(ke_i))
    skeyseed = prf(ni + nr, g_ir)
    # aes128gcm16: no SK_a; SK_e = 16-byte key + 4-byte salt; SK_d/SK_p = 32 bytes.
    km = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 32 + 0 + 0 + 20 + 20 + 32 + 32)
    sk_d, sk_ei, sk_er, sk_pi, sk_pr = km[0:32], km[32:52], km[52:72], km[72:104], km[104:136]

    def open_sk(msg, sk_e=None):
        if sk_e is None:  # the sender's key: SK_ei from the original initiator (flag I)
            sk_e = sk_ei if msg[19] & 0x08 else sk_er
        first, length = msg[28], int.from_bytes(msg[30:32], "big")
        body = msg[32:28 + length]
        iv, ct = body[:8], body[8:]
        plain = AESGCM(sk_e[:16]).decrypt(sk_e[16:] + iv, ct, msg[:32])
        pad = plain[-1]
        return dict(payloads(first, plain[: len(plain) - 1 - pad]))

    a3, a4 = open_sk(m3, sk_ei), open_sk(m4, sk_er)
    pad_key = prf(c["psk"].encode(), b"Key Pad for IKEv2")
    auth_i = prf(pad_key, m1 + nr + prf(sk_pi, a3[35]))
    auth_r = prf(pad_key, m2 + ni + prf(sk_pr, a4[36]))
    report = {
        "auth_i_ok": a3[39][4:] == auth_i and a3[39][0] == 2,
        "auth_r_ok": a4[39][4:] == auth_r and a4[39][0] == 2,
        "idi": a3[35][4:].decode(),
        "idr": a4[36][4:].decode(),
    }
    # The child's keys per direction: aes128gcm16 (ESP) takes a 20-byte encryption key (key and
    # salt); an AH child ("child_key_len" 32 for sha256) only an integrity key (RFC 7296 §2.17).
    n = c.get("child_key_len", 20)
    keymat = prf_plus(sk_d, ni + nr, 2 * n)
    report["child_i_to_r_ok"] = keymat[:n].hex() == c["child_i_to_r"]
    report["child_r_to_i_ok"] = keymat[n : 2 * n].hex() == c["child_r_to_i"]
    # The first proposal of the child's SA payload in IKE_AUTH: protocol ID, SPI size and the
    # transform types (RFC 7296 §3.3.1).
    sa = a3[33]
    proposal_len = int.from_bytes(sa[2:4], "big")
    protocol, spi_size, count = sa[5], sa[6], sa[7]
    at, types = 8 + spi_size, []
    for _ in range(count):
        types.append(sa[at + 4])
        at += int.from_bytes(sa[at + 2 : at + 4], "big")
    assert at == proposal_len
    report["child_proposal"] = {"protocol": protocol, "spi_size": spi_size, "transform_types": types}
    # Optionally a CREATE_CHILD_SA exchange (messages 5 and 6, without PFS) and the keys each end
    # installed: KEYMAT = prf+(SK_d, Ni | Nr) with the nonces of that exchange, and "initiator"
    # is the initiator of that exchange, whichever end began the IKE SA (RFC 7296 §2.17).
    if "ccsa_i_to_r" in c:
        m5, m6 = (bytes.fromhex(x) for x in c["messages"][4:6])
        a5, a6 = open_sk(m5), open_sk(m6)
        keymat = prf_plus(sk_d, a5[40] + a6[40], 2 * 20)
        report["ccsa_i_to_r_ok"] = keymat[:20].hex() == c["ccsa_i_to_r"]
        report["ccsa_r_to_i_ok"] = keymat[20:40].hex() == c["ccsa_r_to_i"]
    json.dump(report, sys.stdout)


main()
