#!/usr/bin/env python3
"""Independent known answers for RSA PKCS#1 v1.5 signatures, computed with Python integers.

For each committed test key this writes rsa_kat.json with:
- "bare": the IKEv1 form (RFC 2409 §5.1): EMSA-PKCS1-v1_5 type-1 padding
  00 01 FF..FF 00 || H directly over the hash bytes H, no DigestInfo;
- "pkcs1-sha1" / "pkcs1-sha256": RSASSA-PKCS1-v1_5 (RFC 8017 §9.2) with the DigestInfo prefix.
The signature is m^d mod n, with n and d read from `openssl rsa -text`. As a second opinion,
the bare-hash signature is also compared with `openssl pkeyutl -sign -pkeyopt
rsa_padding_mode:pkcs1` over the same bytes (no digest: OpenSSL pads the raw input).
Run from this directory: python3 make_rsa_kat.py
"""
import hashlib
import json
import re
import subprocess

DIGESTINFO = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
}


def key_numbers(path):
    text = subprocess.run(["openssl", "rsa", "-in", path, "-text", "-noout"],
                          check=True, capture_output=True, text=True).stdout

    def field(name):
        m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        return int(re.sub(r"[\s:]", "", m.group(1)), 16)

    return field("modulus"), field("privateExponent")


def pad_type1(payload, k):
    ps = b"\xff" * (k - 3 - len(payload))
    assert len(ps) >= 8
    return b"\x00\x01" + ps + b"\x00" + payload


def rsa_sign(em, n, d, k):
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


def main():
    cases = []
    for key in ["rsa2048.pkcs8.pem", "rsa1024.pkcs8.pem"]:
        n, d = key_numbers(key)
        k = (n.bit_length() + 7) // 8
        # Bare hashes as IKEv1 produces them: an HMAC-SHA1 and an HMAC-SHA2-256 prf output.
        for h in [hashlib.sha1(b"HASH_I of a Main Mode exchange").digest(),
                  hashlib.sha256(b"HASH_R of an Aggressive Mode exchange").digest()]:
            sig = rsa_sign(pad_type1(h, k), n, d, k)
            with open("/tmp/bare.in", "wb") as f:
                f.write(h)
            cli = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-in", "/tmp/bare.in",
                                  "-pkeyopt", "rsa_padding_mode:pkcs1"],
                                 check=True, capture_output=True).stdout
            assert cli == sig, "openssl pkeyutl disagrees with the Python computation"
            cases.append({"key": key, "scheme": "bare", "msg": h.hex(), "sig": sig.hex()})
        msg = b"IKEv2 signed octets: RealMessage1 | Nr | prf(SK_pi, IDi')"
        for name in ["sha1", "sha256"]:
            em = pad_type1(DIGESTINFO[name] + hashlib.new(name, msg).digest(), k)
            cases.append({"key": key, "scheme": "pkcs1-" + name, "msg": msg.hex(),
                          "sig": rsa_sign(em, n, d, k).hex()})
    with open("rsa_kat.json", "w") as f:
        json.dump({"source": "make_rsa_kat.py (Python integers; bare form cross-checked with "
                             "openssl pkeyutl)", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
