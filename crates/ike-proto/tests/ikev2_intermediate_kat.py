#!/usr/bin/env python3
"""An independent check of IKEv2 with additional key exchanges: IKE_SA_INIT (X25519), one
IKE_INTERMEDIATE exchange per ML-KEM additional key exchange, then IKE_AUTH (PSK) with IntAuth,
written from RFC 7296 (sections 2.13-2.17, 3), RFC 9370 (section 2.2.2), RFC 9242 (section 3.3.2),
RFC 5282 and FIPS 203 with hashlib, hmac and the `cryptography` package. The ML-KEM arithmetic
(key expansion) comes from ike-crypto's tests/data/mlkem_keygen.py; decapsulation, with its
re-encryption check, is written here from FIPS 203 Algorithms 14, 15 and 18.

Messages sent in fragments (RFC 7383) are reassembled: each fragment is decrypted on its own and
IntAuth is computed over the message as if it had not been fragmented (RFC 9242 section 3.3.2).

Input (JSON on stdin): the datagrams in order as hex, the 32-byte random draws of each side (one of
which is its X25519 private key), the initiator's ML-KEM decapsulation keys in exchange order, the
PSK, the PRF ("sha256" or "sha384"), the AES-GCM key length, and the Child SA keys our engine
installed. Output: a JSON report of every check."""
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "ike-crypto", "tests", "data"))
from mlkem_keygen import N, Q, ZETAS, multiply_ntts, ntt, sample_cbd, sample_ntt  # noqa: E402

# --- ML-KEM (FIPS 203) -------------------------------------------------------------------------

PARAMS = {35: (2, 3, 10, 4), 36: (3, 2, 10, 4), 37: (4, 2, 11, 5)}  # group: k, eta1, du, dv


def inv_ntt(f):
    """Algorithm 10."""
    f = list(f)
    i, length = 127, 2
    while length <= 128:
        for start in range(0, N, 2 * length):
            zeta = ZETAS[i]
            i -= 1
            for j in range(start, start + length):
                t = f[j]
                f[j] = (t + f[j + length]) % Q
                f[j + length] = zeta * (f[j + length] - t) % Q
        length *= 2
    return [x * 3303 % Q for x in f]


def byte_encode(f, d):
    """Algorithm 5."""
    bits = []
    for a in f:
        bits.extend((a >> j) & 1 for j in range(d))
    return bytes(sum(bits[8 * i + j] << j for j in range(8)) for i in range(len(bits) // 8))


def byte_decode(b, d):
    """Algorithm 6."""
    bits = [(b[i // 8] >> (i % 8)) & 1 for i in range(8 * len(b))]
    m = Q if d == 12 else 1 << d
    return [sum(bits[i * d + j] << j for j in range(d)) % m for i in range(N)]


def compress(x, d):
    return ((x << d) + Q // 2) // Q % (1 << d)


def decompress(y, d):
    return (y * Q + (1 << (d - 1))) >> d


def add(f, g):
    return [(a + b) % Q for a, b in zip(f, g)]


def pke_encrypt(group, ek, m, r):
    """Algorithm 14."""
    k, eta1, du, dv = PARAMS[group]
    t_hat = [byte_decode(ek[384 * i:384 * (i + 1)], 12) for i in range(k)]
    rho = ek[384 * k:]
    a_hat = [[sample_ntt(rho + bytes([j, i])) for j in range(k)] for i in range(k)]
    prf = lambda eta, n: hashlib.shake_256(r + bytes([n])).digest(64 * eta)
    y = [sample_cbd(prf(eta1, i), eta1) for i in range(k)]
    e1 = [sample_cbd(prf(2, k + i), 2) for i in range(k)]
    e2 = sample_cbd(prf(2, 2 * k), 2)
    y_hat = [ntt(p) for p in y]
    u = []
    for i in range(k):
        acc = [0] * N
        for j in range(k):
            acc = add(acc, multiply_ntts(a_hat[j][i], y_hat[j]))
        u.append(add(inv_ntt(acc), e1[i]))
    mu = [decompress(x, 1) for x in byte_decode(m, 1)]
    acc = [0] * N
    for i in range(k):
        acc = add(acc, multiply_ntts(t_hat[i], y_hat[i]))
    v = add(add(inv_ntt(acc), e2), mu)
    c1 = b"".join(byte_encode([compress(x, du) for x in p], du) for p in u)
    return c1 + byte_encode([compress(x, dv) for x in v], dv)


def pke_decrypt(group, dk_pke, c):
    """Algorithm 15."""
    k, _, du, dv = PARAMS[group]
    u = [[decompress(x, du) for x in byte_decode(c[32 * du * i:32 * du * (i + 1)], du)]
         for i in range(k)]
    v = [decompress(x, dv) for x in byte_decode(c[32 * du * k:], dv)]
    s_hat = [byte_decode(dk_pke[384 * i:384 * (i + 1)], 12) for i in range(k)]
    acc = [0] * N
    for i in range(k):
        acc = add(acc, multiply_ntts(s_hat[i], ntt(u[i])))
    w = [(a - b) % Q for a, b in zip(v, inv_ntt(acc))]
    return byte_encode([compress(x, 1) for x in w], 1)


def decaps(group, dk, c):
    """Algorithm 18: the shared key, and whether the ciphertext re-encrypted to itself."""
    k = PARAMS[group][0]
    dk_pke, ek = dk[:384 * k], dk[384 * k:768 * k + 32]
    h, z = dk[768 * k + 32:768 * k + 64], dk[768 * k + 64:]
    m = pke_decrypt(group, dk_pke, c)
    g = hashlib.sha3_512(m + h).digest()
    key, r = g[:32], g[32:]
    if pke_encrypt(group, ek, m, r) != c:
        return hashlib.shake_256(z + c).digest(32), False
    return key, True


# --- IKEv2 -------------------------------------------------------------------------------------


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
    hash_fn = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}[c["prf"]]
    plen = hash_fn().digest_size
    ekl = c["aes_key_len"] + 4  # key and salt (RFC 5282)

    def prf(key, data):
        return hmac.new(key, data, hash_fn).digest()

    def prf_plus(key, seed, n):
        out, t, i = b"", b"", 1
        while len(out) < n:
            t = prf(key, t + seed + bytes([i]))
            out += t
            i += 1
        return out[:n]

    # Group the datagrams into messages: a run of Encrypted Fragment payloads is one message.
    msgs, frags = [], []
    for d in (bytes.fromhex(x) for x in c["messages"]):
        if d[16] != 53:
            msgs.append([d])
            continue
        frags.append(d)
        num, total = int.from_bytes(d[32:34], "big"), int.from_bytes(d[34:36], "big")
        if num == total:
            assert [int.from_bytes(f[32:34], "big") for f in frags] == list(range(1, total + 1))
            msgs.append(frags)
            frags = []
    assert not frags
    report = {
        "exchanges": [[m[0][18], int.from_bytes(m[0][20:24], "big"), bool(m[0][19] & 0x20)]
                      for m in msgs],
        "fragments": [len(m) for m in msgs],
    }
    m1, m2 = msgs[0][0], msgs[1][0]
    spi_i, spi_r = m2[0:8], m2[8:16]
    p1, p2 = payloads(m1[16], m1[28:]), payloads(m2[16], m2[28:])
    d1, d2 = dict(p1), dict(p2)
    ni, nr = d1[40], d2[40]
    ies = lambda ps: any(t == 41 and int.from_bytes(b[2:4], "big") == 16438 for t, b in ps)
    report["ies_i"], report["ies_r"] = ies(p1), ies(p2)
    ke_i, ke_r = d1[34][4:], d2[34][4:]
    priv_i = next(bytes.fromhex(d) for d in c["draws_i"] if x25519_pub(bytes.fromhex(d)) == ke_i)
    priv_r = next(bytes.fromhex(d) for d in c["draws_r"] if x25519_pub(bytes.fromhex(d)) == ke_r)
    g_ir = X25519PrivateKey.from_private_bytes(priv_i).exchange(X25519PublicKey.from_public_bytes(ke_r))
    assert g_ir == X25519PrivateKey.from_private_bytes(priv_r).exchange(X25519PublicKey.from_public_bytes(ke_i))

    def keys(skeyseed):
        # AES-GCM: no SK_a. SK_d, SK_p have the PRF's output length.
        km = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 3 * plen + 2 * ekl)
        return {
            "d": km[:plen], "ei": km[plen:plen + ekl], "er": km[plen + ekl:plen + 2 * ekl],
            "pi": km[plen + 2 * ekl:2 * plen + 2 * ekl], "pr": km[2 * plen + 2 * ekl:],
        }

    def unpad(plain):
        return plain[: len(plain) - 1 - plain[-1]]

    def open_sk(datagrams, sk_e):
        """Decrypt a message, the SK payload its only payload or sent in SKF fragments:
        (IntAuth_A | IntAuth_P, inner payloads)."""
        aead = AESGCM(sk_e[:-4])
        msg = datagrams[0]
        if len(datagrams) == 1 and msg[16] == 46:
            first, length = msg[28], int.from_bytes(msg[30:32], "big")
            body = msg[32:28 + length]
            inner = unpad(aead.decrypt(sk_e[-4:] + body[:8], body[8:], msg[:32]))
            a = bytearray(msg[:32])
        else:
            # RFC 7383 section 2.5: each fragment's AAD is its header and the SKF header.
            first, inner = msg[28], b""
            for f in datagrams:
                body = f[36:]
                inner += unpad(aead.decrypt(sk_e[-4:] + body[:8], body[8:], f[:36]))
            # As if not fragmented: an SK payload follows the header.
            a = bytearray(msg[:28] + bytes([first, 0, 0, 0]))
            a[16] = 46
        a[24:28] = (32 + len(inner)).to_bytes(4, "big")
        a[30:32] = (4 + len(inner)).to_bytes(2, "big")
        return bytes(a) + inner, dict(payloads(first, inner))

    k = keys(prf(ni + nr, g_ir))
    int_i, int_r = b"", b""
    rounds = []
    for n, dk_hex in enumerate(c["dks"]):
        dk = bytes.fromhex(dk_hex)
        req, resp = msgs[2 + 2 * n], msgs[3 + 2 * n]
        ap_i, inner_i = open_sk(req, k["ei"])
        ap_r, inner_r = open_sk(resp, k["er"])
        group = int.from_bytes(inner_i[34][:2], "big")
        kk = PARAMS[group][0]
        ek, ct = inner_i[34][4:], inner_r[34][4:]
        ok_group = int.from_bytes(inner_r[34][:2], "big") == group
        ss, reencrypted = decaps(group, dk, ct)
        rounds.append({
            "group": group, "ek_matches_dk": ek == dk[384 * kk:768 * kk + 32],
            "same_group": ok_group, "reencrypts": reencrypted,
        })
        int_i = prf(k["pi"], int_i + ap_i)
        int_r = prf(k["pr"], int_r + ap_r)
        k = keys(prf(k["d"], ss + ni + nr))
    report["rounds"] = rounds

    m_ai, m_ar = msgs[2 + 2 * len(c["dks"])], msgs[3 + 2 * len(c["dks"])]
    auth_mid = m_ai[0][20:24]
    int_auth = int_i + int_r + auth_mid
    try:
        _, a3 = open_sk(m_ai, k["ei"])
        _, a4 = open_sk(m_ar, k["er"])
    except Exception as e:  # a wrong key schedule fails here, in AES-GCM
        report["ike_auth_decrypts"] = False
        report["error"] = repr(e)
        json.dump(report, sys.stdout)
        return
    report["ike_auth_decrypts"] = True
    pad_key = prf(c["psk"].encode(), b"Key Pad for IKEv2")
    auth_i = prf(pad_key, m1 + nr + prf(k["pi"], a3[35]) + int_auth)
    auth_r = prf(pad_key, m2 + ni + prf(k["pr"], a4[36]) + int_auth)
    report["auth_i_ok"] = a3[39][4:] == auth_i and a3[39][0] == 2
    report["auth_r_ok"] = a4[39][4:] == auth_r and a4[39][0] == 2
    # The same AUTH without IntAuth must not verify (the check above is not vacuous).
    report["auth_i_without_intauth"] = a3[39][4:] == prf(pad_key, m1 + nr + prf(k["pi"], a3[35]))
    report["idi"] = a3[35][4:].decode()
    report["idr"] = a4[36][4:].decode()
    keymat = prf_plus(k["d"], ni + nr, 2 * ekl)
    report["child_i_to_r_ok"] = keymat[:ekl].hex() == c["child_i_to_r"]
    report["child_r_to_i_ok"] = keymat[ekl:].hex() == c["child_r_to_i"]
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
