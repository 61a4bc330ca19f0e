//! Key exchange method numbers shared by IKEv1's Group Description attribute (RFC 2409 §6, RFC
//! 3526) and IKEv2's transform type 4 (RFC 7296 §3.3.2, IANA "Transform Type 4 - Key Exchange
//! Method Transform IDs").

registry! {
    /// A Diffie-Hellman group or key exchange method (IANA).
    pub enum DhGroup: u16 {
        /// No key exchange.
        None = 0 => "NONE",
        /// 768-bit MODP (Oakley group 1).
        Modp768 = 1 => "MODP_768",
        /// 1024-bit MODP (Oakley group 2).
        Modp1024 = 2 => "MODP_1024",
        /// EC2N over GF(2^155) (Oakley group 3, IKEv1 only).
        Ec2n155 = 3 => "EC2N_155",
        /// EC2N over GF(2^185) (Oakley group 4, IKEv1 only).
        Ec2n185 = 4 => "EC2N_185",
        /// 1536-bit MODP.
        Modp1536 = 5 => "MODP_1536",
        /// 2048-bit MODP.
        Modp2048 = 14 => "MODP_2048",
        /// 3072-bit MODP.
        Modp3072 = 15 => "MODP_3072",
        /// 4096-bit MODP.
        Modp4096 = 16 => "MODP_4096",
        /// 6144-bit MODP.
        Modp6144 = 17 => "MODP_6144",
        /// 8192-bit MODP.
        Modp8192 = 18 => "MODP_8192",
        /// 256-bit random ECP (P-256).
        Ecp256 = 19 => "ECP_256",
        /// 384-bit random ECP (P-384).
        Ecp384 = 20 => "ECP_384",
        /// 521-bit random ECP (P-521).
        Ecp521 = 21 => "ECP_521",
        /// 1024-bit MODP with 160-bit prime order subgroup (RFC 5114).
        Modp1024S160 = 22 => "MODP_1024_160",
        /// 2048-bit MODP with 224-bit prime order subgroup (RFC 5114).
        Modp2048S224 = 23 => "MODP_2048_224",
        /// 2048-bit MODP with 256-bit prime order subgroup (RFC 5114).
        Modp2048S256 = 24 => "MODP_2048_256",
        /// 192-bit random ECP.
        Ecp192 = 25 => "ECP_192",
        /// 224-bit random ECP.
        Ecp224 = 26 => "ECP_224",
        /// brainpoolP224r1.
        Brainpool224 = 27 => "ECP_224_BP",
        /// brainpoolP256r1.
        Brainpool256 = 28 => "ECP_256_BP",
        /// brainpoolP384r1.
        Brainpool384 = 29 => "ECP_384_BP",
        /// brainpoolP512r1.
        Brainpool512 = 30 => "ECP_512_BP",
        /// Curve25519 (RFC 8031).
        Curve25519 = 31 => "CURVE_25519",
        /// Curve448 (RFC 8031).
        Curve448 = 32 => "CURVE_448",
        /// GOST3410_2012_256.
        Gost256 = 33 => "GOST3410_2012_256",
        /// GOST3410_2012_512.
        Gost512 = 34 => "GOST3410_2012_512",
        /// ML-KEM-512 (RFC 9370 additional key exchange).
        MlKem512 = 35 => "ML_KEM_512",
        /// ML-KEM-768.
        MlKem768 = 36 => "ML_KEM_768",
        /// ML-KEM-1024.
        MlKem1024 = 37 => "ML_KEM_1024",
    }
}
