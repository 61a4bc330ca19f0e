#!/usr/bin/env python3
"""ML-KEM key generation from a seed (FIPS 203, Algorithms 13 and 16), for the tests in dh.rs.

Wycheproof's ML-KEM decapsulation vectors give the private key as the 64-octet seed d || z, but
aws-lc-rs imports only the expanded decapsulation key dk = dk_PKE || ek || H(ek) || z. This script
expands seeds with nothing but hashlib (SHA3-256, SHA3-512, SHAKE128, SHAKE256).

Input: one line per key, "<k> <seed hex>" (k = 2, 3 or 4 for ML-KEM-512/768/1024).
Output: one line per key, "<dk hex> <ek hex>".
"""
import hashlib
import sys

Q = 3329
N = 256


def bitrev7(i):
    return int(f"{i:07b}"[::-1], 2)


ZETAS = [pow(17, bitrev7(i), Q) for i in range(128)]
GAMMAS = [pow(17, 2 * bitrev7(i) + 1, Q) for i in range(128)]


def sample_ntt(seed):
    """Algorithm 7: rejection sampling from SHAKE128(rho || j || i)."""
    stream = hashlib.shake_128(seed).digest(3 * 1024)
    a, pos = [], 0
    while len(a) < N:
        if pos + 3 > len(stream):
            stream = hashlib.shake_128(seed).digest(2 * len(stream))
        c0, c1, c2 = stream[pos], stream[pos + 1], stream[pos + 2]
        pos += 3
        d1 = c0 + 256 * (c1 % 16)
        d2 = c1 // 16 + 16 * c2
        if d1 < Q:
            a.append(d1)
        if d2 < Q and len(a) < N:
            a.append(d2)
    return a


def sample_cbd(b, eta):
    """Algorithm 8."""
    bits = [(b[i // 8] >> (i % 8)) & 1 for i in range(8 * len(b))]
    f = []
    for i in range(N):
        x = sum(bits[2 * i * eta + j] for j in range(eta))
        y = sum(bits[2 * i * eta + eta + j] for j in range(eta))
        f.append((x - y) % Q)
    return f


def ntt(f):
    """Algorithm 9."""
    f = list(f)
    i, length = 1, 128
    while length >= 2:
        for start in range(0, N, 2 * length):
            zeta = ZETAS[i]
            i += 1
            for j in range(start, start + length):
                t = zeta * f[j + length] % Q
                f[j + length] = (f[j] - t) % Q
                f[j] = (f[j] + t) % Q
        length //= 2
    return f


def multiply_ntts(f, g):
    """Algorithms 11 and 12."""
    h = [0] * N
    for i in range(128):
        a0, a1, b0, b1 = f[2 * i], f[2 * i + 1], g[2 * i], g[2 * i + 1]
        h[2 * i] = (a0 * b0 + a1 * b1 * GAMMAS[i]) % Q
        h[2 * i + 1] = (a0 * b1 + a1 * b0) % Q
    return h


def byte_encode12(f):
    """Algorithm 5 with d = 12."""
    bits = []
    for a in f:
        bits.extend((a >> j) & 1 for j in range(12))
    return bytes(sum(bits[8 * i + j] << j for j in range(8)) for i in range(len(bits) // 8))


def keygen(k, seed):
    """Algorithms 16 and 13: ML-KEM.KeyGen_internal(d, z)."""
    eta1 = 3 if k == 2 else 2
    d, z = seed[:32], seed[32:]
    g = hashlib.sha3_512(d + bytes([k])).digest()
    rho, sigma = g[:32], g[32:]
    a_hat = [[sample_ntt(rho + bytes([j, i])) for j in range(k)] for i in range(k)]
    prf = lambda n: hashlib.shake_256(sigma + bytes([n])).digest(64 * eta1)
    s = [sample_cbd(prf(i), eta1) for i in range(k)]
    e = [sample_cbd(prf(k + i), eta1) for i in range(k)]
    s_hat = [ntt(p) for p in s]
    e_hat = [ntt(p) for p in e]
    t_hat = []
    for i in range(k):
        acc = list(e_hat[i])
        for j in range(k):
            prod = multiply_ntts(a_hat[i][j], s_hat[j])
            acc = [(x + y) % Q for x, y in zip(acc, prod)]
        t_hat.append(acc)
    ek = b"".join(byte_encode12(p) for p in t_hat) + rho
    dk_pke = b"".join(byte_encode12(p) for p in s_hat)
    dk = dk_pke + ek + hashlib.sha3_256(ek).digest() + z
    return dk, ek


def main():
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2:
            continue
        dk, ek = keygen(int(parts[0]), bytes.fromhex(parts[1]))
        print(dk.hex(), ek.hex())


if __name__ == "__main__":
    main()
