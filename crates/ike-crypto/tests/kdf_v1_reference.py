#!/usr/bin/env python3
"""An independent computation of the IKEv1 key schedule (RFC 2409 section 5 and Appendix B),
written from the RFC text with Python's hmac and hashlib, for tests/kdf_v1.rs to compare against.

Reads a JSON list of cases on stdin (hex strings), prints a JSON list of results."""
import hashlib
import hmac
import json
import sys


def prf(h, key, *parts):
    return hmac.new(key, b"".join(parts), h).digest()


def main():
    out = []
    for c in json.load(sys.stdin):
        x = {k: bytes.fromhex(v) if isinstance(v, str) and k != "hash" else v for k, v in c.items()}
        h = c["hash"]
        ni, nr, gxy, cki, ckr = x["ni"], x["nr"], x["gxy"], x["cky_i"], x["cky_r"]
        r = {}
        r["skeyid_sig"] = prf(h, ni + nr, gxy)
        r["skeyid_pke"] = prf(h, hashlib.new(h, ni + nr).digest(), cki, ckr)
        r["skeyid_psk"] = prf(h, x["psk"], ni, nr)
        for method in ("sig", "pke", "psk"):
            skeyid = r["skeyid_" + method]
            d = prf(h, skeyid, gxy, cki, ckr, b"\x00")
            a = prf(h, skeyid, d, gxy, cki, ckr, b"\x01")
            e = prf(h, skeyid, a, gxy, cki, ckr, b"\x02")
            r[method + "_d"], r[method + "_a"], r[method + "_e"] = d, a, e
        skeyid, d, a, e = r["skeyid_psk"], r["psk_d"], r["psk_a"], r["psk_e"]
        # Appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)
        klen = c["key_len"]
        if len(e) >= klen:
            r["enc_key"] = e[:klen]
        else:
            ka, k = b"", prf(h, e, b"\x00")
            ka += k
            while len(ka) < klen:
                k = prf(h, e, k)
                ka += k
            r["enc_key"] = ka[:klen]
        r["iv1"] = hashlib.new(h, x["gxi"] + x["gxr"]).digest()[:16]
        mid = c["message_id"].to_bytes(4, "big")
        r["iv2"] = hashlib.new(h, x["last_block"] + mid).digest()[:16]
        r["hash_i"] = prf(h, skeyid, x["gxi"], x["gxr"], cki, ckr, x["sai"], x["idi"])
        r["hash_r"] = prf(h, skeyid, x["gxr"], x["gxi"], ckr, cki, x["sai"], x["idr"])
        r["qm1"] = prf(h, a, mid, x["rest"])
        r["qm2"] = prf(h, a, mid, ni, x["rest"])
        r["qm3"] = prf(h, a, b"\x00", mid, ni, nr)
        for pfs in (False, True):
            g = x["gxy_qm"] if pfs else b""
            seed = g + bytes([c["protocol"]]) + x["spi"] + ni + nr
            km, k = b"", prf(h, d, seed)
            km += k
            while len(km) < c["keymat_len"]:
                k = prf(h, d, k + seed)
                km += k
            r["keymat_pfs" if pfs else "keymat"] = km[: c["keymat_len"]]
        out.append({k: v.hex() for k, v in r.items()})
    json.dump(out, sys.stdout)


main()
