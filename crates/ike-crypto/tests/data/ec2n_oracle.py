#!/usr/bin/env python3
"""Independent check of the EC2N arithmetic (src/dh/ec2n), run by its unit tests.

Reads lines on stdin, each a claim computed by the Rust code, and recomputes it here with plain
Python integers (bit i of an int = coefficient of u^i) and textbook affine formulas:

  mul G a b r        a * b = r in GF(2^m) of group G (3 or 4)
  sqr G a r          a^2 = r
  inv G a r          a^-1 = r (0 for 0)
  trace G a t        Tr(a) = t
  halftrace G a r    sum of a^(4^i), i = 0..(m-1)/2
  gen G x y          the generator (x, y) is on the curve and x is the RFC's
  smul G k x         x(k * P) = x, P the RFC generator (any y: x(kP) = x(-kP))

Curve parameters are those of RFC 2409 sections 6.3 and 6.4, typed in again here. Prints
"ok N" if every claim holds, else the first failing line and exits 1.
"""
import sys

GROUPS = {
    3: dict(m=155, f=(1 << 155) | (1 << 62) | 1, a=0x0, b=0x07338F, gx=0x7B),
    4: dict(m=185, f=(1 << 185) | (1 << 69) | 1, a=0x0, b=0x1EE9, gx=0x18),
}


def pmod(a, f):
    df = f.bit_length() - 1
    while a and a.bit_length() - 1 >= df:
        a ^= f << (a.bit_length() - 1 - df)
    return a


def clmul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


def mul(a, b, g):
    return pmod(clmul(a, b), g["f"])


def inv(a, g):
    """Extended Euclid over GF(2)[u] (Guide to ECC, Algorithm 2.48)."""
    if a == 0:
        return 0
    u, v, g1, g2 = a, g["f"], 1, 0
    while u != 1:
        j = u.bit_length() - v.bit_length()
        if j < 0:
            u, v, g1, g2, j = v, u, g2, g1, -j
        u ^= v << j
        g1 ^= g2 << j
    return pmod(g1, g["f"])


def trace(a, g):
    t, acc = a, a
    for _ in range(g["m"] - 1):
        t = mul(t, t, g)
        acc ^= t
    return acc


def half_trace(a, g):
    t, acc = a, a
    for _ in range((g["m"] - 1) // 2):
        t = mul(t, t, g)
        t = mul(t, t, g)
        acc ^= t
    return acc


def lift(x, g):
    beta = x ^ g["a"] ^ mul(g["b"], inv(mul(x, x, g), g), g)
    if trace(beta, g) != 0:
        return None
    return mul(x, half_trace(beta, g), g)


def on_curve(x, y, g):
    x2 = mul(x, x, g)
    return mul(y, y, g) ^ mul(x, y, g) == mul(x2, x, g) ^ mul(g["a"], x2, g) ^ g["b"]


def add(p, q, g):
    if p is None:
        return q
    if q is None:
        return p
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        if x1 == 0 or y1 ^ y2 == x1:
            return None
        lam = x1 ^ mul(y1, inv(x1, g), g)
        x3 = mul(lam, lam, g) ^ lam ^ g["a"]
        return (x3, mul(x1, x1, g) ^ mul(lam ^ 1, x3, g))
    lam = mul(y1 ^ y2, inv(x1 ^ x2, g), g)
    x3 = mul(lam, lam, g) ^ lam ^ x1 ^ x2 ^ g["a"]
    return (x3, mul(lam, x1 ^ x3, g) ^ x3 ^ y1)


def smul(k, p, g):
    r = None
    for bit in bin(k)[2:]:
        r = add(r, r, g)
        if bit == "1":
            r = add(r, p, g)
    return r


def main():
    n = 0
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        op, g = parts[0], GROUPS[int(parts[1])]
        v = [int(x, 16) for x in parts[2:]]
        if op == "mul":
            good = mul(v[0], v[1], g) == v[2]
        elif op == "sqr":
            good = mul(v[0], v[0], g) == v[1]
        elif op == "inv":
            good = inv(v[0], g) == v[1] and (v[0] == 0 or mul(v[0], v[1], g) == 1)
        elif op == "trace":
            good = trace(v[0], g) == v[1]
        elif op == "halftrace":
            good = half_trace(v[0], g) == v[1]
        elif op == "gen":
            good = v[0] == g["gx"] and on_curve(v[0], v[1], g)
        elif op == "smul":
            gy = lift(g["gx"], g)
            r = smul(v[0], (g["gx"], gy), g)
            good = r is not None and r[0] == v[1]
        else:
            good = False
        if not good:
            print("MISMATCH:", line.strip())
            return 1
        n += 1
    print("ok", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
