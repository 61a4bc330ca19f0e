//! EC2N unit tests: the ladder against affine double-and-add, the generators' orders, peer
//! validation, New Group Mode parameter checks, and an independent Python computation of the
//! field and curve arithmetic.

use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use crate::rng::{Rng, SeededRng};

fn g3() -> Arc<Curve> {
    standard_curve(DhGroup::Ec2n155).unwrap()
}

fn g4() -> Arc<Curve> {
    standard_curve(DhGroup::Ec2n185).unwrap()
}

fn scalar_u64(v: u64) -> Scalar {
    let mut k = [0u64; LIMBS];
    k[0] = v;
    k
}

fn to_hex(k: &Scalar) -> String {
    let bytes: Vec<u8> = k.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
    let s = hex::encode(bytes);
    let t = s.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

/// Affine points for the reference arithmetic; `None` is the point at infinity.
type Affine = Option<(Fe, Fe)>;

fn affine_add(c: &Curve, p: Affine, q: Affine) -> Affine {
    let f = c.field();
    let (Some((x1, y1)), Some((x2, y2))) = (p, q) else {
        return p.or(q);
    };
    if x1 == x2 {
        if y1.add(&y2) == x1 || x1 == Fe::ZERO {
            return None; // q = -p, or doubling a point of order two
        }
        let lambda = x1.add(&f.mul(&y1, &f.inv(&x1)));
        let x3 = f.sqr(&lambda).add(&lambda).add(&c.a);
        let y3 = f.sqr(&x1).add(&f.mul(&lambda.add(&Fe::ONE), &x3));
        return Some((x3, y3));
    }
    let lambda = f.mul(&y1.add(&y2), &f.inv(&x1.add(&x2)));
    let x3 = f.sqr(&lambda).add(&lambda).add(&x1).add(&x2).add(&c.a);
    let y3 = f.mul(&lambda, &x1.add(&x3)).add(&x3).add(&y1);
    Some((x3, y3))
}

fn affine_mul(c: &Curve, k: &Scalar, p: Affine) -> Affine {
    let mut r = None;
    for i in (0..scalar_bits(k)).rev() {
        r = affine_add(c, r, r);
        if (k[i / 64] >> (i % 64)) & 1 == 1 {
            r = affine_add(c, r, p);
        }
    }
    r
}

fn random_scalar_below(c: &Curve, seed: u64) -> Scalar {
    *c.random_scalar(&mut SeededRng::new(seed)).unwrap()
}

#[test]
fn generators_match_the_rfc_and_the_documented_y() {
    let c = g3();
    let (x, y) = c.generator();
    assert_eq!(c.field().encode(&x)[19], 0x7b);
    assert_eq!(
        hex::encode(c.field().encode(&y)),
        format!("{:0>40}", "01c8")
    );
    assert!(c.is_on_curve(&x, &y));
    let c = g4();
    let (x, y) = c.generator();
    assert_eq!(c.field().encode(&x)[23], 0x18);
    assert_eq!(hex::encode(c.field().encode(&y)), format!("{:0>48}", "0d"));
    assert!(c.is_on_curve(&x, &y));
}

#[test]
fn generator_orders_are_as_documented() {
    // Group 3: #E = 12 r, the generator has order n = 4 r (= #E / 3).
    let (n, h) = g3().order();
    assert_eq!(to_hex(&n), "2aaaaaaaaaaaaaaaaaac7f3c7881bd0868fa86c");
    assert_eq!(h, 4);
    // Group 4: #E = 4 r, the generator has order n = 2 r (= #E / 2).
    let (n, h) = g4().order();
    assert_eq!(to_hex(&n), "ffffffffffffffffffffffedf97c44db9f2420bafca75e");
    assert_eq!(h, 2);
    let mut ctx = BigNumContext::new().unwrap();
    for (c, primes) in [(g3(), [2u32, 3]), (g4(), [2, 3])] {
        let (n, h) = c.order();
        let g = Some(c.generator());
        // n G = O, by the ladder and by double-and-add ...
        assert!(c.mul_public(&c.gx, &n).is_none());
        assert!(affine_mul(&c, &n, g).is_none());
        // ... and (n / p) G != O for every prime p dividing n, so n is the exact order.
        let nb = BigNum::from_hex_str(&to_hex(&n)).unwrap();
        for p in primes {
            if nb.mod_word(p).unwrap() == 0 {
                let mut q = nb.to_owned().unwrap();
                q.div_word(p).unwrap();
                assert!(affine_mul(&c, &to_scalar(&q).unwrap(), g).is_some());
            }
        }
        // r = n / h is prime.
        let mut r = nb.to_owned().unwrap();
        r.div_word(h as u32).unwrap();
        assert!(r.is_prime(64, &mut ctx).unwrap());
        assert!(affine_mul(&c, &to_scalar(&r).unwrap(), g).is_some());
    }
}

#[test]
fn ladder_agrees_with_double_and_add() {
    for c in [g3(), g4()] {
        let g = Some(c.generator());
        let mut scalars: Vec<Scalar> = (1..=20).map(scalar_u64).collect();
        scalars.extend((0..8).map(|s| random_scalar_below(&c, s)));
        let (n, _) = c.order();
        let mut n_minus_1 = n;
        n_minus_1[0] -= 1; // n is even for both groups
        scalars.push(n_minus_1);
        for k in scalars {
            let by_ladder = c.mul_x(&c.gx, &k, c.n_bits);
            let by_affine = affine_mul(&c, &k, g);
            assert_eq!(by_ladder, by_affine.map(|(x, _)| x), "k = {}", to_hex(&k));
            let (x, y) = by_affine.unwrap();
            assert!(c.is_on_curve(&x, &y));
        }
        // 2G and 3G, spelled out.
        let two = affine_add(&c, g, g);
        let three = affine_add(&c, two, g);
        assert_eq!(c.mul_public(&c.gx, &scalar_u64(2)), two.map(|p| p.0));
        assert_eq!(c.mul_public(&c.gx, &scalar_u64(3)), three.map(|p| p.0));
    }
}

#[test]
fn shared_secrets_agree_for_many_keys() {
    for c in [g3(), g4()] {
        for s in 0..25 {
            let a = random_scalar_below(&c, 1000 + s);
            let b = random_scalar_below(&c, 2000 + s);
            let pa = c.public_value(&a).unwrap();
            let pb = c.public_value(&b).unwrap();
            let sa = c.shared_secret(&a, &pb).unwrap();
            let sb = c.shared_secret(&b, &pa).unwrap();
            assert_eq!(sa, sb);
            assert_eq!(sa.len(), c.value_len());
        }
    }
}

/// A point whose order divides `d` (`d | #E`), as an x-coordinate, from a random point.
fn torsion_x(c: &Curve, d: u32, seed: u64) -> Option<Fe> {
    let f = c.field();
    let mut rng = SeededRng::new(seed);
    let big_e = BigNum::from_hex_str(match f.degree() {
        155 => GROUP3.order,
        _ => GROUP4.order,
    })
    .unwrap();
    let mut cof = big_e.to_owned().unwrap();
    cof.div_word(d).unwrap();
    for _ in 0..100 {
        let mut b = vec![0u8; f.byte_len()];
        rng.fill(&mut b).unwrap();
        b[0] &= 0xff >> (8 * f.byte_len() - f.degree());
        let x = f.decode(&b).unwrap();
        if x == Fe::ZERO || c.lift_x(&x).is_none() {
            continue;
        }
        if let Some(t) = c.mul_public(&x, &to_scalar(&cof).unwrap()) {
            if t != Fe::ZERO {
                return Some(t);
            }
        }
    }
    None
}

#[test]
fn peer_values_are_validated() {
    for c in [g3(), g4()] {
        let f = c.field();
        let len = c.value_len();
        let k = random_scalar_below(&c, 7);
        let err = |v: &[u8]| c.shared_secret(&k, v).unwrap_err();
        assert_eq!(
            err(&vec![0u8; len - 1]),
            CryptoError::InvalidPublicValue("EC2N value has the wrong length")
        );
        assert_eq!(
            err(&vec![0u8; len + 1]),
            CryptoError::InvalidPublicValue("EC2N value has the wrong length")
        );
        assert_eq!(
            err(&vec![0u8; len]),
            CryptoError::InvalidPublicValue("EC2N point of order two")
        );
        assert_eq!(
            err(&vec![0xffu8; len]),
            CryptoError::InvalidPublicValue("EC2N value is not a field element")
        );
        // An x with no point over it.
        let off = (1u8..=255)
            .map(|v| {
                let mut b = vec![0u8; len];
                b[len - 1] = v;
                b
            })
            .find(|b| c.lift_x(&f.decode(b).unwrap()).is_none())
            .unwrap();
        assert_eq!(
            err(&off),
            CryptoError::InvalidPublicValue("EC2N point is not on the curve")
        );
        // A point of order 4 (both curves have one). For group 3 (n = 4 r) it lies in the
        // generator's subgroup but is small; for group 4 (n = 2 r) it lies outside it.
        let t4 = torsion_x(&c, 4, 11).unwrap();
        assert!(c.mul_public(&t4, &scalar_u64(4)).is_none());
        assert!(c.mul_public(&t4, &scalar_u64(2)).is_some());
        assert_eq!(
            err(&f.encode(&t4)),
            CryptoError::InvalidPublicValue(if c.h == 4 {
                "EC2N point is in a small subgroup"
            } else {
                "EC2N point is not in the generator's subgroup"
            })
        );
        // A point of full order #E is outside the generator's subgroup.
        let full = (1u8..=255)
            .map(|v| {
                let mut b = vec![0u8; len];
                b[len - 1] = v;
                b
            })
            .find(|b| {
                let x = f.decode(b).unwrap();
                c.lift_x(&x).is_some() && c.mul_public(&x, &c.n).is_some()
            })
            .unwrap();
        assert_eq!(
            err(&full),
            CryptoError::InvalidPublicValue("EC2N point is not in the generator's subgroup")
        );
    }
    // Group 3 also has 3-torsion, which n = 4 r excludes.
    let c = g3();
    let t3 = torsion_x(&c, 3, 5).unwrap();
    assert_eq!(
        c.validate_peer(&c.field().encode(&t3)),
        Err(CryptoError::InvalidPublicValue(
            "EC2N point is not in the generator's subgroup"
        ))
    );
}

#[test]
fn new_group_mode_parameters_are_validated() {
    let h = |s: &str| hex_bytes(s).unwrap();
    let build = |poly: &str, a: &str, b: &str, gx: &str, gy: Option<&str>, order: &str| {
        let gy = gy.map(h);
        Curve::from_params(&h(poly), &h(a), &h(b), &h(gx), gy.as_deref(), &h(order))
    };
    let ok = build(
        GROUP3.polynomial,
        "00",
        GROUP3.b,
        "7b",
        Some("01c8"),
        GROUP3.order,
    )
    .unwrap();
    assert_eq!(ok.order(), g3().order());
    // Leading zeros in attributes are fine; the other root y = x (z + 1) too.
    let other_y = hex::encode(ok.field().encode(&ok.generator().1.add(&ok.generator().0)));
    assert!(build(
        GROUP3.polynomial,
        "0000",
        GROUP3.b,
        "007b",
        Some(&other_y),
        GROUP3.order
    )
    .is_ok());
    let bad = |r: Result<Curve, CryptoError>, why: &'static str| {
        assert_eq!(r.unwrap_err(), CryptoError::InvalidGroupParameters(why));
    };
    bad(
        build(
            "0800000000000000000000000000000000000005",
            "00",
            GROUP3.b,
            "7b",
            None,
            GROUP3.order,
        ),
        "field polynomial is reducible",
    );
    bad(
        build(
            "1000000000000000000000004000000000000001",
            "00",
            GROUP3.b,
            "7b",
            None,
            GROUP3.order,
        ),
        "even field degree",
    );
    bad(
        build(GROUP3.polynomial, "00", "00", "7b", None, GROUP3.order),
        "singular curve (b = 0)",
    );
    bad(
        build(
            GROUP3.polynomial,
            "00",
            GROUP3.b,
            "7b",
            Some("01c9"),
            GROUP3.order,
        ),
        "generator is not on the curve",
    );
    bad(
        build(GROUP3.polynomial, "00", GROUP3.b, "00", None, GROUP3.order),
        "generator has order two",
    );
    bad(
        build(
            GROUP3.polynomial,
            "00",
            GROUP3.b,
            "7b",
            None,
            "0800000000000000000057db5698537193aef945",
        ),
        "group order is not a multiple of the generator's order",
    );
    bad(
        build(
            GROUP3.polynomial,
            "00",
            GROUP3.b,
            GROUP3.polynomial,
            None,
            GROUP3.order,
        ),
        "generator is not a field element",
    );
    // The generator's order itself (4 r) is also an acceptable "Group Order".
    let by_n = build(
        GROUP3.polynomial,
        "00",
        GROUP3.b,
        "7b",
        None,
        "02aaaaaaaaaaaaaaaaaac7f3c7881bd0868fa86c",
    )
    .unwrap();
    assert_eq!(by_n.order(), g3().order());
    bad(
        build(GROUP3.polynomial, "00", GROUP3.b, "7b", None, "00"),
        "group order out of range",
    );
    // A generator of order 3 (a torsion point) with the curve order as "Group Order".
    let t3 = hex::encode(g3().field().encode(&torsion_x(&g3(), 3, 5).unwrap()));
    bad(
        build(GROUP3.polynomial, "00", GROUP3.b, &t3, None, GROUP3.order),
        "generator has small order",
    );
    // A multiple of the order beyond the Hasse bound is refused.
    let mut big = BigNum::from_hex_str(GROUP3.order).unwrap();
    big.mul_word(65521).unwrap();
    let big = big.to_hex_str().unwrap().to_string();
    bad(
        build(
            GROUP3.polynomial,
            "00",
            GROUP3.b,
            "7b",
            None,
            &format!("{big:0>42}"),
        ),
        "group order out of range",
    );
}

#[test]
fn debug_shows_no_scalar() {
    let c = g3();
    let kx = Ec2nKeyExchange::generate(DhGroup::Ec2n155, c, &mut SeededRng::new(1)).unwrap();
    let shown = format!("{kx:?}");
    assert!(shown.contains("Ec2n155") && !shown.contains("k:"));
}

/// Field products, inverses, half-traces and scalar multiples, recomputed by a Python script
/// with plain integers and affine formulas (tests/data/ec2n_oracle.py).
#[test]
fn python_oracle_agrees() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ec2n_oracle.py");
    let mut lines = Vec::new();
    for (gid, c) in [(3, g3()), (4, g4())] {
        let f = c.field();
        let enc = |a: &Fe| hex::encode(f.encode(a));
        let mut rng = SeededRng::new(gid);
        let mut elem = || {
            let mut b = vec![0u8; f.byte_len()];
            rng.fill(&mut b).unwrap();
            b[0] &= 0xff >> (8 * f.byte_len() - f.degree());
            f.decode(&b).unwrap()
        };
        for _ in 0..200 {
            let (a, b) = (elem(), elem());
            lines.push(format!(
                "mul {gid} {} {} {}",
                enc(&a),
                enc(&b),
                enc(&f.mul(&a, &b))
            ));
            lines.push(format!("sqr {gid} {} {}", enc(&a), enc(&f.sqr(&a))));
            lines.push(format!("inv {gid} {} {}", enc(&a), enc(&f.inv(&a))));
            lines.push(format!("trace {gid} {} {}", enc(&a), f.trace(&a)));
            lines.push(format!(
                "halftrace {gid} {} {}",
                enc(&a),
                enc(&f.half_trace(&a))
            ));
        }
        for s in 0..4 {
            let k = random_scalar_below(&c, 50 + s);
            let x = c.public_value(&k).unwrap();
            lines.push(format!("smul {gid} {} {}", to_hex(&k), hex::encode(x)));
        }
        let (x, y) = c.generator();
        lines.push(format!("gen {gid} {} {}", enc(&x), enc(&y)));
    }
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the EC2N oracle");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oracle disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), format!("ok {}", lines.len()));
}
