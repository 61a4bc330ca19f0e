#!/usr/bin/env python3
"""An independent check of additional key exchanges after CREATE_CHILD_SA (IKE_FOLLOWUP_KE, RFC
9370 section 2.2.4), written from RFC 7296 (sections 1.3, 2.13-2.18, 3), RFC 9370 and RFC 5282 with
hmac and the `cryptography` package; ML-KEM decapsulation (FIPS 203) and the payload walker come
from ikev2_intermediate_kat.py beside this file.

The exchanges: an IKE SA (X25519, AES-GCM-256, PRF-HMAC-SHA384) set up with IKE_SA_INIT and
IKE_AUTH; a new Child SA by CREATE_CHILD_SA with X25519 and one IKE_FOLLOWUP_KE with ML-KEM-768;
an IKE SA rekey the same way; then a liveness check on the new IKE SA. Checked: the link data goes
from the CREATE_CHILD_SA response to the follow-up request and the last response has none; the
Child SA's KEYMAT is prf+(SK_d, SK(0) | Ni | Nr | SK(1)) and matches the keys the engine installed
(and the other order does not); the rekeyed IKE SA's SKEYSEED is prf(SK_d, SK(0) | Ni | Nr | SK(1))
and its keys decrypt the liveness exchange.

Input (JSON on stdin): the datagrams in order as hex, the 32-byte random draws of each side, the
initiator's ML-KEM-768 decapsulation keys (Child SA, then IKE rekey), and the Child SA keys the
initiator installed. Output: a JSON report of every check."""
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ikev2_intermediate_kat import decaps, payloads, x25519_pub  # noqa: E402

ADDITIONAL_KEY_EXCHANGE = 16441
PLEN = 48  # HMAC-SHA384
EKL = 36  # AES-256-GCM key and salt


def prf(key, data):
    return hmac.new(key, data, hashlib.sha384).digest()


def prf_plus(key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


def ike_keys(skeyseed, ni, nr, spi_i, spi_r):
    km = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 3 * PLEN + 2 * EKL)
    return {
        "d": km[:PLEN], "ei": km[PLEN:PLEN + EKL], "er": km[PLEN + EKL:PLEN + 2 * EKL],
    }


def unpad(plain):
    return plain[: len(plain) - 1 - plain[-1]]


def open_sk(datagrams, sk_e):
    """The inner payloads of an encrypted message, whole or in RFC 7383 fragments."""
    aead = AESGCM(sk_e[:-4])
    msg = datagrams[0]
    if len(datagrams) == 1 and msg[16] == 46:
        first, length = msg[28], int.from_bytes(msg[30:32], "big")
        body = msg[32:28 + length]
        inner = unpad(aead.decrypt(sk_e[-4:] + body[:8], body[8:], msg[:32]))
    else:
        first, inner = msg[28], b""
        for f in datagrams:
            body = f[36:]
            inner += unpad(aead.decrypt(sk_e[-4:] + body[:8], body[8:], f[:36]))
    return payloads(first, inner)


def one(ps, t):
    found = [b for pt, b in ps if pt == t]
    assert len(found) == 1, (t, len(found))
    return found[0]


def links(ps):
    """The data of the ADDITIONAL_KEY_EXCHANGE notifies (no SPI)."""
    return [b[4:] for t, b in ps if t == 41 and int.from_bytes(b[2:4], "big") == ADDITIONAL_KEY_EXCHANGE]


def main():
    c = json.load(sys.stdin)
    msgs, frags = [], []
    for d in (bytes.fromhex(x) for x in c["messages"]):
        if d[16] != 53:
            msgs.append([d])
            continue
        frags.append(d)
        num, total = int.from_bytes(d[32:34], "big"), int.from_bytes(d[34:36], "big")
        if num == total:
            msgs.append(frags)
            frags = []
    assert not frags
    hdr = lambda m: (m[0][18], int.from_bytes(m[0][20:24], "big"), bool(m[0][19] & 0x20))
    report = {"exchanges": [list(hdr(m)) for m in msgs]}

    # IKE_SA_INIT.
    m1, m2 = msgs[0][0], msgs[1][0]
    spi_i, spi_r = m2[0:8], m2[8:16]
    p1, p2 = dict(payloads(m1[16], m1[28:])), dict(payloads(m2[16], m2[28:]))
    ni, nr = p1[40], p2[40]
    draws_i = [bytes.fromhex(d) for d in c["draws_i"]]

    def x25519_secret(ke_i, ke_r):
        priv = next(d for d in draws_i if x25519_pub(d) == ke_i)
        return X25519PrivateKey.from_private_bytes(priv).exchange(
            X25519PublicKey.from_public_bytes(ke_r))

    g_ir = x25519_secret(p1[34][4:], p2[34][4:])
    k = ike_keys(prf(ni + nr, g_ir), ni, nr, spi_i, spi_r)

    def exchange(mid, exch, keys, spis):
        req = next(m for m in msgs if hdr(m) == (exch, mid, False) and m[0][:16] == spis)
        resp = next(m for m in msgs if hdr(m) == (exch, mid, True) and m[0][:16] == spis)
        return open_sk(req, keys["ei"]), open_sk(resp, keys["er"])

    def ccsa_and_followup(mid, dk):
        """A CREATE_CHILD_SA exchange and its one IKE_FOLLOWUP_KE: nonces, SK(0), SK(1), the
        SA payloads and what the link checks found."""
        req, resp = exchange(mid, 36, k, spi_i + spi_r)
        freq, fresp = exchange(mid + 1, 44, k, spi_i + spi_r)
        cni, cnr = one(req, 40), one(resp, 40)
        sk0 = x25519_secret(one(req, 34)[4:], one(resp, 34)[4:])
        ke_i, ke_r = one(freq, 34), one(fresp, 34)
        group = int.from_bytes(ke_i[:2], "big")
        sk1, reencrypts = decaps(group, dk, ke_r[4:])
        checks = {
            "group": group,
            "reencrypts": reencrypts,
            "link_echoed": len(links(resp)) == 1 and links(resp) == links(freq),
            "last_without_link": links(fresp) == [],
        }
        return cni, cnr, sk0, sk1, one(req, 33), one(resp, 33), checks

    dks = [bytes.fromhex(x) for x in c["dks"]]

    # The new Child SA (message IDs 2 and 3).
    cni, cnr, sk0, sk1, _, _, checks = ccsa_and_followup(2, dks[0])
    report["child"] = checks
    keymat = prf_plus(k["d"], sk0 + cni + cnr + sk1, 2 * EKL)
    report["child_i_to_r_ok"] = keymat[:EKL].hex() == c["child_i_to_r"]
    report["child_r_to_i_ok"] = keymat[EKL:].hex() == c["child_r_to_i"]
    wrong = prf_plus(k["d"], sk0 + sk1 + cni + cnr, 2 * EKL)
    report["other_order_matches"] = wrong[:EKL].hex() == c["child_i_to_r"]

    # The IKE SA rekey (message IDs 4 and 5): the SPIs are in the SA payloads' proposals.
    rni, rnr, sk0, sk1, sa_i, sa_r, checks = ccsa_and_followup(4, dks[1])
    report["rekey"] = checks
    spi = lambda sa: sa[8:8 + sa[6]]  # the first proposal's SPI
    new_i, new_r = spi(sa_i), spi(sa_r)
    skeyseed = prf(k["d"], sk0 + rni + rnr + sk1)
    nk = ike_keys(skeyseed, rni, rnr, new_i, new_r)
    try:
        req, resp = exchange(0, 37, nk, new_i + new_r)
        report["new_sa_decrypts"] = req == [] and resp == []
    except Exception as e:  # a wrong key schedule fails here, in AES-GCM
        report["new_sa_decrypts"] = False
        report["error"] = repr(e)
    json.dump(report, sys.stdout)


main()
