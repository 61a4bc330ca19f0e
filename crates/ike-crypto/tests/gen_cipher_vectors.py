#!/usr/bin/env python3
"""Extracts the known-answer vectors of tests/data/cipher/ into JSON and re-checks every value.

Not run by the tests: it documents how the committed JSON was made. Inputs (paths given by
environment variables):
  SWAN  a strongSwan checkout (git dir or work tree) -- hex/text values are read from
        src/libstrongswan/plugins/test_vectors/test_vectors/*.c; no code is copied
  PYCA  the unpacked PyPI wheel cryptography_vectors (directory `cryptography_vectors`)
Every value is re-computed with Python's `cryptography` and `hmac` modules before it is
written; a mismatch aborts.
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "cipher")
SWAN = os.environ["SWAN"]
PYCA = os.environ["PYCA"]
SWAN_DIR = "src/libstrongswan/plugins/test_vectors/test_vectors/"


def swan_file(name):
    if os.path.isdir(os.path.join(SWAN, "src")):
        with open(os.path.join(SWAN, SWAN_DIR, name)) as f:
            return f.read()
    return subprocess.run(["git", "-C", SWAN, "show", "HEAD:" + SWAN_DIR + name],
                          check=True, capture_output=True, text=True).stdout


def swan_commit():
    return subprocess.run(["git", "-C", SWAN, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def c_string(lit):
    """Concatenated C string literals -> bytes (only \\xNN and plain ASCII occur)."""
    out = bytearray()
    for part in re.findall(r'"((?:[^"\\]|\\.)*)"', lit):
        i = 0
        while i < len(part):
            if part[i] == "\\":
                if part[i + 1] == "x":
                    out.append(int(part[i + 2:i + 4], 16))
                    i += 4
                    continue
                esc = {"n": 10, "t": 9, "\\": 92, '"': 34, "0": 0}[part[i + 1]]
                out.append(esc)
                i += 2
            else:
                out.append(ord(part[i]))
                i += 1
    return bytes(out)


def swan_vectors(name):
    text = swan_file(name)
    vecs = []
    for m in re.finditer(r"(?:/\*\*(?P<doc>(?:(?!\*/).)*)\*/\s*)?(?P<kind>\w+)_test_vector_t\s+(?P<name>\w+)\s*=\s*\{(?P<body>.*?)\n\};", text, re.S):
        body = m.group("body")
        v = {"name": m.group("name"), "kind": m.group("kind")}
        if m.group("doc"):
            v["doc"] = " ".join(l.strip(" *") for l in m.group("doc").splitlines() if l.strip(" *"))
        for fm in re.finditer(r"\.(\w+)\s*=\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+|[\w]+)", body):
            key, val = fm.group(1), fm.group(2)
            v[key] = c_string(val) if val.startswith('"') else (int(val) if val.isdigit() else val)
        vecs.append(v)
    # A doc comment applies to the following vectors until the next one.
    doc = None
    for v in vecs:
        doc = v.get("doc", doc)
        v["doc"] = doc
    return vecs


def aead_ref(alg, key, salt, iv, aad, pt, icv):
    nonce = salt + iv
    if alg == "aes-gcm":
        enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        ct = enc.update(pt) + enc.finalize()
        return ct + enc.tag[:icv]
    if alg == "aes-ccm":
        return AESCCM(key, tag_length=icv).encrypt(nonce, pt, aad)
    assert icv == 16
    return ChaCha20Poly1305(key).encrypt(nonce, pt, aad)


def ike_aead():
    out = []
    specs = [("aes_gcm.c", "aes-gcm", 4), ("aes_ccm.c", "aes-ccm", 3),
             ("chacha20poly1305.c", "chacha20-poly1305", 4)]
    for fname, alg, salt_len in specs:
        for v in swan_vectors(fname):
            icv = {"ENCR_CHACHA20_POLY1305": 16}.get(v["alg"]) or int(v["alg"].rsplit("ICV", 1)[-1])
            key_len = v["key_size"]
            km = v["key"][:key_len + salt_len]
            pt = v.get("plain", b"")[:v["len"]]
            aad = v.get("adata", b"")[:v["alen"]]
            ct = v["cipher"][:v["len"] + icv]
            iv = v["iv"][:8]
            ref = aead_ref(alg, km[:key_len], km[key_len:], iv, aad, pt, icv)
            if ref != ct:
                sys.exit(f"mismatch {fname} {v['name']}")
            out.append({"name": v["name"], "origin": v["doc"], "alg": alg, "key_bits": key_len * 8,
                        "icv_len": icv, "key_material": km.hex(), "iv": iv.hex(), "aad": aad.hex(),
                        "plaintext": pt.hex(), "ciphertext": ct.hex()})
    return out


def ike_crypter():
    out = []
    for fname, alg, salt_len in [("aes_cbc.c", "aes-cbc", 0), ("aes_ctr.c", "aes-ctr", 4),
                                 ("3des_cbc.c", "3des-cbc", 0)]:
        for v in swan_vectors(fname):
            key_len = v["key_size"]
            km = v["key"][:key_len + salt_len]
            iv = v["iv"][:{"aes-cbc": 16, "aes-ctr": 8, "3des-cbc": 8}[alg]]
            pt = v["plain"][:v["len"]]
            ct = v["cipher"][:v["len"]]
            if alg == "aes-cbc":
                c = Cipher(algorithms.AES(km), modes.CBC(iv))
            elif alg == "aes-ctr":
                c = Cipher(algorithms.AES(km[:key_len]), modes.CTR(km[key_len:] + iv + b"\0\0\0\1"))
            else:
                from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
                c = Cipher(TripleDES(km), modes.CBC(iv))
            e = c.encryptor()
            if e.update(pt) + e.finalize() != ct:
                sys.exit(f"mismatch {fname} {v['name']}")
            out.append({"name": v["name"], "origin": v["doc"], "alg": alg, "key_bits": key_len * 8,
                        "key_material": km.hex(), "iv": iv.hex(), "plaintext": pt.hex(),
                        "ciphertext": ct.hex()})
    return out


SIGNER = {"AUTH_HMAC_MD5_96": ("md5", 12), "AUTH_HMAC_SHA1_96": ("sha1", 12),
          "AUTH_HMAC_SHA2_256_128": ("sha256", 16), "AUTH_HMAC_SHA2_384_192": ("sha384", 24),
          "AUTH_HMAC_SHA2_512_256": ("sha512", 32)}


def ike_signer():
    out = []
    for fname in ["md5_hmac.c", "sha1_hmac.c", "sha2_hmac.c"]:
        for v in swan_vectors(fname):
            if v["kind"] != "signer" or v["alg"] not in SIGNER:
                continue
            h, n = SIGNER[v["alg"]]
            data = v["data"][:v["len"]]
            mac = v["mac"][:n]
            if hmac.new(v["key"], data, h).digest()[:n] != mac:
                sys.exit(f"mismatch {fname} {v['name']}")
            out.append({"name": v["name"], "origin": v["doc"], "alg": v["alg"],
                        "key": v["key"].hex(), "data": data.hex(), "mac": mac.hex()})
    return out


def rsp_records(path):
    """NIST .rsp / pyca .txt: yields (section_headers, record) dicts."""
    hdr, rec, section = {}, {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                if rec:
                    yield dict(hdr), section, rec
                    rec = {}
                inner = line.strip("[]")
                if "=" in inner:
                    k, v = [x.strip() for x in inner.split("=", 1)]
                    hdr[k] = v
                else:
                    section = inner
                continue
            if not line or line.startswith("#"):
                if rec and not line:
                    yield dict(hdr), section, rec
                    rec = {}
                continue
            if "=" in line:
                k, v = [x.strip() for x in line.split("=", 1)]
                rec[k.upper()] = v
            else:
                rec[line.upper()] = True
    if rec:
        yield dict(hdr), section, rec


def nist_gcm():
    out = []
    base = os.path.join(PYCA, "ciphers/AES/GCM")
    for kind, counts in [("EncryptExtIV", 2), ("Decrypt", 3)]:
        for bits in (128, 192, 256):
            fname = f"gcm{kind}{bits}.rsp"
            for hdr, _, r in rsp_records(os.path.join(base, fname)):
                if "COUNT" not in r or hdr.get("IVlen") != "96" or hdr.get("Taglen") not in ("128", "96", "64"):
                    continue
                if int(r["COUNT"]) >= counts:
                    continue
                key, iv, pt = (bytes.fromhex(r[k]) for k in ("KEY", "IV", "PT")) if "PT" in r else (bytes.fromhex(r["KEY"]), bytes.fromhex(r["IV"]), b"")
                aad, ct, tag = (bytes.fromhex(r.get(k, "")) for k in ("AAD", "CT", "TAG"))
                fail = "FAIL" in r
                enc = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
                enc.authenticate_additional_data(aad)
                if not fail:
                    if enc.update(pt) + enc.finalize() != ct or enc.tag[:len(tag)] != tag:
                        sys.exit(f"mismatch {fname} {hdr} {r['COUNT']}")
                else:
                    dec = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=8)).decryptor()
                    dec.authenticate_additional_data(aad)
                    dec.update(ct)
                    try:
                        dec.finalize()
                        sys.exit(f"FAIL case verifies {fname} {r['COUNT']}")
                    except Exception:
                        pass
                out.append({"source": f"{fname} Keylen={bits} PTlen={hdr['PTlen']} AADlen={hdr['AADlen']} Taglen={hdr['Taglen']} Count={r['COUNT']}",
                            "key": key.hex(), "iv": iv.hex(), "aad": aad.hex(), "plaintext": pt.hex(),
                            "ciphertext": ct.hex(), "tag": tag.hex(), "result": "invalid" if fail else "valid"})
    return out


def nist_cbc():
    out = []
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    files = [("ciphers/AES/CBC/CBCMMT128.rsp", "aes-cbc"), ("ciphers/AES/CBC/CBCMMT192.rsp", "aes-cbc"),
             ("ciphers/AES/CBC/CBCMMT256.rsp", "aes-cbc"), ("ciphers/3DES/CBC/TCBCMMT3.rsp", "3des-cbc")]
    for rel, alg in files:
        for _, section, r in rsp_records(os.path.join(PYCA, rel)):
            if "COUNT" not in r:
                continue
            key = bytes.fromhex(r["KEY"]) if "KEY" in r else bytes.fromhex(r["KEY1"] + r["KEY2"] + r["KEY3"])
            iv, pt, ct = (bytes.fromhex(r[k]) for k in ("IV", "PLAINTEXT", "CIPHERTEXT"))
            c = Cipher(algorithms.AES(key) if alg == "aes-cbc" else TripleDES(key), modes.CBC(iv)).encryptor()
            if c.update(pt) + c.finalize() != ct:
                sys.exit(f"mismatch {rel} {r['COUNT']}")
            out.append({"source": f"{os.path.basename(rel)} [{section}] COUNT={r['COUNT']}", "alg": alg,
                        "key_bits": len(key) * 8, "key": key.hex(), "iv": iv.hex(),
                        "plaintext": pt.hex(), "ciphertext": ct.hex()})
    return out


def rfc_ctr():
    out = []
    for bits in (128, 192, 256):
        for _, _, r in rsp_records(os.path.join(PYCA, f"ciphers/AES/CTR/aes-{bits}-ctr.txt")):
            if "COUNT" not in r:
                continue
            key, block, pt, ct = (bytes.fromhex(r[k]) for k in ("KEY", "IV", "PLAINTEXT", "CIPHERTEXT"))
            assert block[12:] == b"\0\0\0\1"
            e = Cipher(algorithms.AES(key), modes.CTR(block)).encryptor()
            if e.update(pt) + e.finalize() != ct:
                sys.exit("ctr mismatch")
            out.append({"source": f"aes-{bits}-ctr.txt COUNT={r['COUNT']} (RFC 3686 §6)", "key_bits": bits,
                        "key_material": (key + block[:4]).hex(), "iv": block[4:12].hex(),
                        "plaintext": pt.hex(), "ciphertext": ct.hex()})
    return out


def rfc_hmac():
    out = []
    for fname, h in [("rfc-2202-md5.txt", "md5"), ("rfc-2202-sha1.txt", "sha1"),
                     ("rfc-4231-sha256.txt", "sha256"), ("rfc-4231-sha384.txt", "sha384"),
                     ("rfc-4231-sha512.txt", "sha512")]:
        n = 0
        for _, _, r in rsp_records(os.path.join(PYCA, "HMAC", fname)):
            if "KEY" not in r:
                continue
            n += 1
            key, msg, md = (bytes.fromhex(r[k]) for k in ("KEY", "MSG", "MD"))
            if hmac.new(key, msg, h).digest() != md:
                sys.exit(f"hmac mismatch {fname}")
            out.append({"source": f"{fname} #{n}", "hash": h, "key": key.hex(), "msg": msg.hex(), "mac": md.hex()})
    # RFC 4231 test case 5 (truncation to 128 bits), which the pyca files leave out; the
    # published truncated values are checked against a Python computation.
    tc5 = {"sha256": "a3b6167473100ee06e0c796c2955552b", "sha384": "3abf34c3503b2a23a46efc619baef897",
           "sha512": "415fad6271580a531d4179bc891d87a6"}
    for h, want in tc5.items():
        got = hmac.new(b"\x0c" * 20, b"Test With Truncation", h).digest()[:16]
        if got.hex() != want:
            sys.exit("tc5 mismatch")
        out.append({"source": "RFC 4231 §4.6 test case 5 (truncated to 128 bits)", "hash": h,
                    "key": ("0c" * 20), "msg": b"Test With Truncation".hex(), "mac": want})
    return out


def write(name, doc, vectors):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump({"source": doc, "count": len(vectors), "vectors": vectors}, f, indent=1)
        f.write("\n")
    print(name, len(vectors))


swan = f"strongSwan src/libstrongswan/plugins/test_vectors/test_vectors/ @ {swan_commit()}"
pyca = "PyPI cryptography_vectors 50.0.2"
write("ike_aead_kat.json", f"{swan}: aes_gcm.c, aes_ccm.c, chacha20poly1305.c (values only); "
      "IKE layout: key_material = key || salt, 8-byte IV, ciphertext = ct || ICV", ike_aead())
write("ike_crypter_kat.json", f"{swan}: aes_cbc.c, aes_ctr.c, 3des_cbc.c (values only); "
      "AES-CTR key_material = key || 4-byte nonce", ike_crypter())
write("ike_integ_kat.json", f"{swan}: md5_hmac.c, sha1_hmac.c, sha2_hmac.c signer vectors (values only), "
      "outputs truncated as IKE sends them", ike_signer())
write("nist_gcm_iv96.json", f"{pyca} ciphers/AES/GCM (NIST CAVP gcmEncryptExtIV/gcmDecrypt), excerpt: "
      "IVlen 96, Taglen 128/96/64, first counts of every PTlen/AADlen", nist_gcm())
write("nist_cbc_mmt.json", f"{pyca} ciphers/AES/CBC/CBCMMT*.rsp and ciphers/3DES/CBC/TCBCMMT3.rsp (NIST CAVP)", nist_cbc())
write("rfc3686_aes_ctr.json", f"{pyca} ciphers/AES/CTR (RFC 3686 §6), as IKE key material (key || nonce) and 8-byte IV", rfc_ctr())
write("rfc_hmac.json", f"{pyca} HMAC/rfc-2202-*.txt, rfc-4231-*.txt, plus RFC 4231 test case 5", rfc_hmac())
