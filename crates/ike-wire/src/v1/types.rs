//! ISAKMP / IKEv1 registries: RFC 2408 §3 (ISAKMP), RFC 2409 Appendix A (Oakley attributes),
//! RFC 2407 §4.4-§4.6 (IPsec DOI), RFC 3947 (NAT-T), RFC 3706 (DPD), draft-dukes-ike-mode-cfg and
//! draft-beaulieu-ike-xauth, as IANA's "Internet Key Exchange (IKE) Attributes" and "ISAKMP
//! Identifiers" registries spell them.

use crate::group::DhGroup;

registry! {
    /// Exchange types (RFC 2408 §3.1, RFC 2409 §5-§6, IANA "ISAKMP Exchange Types").
    pub enum ExchangeType: u8 {
        /// NONE.
        None = 0 => "NONE",
        /// Base exchange (RFC 2408 §4.4).
        Base = 1 => "Base",
        /// Identity Protection, which IKE calls Main Mode (RFC 2408 §4.5, RFC 2409 §5).
        IdentityProtection = 2 => "Identity Protection (Main Mode)",
        /// Authentication Only (RFC 2408 §4.6).
        AuthenticationOnly = 3 => "Authentication Only",
        /// Aggressive (RFC 2408 §4.7, RFC 2409 §5).
        Aggressive = 4 => "Aggressive",
        /// Informational (RFC 2408 §4.8, RFC 2409 §5.7).
        Informational = 5 => "Informational",
        /// Transaction, which carries Mode-Config and XAUTH (draft-dukes-ike-mode-cfg §3.1).
        Transaction = 6 => "Transaction (Config Mode)",
        /// Quick Mode (RFC 2409 §5.5).
        QuickMode = 32 => "Quick Mode",
        /// New Group Mode (RFC 2409 §5.6).
        NewGroupMode = 33 => "New Group Mode",
    }
}

impl ExchangeType {
    /// Main Mode, IKE's name for the Identity Protection exchange (RFC 2409 §5).
    pub const MAIN_MODE: Self = Self::IdentityProtection;
}

registry! {
    /// Next payload types (RFC 2408 §3.1, RFC 3947 §3, RFC 6407, IANA "ISAKMP Next Payload
    /// Types"). Proposal and Transform payloads only appear nested in an SA payload.
    pub enum PayloadType: u8 {
        /// No next payload.
        NoNext = 0 => "NONE",
        /// Security Association (RFC 2408 §3.4).
        Sa = 1 => "SA",
        /// Proposal (RFC 2408 §3.5), only inside an SA payload.
        Proposal = 2 => "P",
        /// Transform (RFC 2408 §3.6), only inside a Proposal payload.
        Transform = 3 => "T",
        /// Key Exchange (RFC 2408 §3.7).
        Ke = 4 => "KE",
        /// Identification (RFC 2408 §3.8).
        Id = 5 => "ID",
        /// Certificate (RFC 2408 §3.9).
        Cert = 6 => "CERT",
        /// Certificate Request (RFC 2408 §3.10).
        CertReq = 7 => "CR",
        /// Hash (RFC 2408 §3.11).
        Hash = 8 => "HASH",
        /// Signature (RFC 2408 §3.12).
        Sig = 9 => "SIG",
        /// Nonce (RFC 2408 §3.13).
        Nonce = 10 => "NONCE",
        /// Notification (RFC 2408 §3.14).
        Notify = 11 => "N",
        /// Delete (RFC 2408 §3.15).
        Delete = 12 => "D",
        /// Vendor ID (RFC 2408 §3.16).
        VendorId = 13 => "VID",
        /// Attribute, which carries Mode-Config (draft-dukes-ike-mode-cfg §3.2).
        Attribute = 14 => "ATTR",
        /// SA KEK (GDOI, RFC 6407).
        Sak = 15 => "SAK",
        /// SA TEK (GDOI).
        Sat = 16 => "SAT",
        /// Key Download (GDOI).
        Kd = 17 => "KD",
        /// Sequence Number (GDOI).
        Seq = 18 => "SEQ",
        /// Proof of Possession (GDOI).
        Pop = 19 => "POP",
        /// NAT Discovery (RFC 3947 §3.2).
        NatD = 20 => "NAT-D",
        /// NAT Original Address (RFC 3947 §5.2).
        NatOa = 21 => "NAT-OA",
        /// NAT Discovery, the number of draft-ietf-ipsec-nat-t-ike-02/03 that older peers use.
        NatDDraft = 130 => "NAT-D (draft)",
        /// NAT Original Address, draft number.
        NatOaDraft = 131 => "NAT-OA (draft)",
        /// IKE fragment (Cisco's format, also spoken by strongSwan and Libreswan).
        Fragment = 132 => "FRAG",
    }
}

registry! {
    /// Protocol identifiers of proposals, notifications and deletes (RFC 2407 §4.4.1).
    pub enum ProtocolId: u8 {
        /// ISAKMP itself (phase 1 SAs).
        Isakmp = 1 => "PROTO_ISAKMP",
        /// IPsec AH.
        Ah = 2 => "PROTO_IPSEC_AH",
        /// IPsec ESP.
        Esp = 3 => "PROTO_IPSEC_ESP",
        /// IP compression.
        Ipcomp = 4 => "PROTO_IPCOMP",
    }
}

/// Domain of Interpretation 0: generic ISAKMP (RFC 2408 §2.1).
pub const DOI_ISAKMP: u32 = 0;
/// Domain of Interpretation 1: IPsec (RFC 2407 §4.2).
pub const DOI_IPSEC: u32 = 1;
/// IPsec situation bit: identity only (RFC 2407 §4.2.1).
pub const SIT_IDENTITY_ONLY: u32 = 0x01;
/// IPsec situation bit: secrecy labels follow (RFC 2407 §4.2.2).
pub const SIT_SECRECY: u32 = 0x02;
/// IPsec situation bit: integrity labels follow (RFC 2407 §4.2.3).
pub const SIT_INTEGRITY: u32 = 0x04;

registry! {
    /// Notify message types: errors of RFC 2408 §3.14.1, status types of RFC 2408 §3.14.1 and
    /// RFC 2407 §4.6.3, and the Dead Peer Detection types of RFC 3706 §5.
    pub enum NotifyType: u16 {
        /// INVALID-PAYLOAD-TYPE.
        InvalidPayloadType = 1 => "INVALID-PAYLOAD-TYPE",
        /// DOI-NOT-SUPPORTED.
        DoiNotSupported = 2 => "DOI-NOT-SUPPORTED",
        /// SITUATION-NOT-SUPPORTED.
        SituationNotSupported = 3 => "SITUATION-NOT-SUPPORTED",
        /// INVALID-COOKIE.
        InvalidCookie = 4 => "INVALID-COOKIE",
        /// INVALID-MAJOR-VERSION.
        InvalidMajorVersion = 5 => "INVALID-MAJOR-VERSION",
        /// INVALID-MINOR-VERSION.
        InvalidMinorVersion = 6 => "INVALID-MINOR-VERSION",
        /// INVALID-EXCHANGE-TYPE.
        InvalidExchangeType = 7 => "INVALID-EXCHANGE-TYPE",
        /// INVALID-FLAGS.
        InvalidFlags = 8 => "INVALID-FLAGS",
        /// INVALID-MESSAGE-ID.
        InvalidMessageId = 9 => "INVALID-MESSAGE-ID",
        /// INVALID-PROTOCOL-ID.
        InvalidProtocolId = 10 => "INVALID-PROTOCOL-ID",
        /// INVALID-SPI.
        InvalidSpi = 11 => "INVALID-SPI",
        /// INVALID-TRANSFORM-ID.
        InvalidTransformId = 12 => "INVALID-TRANSFORM-ID",
        /// ATTRIBUTES-NOT-SUPPORTED.
        AttributesNotSupported = 13 => "ATTRIBUTES-NOT-SUPPORTED",
        /// NO-PROPOSAL-CHOSEN.
        NoProposalChosen = 14 => "NO-PROPOSAL-CHOSEN",
        /// BAD-PROPOSAL-SYNTAX.
        BadProposalSyntax = 15 => "BAD-PROPOSAL-SYNTAX",
        /// PAYLOAD-MALFORMED.
        PayloadMalformed = 16 => "PAYLOAD-MALFORMED",
        /// INVALID-KEY-INFORMATION.
        InvalidKeyInformation = 17 => "INVALID-KEY-INFORMATION",
        /// INVALID-ID-INFORMATION.
        InvalidIdInformation = 18 => "INVALID-ID-INFORMATION",
        /// INVALID-CERT-ENCODING.
        InvalidCertEncoding = 19 => "INVALID-CERT-ENCODING",
        /// INVALID-CERTIFICATE.
        InvalidCertificate = 20 => "INVALID-CERTIFICATE",
        /// CERT-TYPE-UNSUPPORTED.
        CertTypeUnsupported = 21 => "CERT-TYPE-UNSUPPORTED",
        /// INVALID-CERT-AUTHORITY.
        InvalidCertAuthority = 22 => "INVALID-CERT-AUTHORITY",
        /// INVALID-HASH-INFORMATION.
        InvalidHashInformation = 23 => "INVALID-HASH-INFORMATION",
        /// AUTHENTICATION-FAILED.
        AuthenticationFailed = 24 => "AUTHENTICATION-FAILED",
        /// INVALID-SIGNATURE.
        InvalidSignature = 25 => "INVALID-SIGNATURE",
        /// ADDRESS-NOTIFICATION.
        AddressNotification = 26 => "ADDRESS-NOTIFICATION",
        /// NOTIFY-SA-LIFETIME.
        NotifySaLifetime = 27 => "NOTIFY-SA-LIFETIME",
        /// CERTIFICATE-UNAVAILABLE.
        CertificateUnavailable = 28 => "CERTIFICATE-UNAVAILABLE",
        /// UNSUPPORTED-EXCHANGE-TYPE.
        UnsupportedExchangeType = 29 => "UNSUPPORTED-EXCHANGE-TYPE",
        /// UNEQUAL-PAYLOAD-LENGTHS.
        UnequalPayloadLengths = 30 => "UNEQUAL-PAYLOAD-LENGTHS",
        /// CONNECTED (RFC 2408 §3.14.1).
        Connected = 16384 => "CONNECTED",
        /// RESPONDER-LIFETIME (RFC 2407 §4.6.3.1).
        ResponderLifetime = 24576 => "RESPONDER-LIFETIME",
        /// REPLAY-STATUS (RFC 2407 §4.6.3.2).
        ReplayStatus = 24577 => "REPLAY-STATUS",
        /// INITIAL-CONTACT (RFC 2407 §4.6.3.3).
        InitialContact = 24578 => "INITIAL-CONTACT",
        /// R-U-THERE (RFC 3706 §5).
        RUThere = 36136 => "R-U-THERE",
        /// R-U-THERE-ACK (RFC 3706 §5).
        RUThereAck = 36137 => "R-U-THERE-ACK",
    }
}

impl NotifyType {
    /// Whether this is an error type (below 16384, counting the private-use errors 8192-16383 of
    /// RFC 2408 §3.14.1).
    pub fn is_error(self) -> bool {
        self.value() < 16384
    }
}

registry! {
    /// Identification types of the IPsec DOI (RFC 2407 §4.6.2.1).
    pub enum IdType: u8 {
        /// A single IPv4 address.
        Ipv4Addr = 1 => "ID_IPV4_ADDR",
        /// A fully-qualified domain name.
        Fqdn = 2 => "ID_FQDN",
        /// A fully-qualified user name (user@domain).
        UserFqdn = 3 => "ID_USER_FQDN",
        /// An IPv4 address and netmask.
        Ipv4AddrSubnet = 4 => "ID_IPV4_ADDR_SUBNET",
        /// A single IPv6 address.
        Ipv6Addr = 5 => "ID_IPV6_ADDR",
        /// An IPv6 address and netmask.
        Ipv6AddrSubnet = 6 => "ID_IPV6_ADDR_SUBNET",
        /// A range of IPv4 addresses.
        Ipv4AddrRange = 7 => "ID_IPV4_ADDR_RANGE",
        /// A range of IPv6 addresses.
        Ipv6AddrRange = 8 => "ID_IPV6_ADDR_RANGE",
        /// A DER-encoded ASN.1 X.500 Distinguished Name.
        DerAsn1Dn = 9 => "ID_DER_ASN1_DN",
        /// A DER-encoded ASN.1 X.500 GeneralName.
        DerAsn1Gn = 10 => "ID_DER_ASN1_GN",
        /// An opaque key identifier.
        KeyId = 11 => "ID_KEY_ID",
        /// A list of identities (RFC 3554).
        List = 12 => "ID_LIST",
    }
}

registry! {
    /// Certificate encodings (RFC 2408 §3.9).
    pub enum CertEncoding: u8 {
        /// NONE.
        None = 0 => "NONE",
        /// PKCS #7 wrapped X.509 certificate.
        Pkcs7 = 1 => "PKCS #7 wrapped X.509 certificate",
        /// PGP certificate.
        Pgp = 2 => "PGP Certificate",
        /// DNS signed key.
        DnsSignedKey = 3 => "DNS Signed Key",
        /// X.509 certificate - signature.
        X509Signature = 4 => "X.509 Certificate - Signature",
        /// X.509 certificate - key exchange.
        X509KeyExchange = 5 => "X.509 Certificate - Key Exchange",
        /// Kerberos tokens.
        Kerberos = 6 => "Kerberos Tokens",
        /// Certificate revocation list.
        Crl = 7 => "Certificate Revocation List (CRL)",
        /// Authority revocation list.
        Arl = 8 => "Authority Revocation List (ARL)",
        /// SPKI certificate.
        Spki = 9 => "SPKI Certificate",
        /// X.509 certificate - attribute.
        X509Attribute = 10 => "X.509 Certificate - Attribute",
    }
}

registry! {
    /// Attribute types of ISAKMP (phase 1) transforms: the Oakley attribute classes of RFC 2409
    /// Appendix A.
    pub enum OakleyAttrType: u16 {
        /// Encryption algorithm ([`OakleyEncr`]).
        Encryption = 1 => "Encryption Algorithm",
        /// Hash algorithm ([`OakleyHash`]).
        Hash = 2 => "Hash Algorithm",
        /// Authentication method ([`OakleyAuthMethod`]).
        AuthMethod = 3 => "Authentication Method",
        /// Group description ([`DhGroup`]).
        GroupDescription = 4 => "Group Description",
        /// Group type ([`GroupType`]).
        GroupType = 5 => "Group Type",
        /// Group prime or irreducible polynomial.
        GroupPrime = 6 => "Group Prime/Irreducible Polynomial",
        /// Group generator one.
        GroupGeneratorOne = 7 => "Group Generator One",
        /// Group generator two.
        GroupGeneratorTwo = 8 => "Group Generator Two",
        /// Group curve A.
        GroupCurveA = 9 => "Group Curve A",
        /// Group curve B.
        GroupCurveB = 10 => "Group Curve B",
        /// Life type ([`LifeType`]).
        LifeType = 11 => "Life Type",
        /// Life duration (TV or TLV).
        LifeDuration = 12 => "Life Duration",
        /// PRF.
        Prf = 13 => "PRF",
        /// Key length in bits.
        KeyLength = 14 => "Key Length",
        /// Field size in bits.
        FieldSize = 15 => "Field Size",
        /// Group order.
        GroupOrder = 16 => "Group Order",
    }
}

registry! {
    /// Values of the Oakley Encryption Algorithm attribute (RFC 2409 Appendix A, RFC 3602, RFC
    /// 4312).
    pub enum OakleyEncr: u16 {
        /// DES-CBC.
        DesCbc = 1 => "DES-CBC",
        /// IDEA-CBC.
        IdeaCbc = 2 => "IDEA-CBC",
        /// Blowfish-CBC.
        BlowfishCbc = 3 => "Blowfish-CBC",
        /// RC5-R16-B64-CBC.
        Rc5Cbc = 4 => "RC5-R16-B64-CBC",
        /// 3DES-CBC.
        TripleDesCbc = 5 => "3DES-CBC",
        /// CAST-CBC.
        CastCbc = 6 => "CAST-CBC",
        /// AES-CBC.
        AesCbc = 7 => "AES-CBC",
        /// CAMELLIA-CBC.
        CamelliaCbc = 8 => "CAMELLIA-CBC",
    }
}

registry! {
    /// Values of the Oakley Hash Algorithm attribute (RFC 2409 Appendix A, RFC 4868).
    pub enum OakleyHash: u16 {
        /// MD5.
        Md5 = 1 => "MD5",
        /// SHA-1.
        Sha1 = 2 => "SHA",
        /// Tiger.
        Tiger = 3 => "Tiger",
        /// SHA2-256.
        Sha256 = 4 => "SHA2-256",
        /// SHA2-384.
        Sha384 = 5 => "SHA2-384",
        /// SHA2-512.
        Sha512 = 6 => "SHA2-512",
    }
}

registry! {
    /// Values of the Oakley Authentication Method attribute (RFC 2409 Appendix A, RFC 4754, and
    /// the private-use numbers of draft-ietf-ipsec-isakmp-hybrid-auth and
    /// draft-beaulieu-ike-xauth that every XAUTH implementation uses).
    pub enum OakleyAuthMethod: u16 {
        /// Pre-shared key.
        PreSharedKey = 1 => "Pre-Shared Key",
        /// DSS signatures.
        DssSignatures = 2 => "DSS Signatures",
        /// RSA signatures.
        RsaSignatures = 3 => "RSA Signatures",
        /// Encryption with RSA.
        RsaEncryption = 4 => "Encryption with RSA",
        /// Revised encryption with RSA.
        RsaRevisedEncryption = 5 => "Revised Encryption with RSA",
        /// ECDSA with SHA-256 on the P-256 curve (RFC 4754).
        EcdsaP256 = 9 => "ECDSA with SHA-256 on the P-256 curve",
        /// ECDSA with SHA-384 on the P-384 curve (RFC 4754).
        EcdsaP384 = 10 => "ECDSA with SHA-384 on the P-384 curve",
        /// ECDSA with SHA-512 on the P-521 curve (RFC 4754).
        EcdsaP521 = 11 => "ECDSA with SHA-512 on the P-521 curve",
        /// Hybrid authentication, initiator side, RSA.
        HybridInitRsa = 64221 => "HybridInitRSA",
        /// Hybrid authentication, responder side, RSA.
        HybridRespRsa = 64222 => "HybridRespRSA",
        /// Hybrid authentication, initiator side, DSS.
        HybridInitDss = 64223 => "HybridInitDSS",
        /// Hybrid authentication, responder side, DSS.
        HybridRespDss = 64224 => "HybridRespDSS",
        /// XAUTH with pre-shared key, initiator side.
        XauthInitPreShared = 65001 => "XAUTHInitPreShared",
        /// XAUTH with pre-shared key, responder side.
        XauthRespPreShared = 65002 => "XAUTHRespPreShared",
        /// XAUTH with DSS signatures, initiator side.
        XauthInitDss = 65003 => "XAUTHInitDSS",
        /// XAUTH with DSS signatures, responder side.
        XauthRespDss = 65004 => "XAUTHRespDSS",
        /// XAUTH with RSA signatures, initiator side.
        XauthInitRsa = 65005 => "XAUTHInitRSA",
        /// XAUTH with RSA signatures, responder side.
        XauthRespRsa = 65006 => "XAUTHRespRSA",
        /// XAUTH with RSA encryption, initiator side.
        XauthInitRsaEncryption = 65007 => "XAUTHInitRSAEncryption",
        /// XAUTH with RSA encryption, responder side.
        XauthRespRsaEncryption = 65008 => "XAUTHRespRSAEncryption",
        /// XAUTH with revised RSA encryption, initiator side.
        XauthInitRsaRevisedEncryption = 65009 => "XAUTHInitRSARevisedEncryption",
        /// XAUTH with revised RSA encryption, responder side.
        XauthRespRsaRevisedEncryption = 65010 => "XAUTHRespRSARevisedEncryption",
    }
}

registry! {
    /// Values of the Oakley Group Type attribute (RFC 2409 Appendix A).
    pub enum GroupType: u16 {
        /// Modular exponentiation group.
        Modp = 1 => "MODP",
        /// Elliptic curve group over GF(P).
        Ecp = 2 => "ECP",
        /// Elliptic curve group over GF(2^N).
        Ec2n = 3 => "EC2N",
    }
}

registry! {
    /// Values of the Oakley Life Type and the IPsec SA Life Type attributes (RFC 2409 Appendix
    /// A, RFC 2407 §4.5).
    pub enum LifeType: u16 {
        /// Seconds.
        Seconds = 1 => "seconds",
        /// Kilobytes.
        Kilobytes = 2 => "kilobytes",
    }
}

registry! {
    /// Attribute types of IPsec DOI (phase 2) transforms (RFC 2407 §4.5, RFC 3168, RFC 4304).
    pub enum IpsecAttrType: u16 {
        /// SA life type ([`LifeType`]).
        SaLifeType = 1 => "SA Life Type",
        /// SA life duration (TV or TLV).
        SaLifeDuration = 2 => "SA Life Duration",
        /// Group description, for PFS ([`DhGroup`]).
        GroupDescription = 3 => "Group Description",
        /// Encapsulation mode ([`EncapsulationMode`]).
        EncapsulationMode = 4 => "Encapsulation Mode",
        /// Authentication algorithm ([`IpsecAuthAlg`]).
        AuthAlgorithm = 5 => "Authentication Algorithm",
        /// Key length in bits.
        KeyLength = 6 => "Key Length",
        /// Key rounds.
        KeyRounds = 7 => "Key Rounds",
        /// Compress dictionary size.
        CompressDictionarySize = 8 => "Compress Dictionary Size",
        /// Compress private algorithm.
        CompressPrivateAlgorithm = 9 => "Compress Private Algorithm",
        /// ECN tunnel (RFC 3168 §9.2.1.1, [`EcnTunnel`]).
        EcnTunnel = 10 => "ECN Tunnel",
        /// Extended (64-bit) sequence number (RFC 4304 §2).
        ExtendedSequenceNumber = 11 => "Extended (64-bit) Sequence Number",
    }
}

registry! {
    /// Values of the IPsec Encapsulation Mode attribute (RFC 2407 §4.5, RFC 3947 §5, and the
    /// numbers of draft-ietf-ipsec-nat-t-ike-02/03 that older peers send).
    pub enum EncapsulationMode: u16 {
        /// Tunnel mode.
        Tunnel = 1 => "Tunnel",
        /// Transport mode.
        Transport = 2 => "Transport",
        /// UDP-encapsulated tunnel mode (RFC 3947).
        UdpTunnel = 3 => "UDP-Encapsulated-Tunnel",
        /// UDP-encapsulated transport mode (RFC 3947).
        UdpTransport = 4 => "UDP-Encapsulated-Transport",
        /// UDP-encapsulated tunnel mode, draft number.
        UdpTunnelDraft = 61443 => "UDP-Encapsulated-Tunnel (draft)",
        /// UDP-encapsulated transport mode, draft number.
        UdpTransportDraft = 61444 => "UDP-Encapsulated-Transport (draft)",
    }
}

registry! {
    /// Values of the IPsec Authentication Algorithm attribute (RFC 2407 §4.5, RFC 4868, RFC
    /// 3566, RFC 4543).
    pub enum IpsecAuthAlg: u16 {
        /// HMAC-MD5.
        HmacMd5 = 1 => "HMAC-MD5",
        /// HMAC-SHA-1.
        HmacSha = 2 => "HMAC-SHA",
        /// DES-MAC.
        DesMac = 3 => "DES-MAC",
        /// KPDK.
        Kpdk = 4 => "KPDK",
        /// HMAC-SHA2-256.
        HmacSha256 = 5 => "HMAC-SHA2-256",
        /// HMAC-SHA2-384.
        HmacSha384 = 6 => "HMAC-SHA2-384",
        /// HMAC-SHA2-512.
        HmacSha512 = 7 => "HMAC-SHA2-512",
        /// HMAC-RIPEMD.
        HmacRipemd = 8 => "HMAC-RIPEMD",
        /// AES-XCBC-MAC.
        AesXcbcMac = 9 => "AES-XCBC-MAC",
        /// SIG-RSA.
        SigRsa = 10 => "SIG-RSA",
        /// AES-128-GMAC.
        Aes128Gmac = 11 => "AES-128-GMAC",
        /// AES-192-GMAC.
        Aes192Gmac = 12 => "AES-192-GMAC",
        /// AES-256-GMAC.
        Aes256Gmac = 13 => "AES-256-GMAC",
    }
}

registry! {
    /// Values of the ECN Tunnel attribute (RFC 3168 §9.2.1.1).
    pub enum EcnTunnel: u16 {
        /// Full-functionality ECN allowed.
        Allowed = 1 => "Allowed",
        /// Full-functionality ECN forbidden.
        Forbidden = 2 => "Forbidden",
    }
}

registry! {
    /// Transform IDs of PROTO_ISAKMP proposals (RFC 2407 §4.4.2).
    pub enum IsakmpTransformId: u8 {
        /// The IKE key exchange; the algorithms are in the attributes.
        KeyIke = 1 => "KEY_IKE",
    }
}

registry! {
    /// Transform IDs of PROTO_IPSEC_AH proposals (RFC 2407 §4.4.3, IANA "IPSEC AH Transform
    /// Identifiers").
    pub enum AhTransformId: u8 {
        /// AH with HMAC-MD5.
        Md5 = 2 => "AH_MD5",
        /// AH with HMAC-SHA-1.
        Sha = 3 => "AH_SHA",
        /// AH with DES-MAC.
        Des = 4 => "AH_DES",
        /// AH with HMAC-SHA2-256.
        Sha256 = 5 => "AH_SHA2-256",
        /// AH with HMAC-SHA2-384.
        Sha384 = 6 => "AH_SHA2-384",
        /// AH with HMAC-SHA2-512.
        Sha512 = 7 => "AH_SHA2-512",
        /// AH with HMAC-RIPEMD.
        Ripemd = 8 => "AH_RIPEMD",
        /// AH with AES-XCBC-MAC.
        AesXcbcMac = 9 => "AH_AES-XCBC-MAC",
        /// AH with RSA signatures.
        Rsa = 10 => "AH_RSA",
        /// AH with AES-128-GMAC.
        Aes128Gmac = 11 => "AH_AES-128-GMAC",
        /// AH with AES-192-GMAC.
        Aes192Gmac = 12 => "AH_AES-192-GMAC",
        /// AH with AES-256-GMAC.
        Aes256Gmac = 13 => "AH_AES-256-GMAC",
    }
}

registry! {
    /// Transform IDs of PROTO_IPSEC_ESP proposals (RFC 2407 §4.4.4, IANA "IPSEC ESP Transform
    /// Identifiers").
    pub enum EspTransformId: u8 {
        /// DES with a 64-bit IV.
        DesIv64 = 1 => "ESP_DES_IV64",
        /// DES.
        Des = 2 => "ESP_DES",
        /// Triple DES.
        TripleDes = 3 => "ESP_3DES",
        /// RC5.
        Rc5 = 4 => "ESP_RC5",
        /// IDEA.
        Idea = 5 => "ESP_IDEA",
        /// CAST.
        Cast = 6 => "ESP_CAST",
        /// Blowfish.
        Blowfish = 7 => "ESP_BLOWFISH",
        /// Triple IDEA.
        TripleIdea = 8 => "ESP_3IDEA",
        /// DES with a 32-bit IV.
        DesIv32 = 9 => "ESP_DES_IV32",
        /// RC4.
        Rc4 = 10 => "ESP_RC4",
        /// No encryption.
        Null = 11 => "ESP_NULL",
        /// AES-CBC (RFC 3602).
        Aes = 12 => "ESP_AES",
        /// AES-CTR (RFC 3686).
        AesCtr = 13 => "ESP_AES-CTR",
        /// AES-CCM with an 8-byte ICV (RFC 4309).
        AesCcm8 = 14 => "ESP_AES-CCM_8",
        /// AES-CCM with a 12-byte ICV.
        AesCcm12 = 15 => "ESP_AES-CCM_12",
        /// AES-CCM with a 16-byte ICV.
        AesCcm16 = 16 => "ESP_AES-CCM_16",
        /// AES-GCM with an 8-byte ICV (RFC 4106).
        AesGcm8 = 18 => "ESP_AES-GCM_8",
        /// AES-GCM with a 12-byte ICV.
        AesGcm12 = 19 => "ESP_AES-GCM_12",
        /// AES-GCM with a 16-byte ICV.
        AesGcm16 = 20 => "ESP_AES-GCM_16",
        /// SEED-CBC (RFC 4196).
        SeedCbc = 21 => "ESP_SEED_CBC",
        /// Camellia-CBC (RFC 4312).
        Camellia = 22 => "ESP_CAMELLIA",
        /// AES-GMAC without encryption (RFC 4543).
        NullAuthAesGmac = 23 => "ESP_NULL_AUTH_AES-GMAC",
    }
}

registry! {
    /// Transform IDs of PROTO_IPCOMP proposals (RFC 2407 §4.4.5).
    pub enum IpcompTransformId: u8 {
        /// Vendor-specific (OUI).
        Oui = 1 => "IPCOMP_OUI",
        /// DEFLATE (RFC 2394).
        Deflate = 2 => "IPCOMP_DEFLATE",
        /// LZS (RFC 2395).
        Lzs = 3 => "IPCOMP_LZS",
        /// LZJH (RFC 3051).
        Lzjh = 4 => "IPCOMP_LZJH",
    }
}

registry! {
    /// Types of the Mode-Config Attribute payload (draft-dukes-ike-mode-cfg §3.2).
    pub enum CfgType: u8 {
        /// A request for attributes.
        Request = 1 => "ISAKMP_CFG_REQUEST",
        /// The reply to a request.
        Reply = 2 => "ISAKMP_CFG_REPLY",
        /// Attributes pushed to the peer.
        Set = 3 => "ISAKMP_CFG_SET",
        /// The acknowledgement of a SET.
        Ack = 4 => "ISAKMP_CFG_ACK",
    }
}

registry! {
    /// Mode-Config attribute types (draft-dukes-ike-mode-cfg §3.2, draft-beaulieu-ike-xauth §6,
    /// and Cisco Unity's private numbers as strongSwan and ipsec-tools name them).
    pub enum CfgAttrType: u16 {
        /// INTERNAL_IP4_ADDRESS.
        InternalIp4Address = 1 => "INTERNAL_IP4_ADDRESS",
        /// INTERNAL_IP4_NETMASK.
        InternalIp4Netmask = 2 => "INTERNAL_IP4_NETMASK",
        /// INTERNAL_IP4_DNS.
        InternalIp4Dns = 3 => "INTERNAL_IP4_DNS",
        /// INTERNAL_IP4_NBNS.
        InternalIp4Nbns = 4 => "INTERNAL_IP4_NBNS",
        /// INTERNAL_ADDRESS_EXPIRY.
        InternalAddressExpiry = 5 => "INTERNAL_ADDRESS_EXPIRY",
        /// INTERNAL_IP4_DHCP.
        InternalIp4Dhcp = 6 => "INTERNAL_IP4_DHCP",
        /// APPLICATION_VERSION.
        ApplicationVersion = 7 => "APPLICATION_VERSION",
        /// INTERNAL_IP6_ADDRESS.
        InternalIp6Address = 8 => "INTERNAL_IP6_ADDRESS",
        /// INTERNAL_IP6_NETMASK.
        InternalIp6Netmask = 9 => "INTERNAL_IP6_NETMASK",
        /// INTERNAL_IP6_DNS.
        InternalIp6Dns = 10 => "INTERNAL_IP6_DNS",
        /// INTERNAL_IP6_NBNS.
        InternalIp6Nbns = 11 => "INTERNAL_IP6_NBNS",
        /// INTERNAL_IP6_DHCP.
        InternalIp6Dhcp = 12 => "INTERNAL_IP6_DHCP",
        /// INTERNAL_IP4_SUBNET.
        InternalIp4Subnet = 13 => "INTERNAL_IP4_SUBNET",
        /// SUPPORTED_ATTRIBUTES.
        SupportedAttributes = 14 => "SUPPORTED_ATTRIBUTES",
        /// INTERNAL_IP6_SUBNET.
        InternalIp6Subnet = 15 => "INTERNAL_IP6_SUBNET",
        /// XAUTH-TYPE.
        XauthType = 16520 => "XAUTH_TYPE",
        /// XAUTH-USER-NAME.
        XauthUserName = 16521 => "XAUTH_USER_NAME",
        /// XAUTH-USER-PASSWORD.
        XauthUserPassword = 16522 => "XAUTH_USER_PASSWORD",
        /// XAUTH-PASSCODE.
        XauthPasscode = 16523 => "XAUTH_PASSCODE",
        /// XAUTH-MESSAGE.
        XauthMessage = 16524 => "XAUTH_MESSAGE",
        /// XAUTH-CHALLENGE.
        XauthChallenge = 16525 => "XAUTH_CHALLENGE",
        /// XAUTH-DOMAIN.
        XauthDomain = 16526 => "XAUTH_DOMAIN",
        /// XAUTH-STATUS.
        XauthStatus = 16527 => "XAUTH_STATUS",
        /// XAUTH-NEXT-PIN.
        XauthNextPin = 16528 => "XAUTH_NEXT_PIN",
        /// XAUTH-ANSWER.
        XauthAnswer = 16529 => "XAUTH_ANSWER",
        /// Cisco Unity banner.
        UnityBanner = 28672 => "UNITY_BANNER",
        /// Cisco Unity save-password flag.
        UnitySavePasswd = 28673 => "UNITY_SAVE_PASSWD",
        /// Cisco Unity default domain.
        UnityDefDomain = 28674 => "UNITY_DEF_DOMAIN",
        /// Cisco Unity split-DNS names.
        UnitySplitDnsName = 28675 => "UNITY_SPLITDNS_NAME",
        /// Cisco Unity split-tunnel include list.
        UnitySplitInclude = 28676 => "UNITY_SPLIT_INCLUDE",
        /// Cisco Unity NAT-T port.
        UnityNattPort = 28677 => "UNITY_NATT_PORT",
        /// Cisco Unity local LAN (split-tunnel exclude list).
        UnityLocalLan = 28678 => "UNITY_LOCAL_LAN",
        /// Cisco Unity PFS group.
        UnityPfs = 28679 => "UNITY_PFS",
        /// Cisco Unity firewall type.
        UnityFwType = 28680 => "UNITY_FW_TYPE",
        /// Cisco Unity backup servers.
        UnityBackupServers = 28681 => "UNITY_BACKUP_SERVERS",
        /// Cisco Unity DDNS host name.
        UnityDdnsHostname = 28682 => "UNITY_DDNS_HOSTNAME",
    }
}

/// The registry name of a transform ID, whose registry depends on the proposal's protocol (RFC
/// 2407 §4.4.2-§4.4.5).
pub fn transform_id_name(protocol: ProtocolId, id: u8) -> Option<&'static str> {
    match protocol {
        ProtocolId::Isakmp => IsakmpTransformId::from(id).name(),
        ProtocolId::Ah => AhTransformId::from(id).name(),
        ProtocolId::Esp => EspTransformId::from(id).name(),
        ProtocolId::Ipcomp => IpcompTransformId::from(id).name(),
        ProtocolId::Unknown(_) => None,
    }
}

/// The name of a transform attribute type: an Oakley attribute class for PROTO_ISAKMP
/// proposals (RFC 2409 Appendix A), an IPsec DOI attribute otherwise (RFC 2407 §4.5).
pub fn attribute_type_name(protocol: ProtocolId, attr_type: u16) -> Option<&'static str> {
    if protocol == ProtocolId::Isakmp {
        OakleyAttrType::from(attr_type).name()
    } else {
        IpsecAttrType::from(attr_type).name()
    }
}

/// The name of a TV attribute's value, for the attribute types whose values form a registry
/// (encryption, hash, authentication method, groups, life type, encapsulation mode, ...). The
/// attribute space is chosen from the protocol as in [`attribute_type_name`].
pub fn attribute_value_name(
    protocol: ProtocolId,
    attr_type: u16,
    value: u16,
) -> Option<&'static str> {
    if protocol == ProtocolId::Isakmp {
        match OakleyAttrType::from(attr_type) {
            OakleyAttrType::Encryption => OakleyEncr::from(value).name(),
            OakleyAttrType::Hash => OakleyHash::from(value).name(),
            OakleyAttrType::AuthMethod => OakleyAuthMethod::from(value).name(),
            OakleyAttrType::GroupDescription => DhGroup::from(value).name(),
            OakleyAttrType::GroupType => GroupType::from(value).name(),
            OakleyAttrType::LifeType => LifeType::from(value).name(),
            _ => None,
        }
    } else {
        match IpsecAttrType::from(attr_type) {
            IpsecAttrType::SaLifeType => LifeType::from(value).name(),
            IpsecAttrType::GroupDescription => DhGroup::from(value).name(),
            IpsecAttrType::EncapsulationMode => EncapsulationMode::from(value).name(),
            IpsecAttrType::AuthAlgorithm => IpsecAuthAlg::from(value).name(),
            IpsecAttrType::EcnTunnel => EcnTunnel::from(value).name(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_depend_on_protocol() {
        assert_eq!(transform_id_name(ProtocolId::Isakmp, 1), Some("KEY_IKE"));
        assert_eq!(transform_id_name(ProtocolId::Esp, 12), Some("ESP_AES"));
        assert_eq!(transform_id_name(ProtocolId::Ah, 3), Some("AH_SHA"));
        assert_eq!(
            transform_id_name(ProtocolId::Ipcomp, 2),
            Some("IPCOMP_DEFLATE")
        );
        assert_eq!(transform_id_name(ProtocolId::Unknown(9), 1), None);
        assert_eq!(
            attribute_type_name(ProtocolId::Isakmp, 4),
            Some("Group Description")
        );
        assert_eq!(
            attribute_type_name(ProtocolId::Esp, 4),
            Some("Encapsulation Mode")
        );
        assert_eq!(
            attribute_value_name(ProtocolId::Isakmp, 4, 14),
            Some("MODP_2048")
        );
        assert_eq!(
            attribute_value_name(ProtocolId::Esp, 3, 14),
            Some("MODP_2048")
        );
        assert_eq!(
            attribute_value_name(ProtocolId::Esp, 4, 3),
            Some("UDP-Encapsulated-Tunnel")
        );
        assert_eq!(
            attribute_value_name(ProtocolId::Isakmp, 3, 65001),
            Some("XAUTHInitPreShared")
        );
        assert_eq!(attribute_value_name(ProtocolId::Isakmp, 12, 28800), None);
    }

    #[test]
    fn unknown_numbers_round_trip() {
        assert_eq!(PayloadType::from(200), PayloadType::Unknown(200));
        assert_eq!(PayloadType::Unknown(200).value(), 200);
        assert_eq!(NotifyType::from(36136), NotifyType::RUThere);
        assert!(NotifyType::InvalidSpi.is_error());
        assert!(!NotifyType::InitialContact.is_error());
        assert_eq!(ExchangeType::MAIN_MODE.value(), 2);
    }
}
