//! IKEv2 IANA registries (RFC 7296 §3 and the "Internet Key Exchange Version 2 (IKEv2)
//! Parameters" registry).

registry! {
    /// Exchange types (RFC 7296 §3.1, RFC 9242, RFC 9370).
    pub enum ExchangeType: u8 {
        /// IKE_SA_INIT.
        IkeSaInit = 34 => "IKE_SA_INIT",
        /// IKE_AUTH.
        IkeAuth = 35 => "IKE_AUTH",
        /// CREATE_CHILD_SA.
        CreateChildSa = 36 => "CREATE_CHILD_SA",
        /// INFORMATIONAL.
        Informational = 37 => "INFORMATIONAL",
        /// IKE_SESSION_RESUME (RFC 5723).
        IkeSessionResume = 38 => "IKE_SESSION_RESUME",
        /// GSA_AUTH (RFC 9838).
        GsaAuth = 39 => "GSA_AUTH",
        /// GSA_REGISTRATION.
        GsaRegistration = 40 => "GSA_REGISTRATION",
        /// GSA_REKEY.
        GsaRekey = 41 => "GSA_REKEY",
        /// IKE_INTERMEDIATE (RFC 9242).
        IkeIntermediate = 43 => "IKE_INTERMEDIATE",
        /// IKE_FOLLOWUP_KE (RFC 9370).
        IkeFollowupKe = 44 => "IKE_FOLLOWUP_KE",
        /// GSA_INBAND_REKEY.
        GsaInbandRekey = 45 => "GSA_INBAND_REKEY",
    }
}

registry! {
    /// Payload types (RFC 7296 §3.2, RFC 7383, RFC 9838).
    pub enum PayloadType: u8 {
        /// No next payload.
        NoNext = 0 => "NONE",
        /// Security Association.
        Sa = 33 => "SA",
        /// Key Exchange.
        Ke = 34 => "KE",
        /// Identification - Initiator.
        IdI = 35 => "IDi",
        /// Identification - Responder.
        IdR = 36 => "IDr",
        /// Certificate.
        Cert = 37 => "CERT",
        /// Certificate Request.
        CertReq = 38 => "CERTREQ",
        /// Authentication.
        Auth = 39 => "AUTH",
        /// Nonce.
        Nonce = 40 => "Ni/Nr",
        /// Notify.
        Notify = 41 => "N",
        /// Delete.
        Delete = 42 => "D",
        /// Vendor ID.
        VendorId = 43 => "V",
        /// Traffic Selector - Initiator.
        TsI = 44 => "TSi",
        /// Traffic Selector - Responder.
        TsR = 45 => "TSr",
        /// Encrypted and Authenticated.
        Sk = 46 => "SK",
        /// Configuration.
        Cp = 47 => "CP",
        /// Extensible Authentication.
        Eap = 48 => "EAP",
        /// Generic Secure Password Method.
        Gspm = 49 => "GSPM",
        /// Group Identification.
        IdG = 50 => "IDg",
        /// Group Security Association.
        Gsa = 51 => "GSA",
        /// Key Download.
        Kd = 52 => "KD",
        /// Encrypted and Authenticated Fragment (RFC 7383).
        Skf = 53 => "SKF",
        /// Puzzle Solution (RFC 8019).
        Ps = 54 => "PS",
    }
}

registry! {
    /// Protocol identifiers of proposals, notifies and deletes (RFC 7296 §3.3.1).
    pub enum ProtocolId: u8 {
        /// None (notifies not about an SA).
        None = 0 => "NONE",
        /// IKE.
        Ike = 1 => "IKE",
        /// AH.
        Ah = 2 => "AH",
        /// ESP.
        Esp = 3 => "ESP",
        /// FC_ESP_HEADER (RFC 4595).
        FcEspHeader = 4 => "FC_ESP_HEADER",
        /// FC_CT_AUTHENTICATION (RFC 4595).
        FcCtAuthentication = 5 => "FC_CT_AUTHENTICATION",
    }
}

registry! {
    /// Transform types (RFC 7296 §3.3.2, RFC 9370).
    pub enum TransformType: u8 {
        /// Encryption algorithm.
        Encr = 1 => "ENCR",
        /// Pseudorandom function.
        Prf = 2 => "PRF",
        /// Integrity algorithm.
        Integ = 3 => "INTEG",
        /// Key exchange method (Diffie-Hellman group).
        Ke = 4 => "KE",
        /// Extended sequence numbers / sequence numbers.
        Esn = 5 => "ESN",
        /// Additional key exchange 1 (RFC 9370).
        AddKe1 = 6 => "ADDKE1",
        /// Additional key exchange 2.
        AddKe2 = 7 => "ADDKE2",
        /// Additional key exchange 3.
        AddKe3 = 8 => "ADDKE3",
        /// Additional key exchange 4.
        AddKe4 = 9 => "ADDKE4",
        /// Additional key exchange 5.
        AddKe5 = 10 => "ADDKE5",
        /// Additional key exchange 6.
        AddKe6 = 11 => "ADDKE6",
        /// Additional key exchange 7.
        AddKe7 = 12 => "ADDKE7",
    }
}

registry! {
    /// Transform type 1: encryption algorithms.
    pub enum EncrId: u16 {
        /// ENCR_DES_IV64.
        DesIv64 = 1 => "ENCR_DES_IV64",
        /// ENCR_DES.
        Des = 2 => "ENCR_DES",
        /// ENCR_3DES.
        TripleDes = 3 => "ENCR_3DES",
        /// ENCR_RC5.
        Rc5 = 4 => "ENCR_RC5",
        /// ENCR_IDEA.
        Idea = 5 => "ENCR_IDEA",
        /// ENCR_CAST.
        Cast = 6 => "ENCR_CAST",
        /// ENCR_BLOWFISH.
        Blowfish = 7 => "ENCR_BLOWFISH",
        /// ENCR_3IDEA.
        TripleIdea = 8 => "ENCR_3IDEA",
        /// ENCR_DES_IV32.
        DesIv32 = 9 => "ENCR_DES_IV32",
        /// ENCR_NULL.
        Null = 11 => "ENCR_NULL",
        /// ENCR_AES_CBC.
        AesCbc = 12 => "ENCR_AES_CBC",
        /// ENCR_AES_CTR.
        AesCtr = 13 => "ENCR_AES_CTR",
        /// ENCR_AES_CCM_8.
        AesCcm8 = 14 => "ENCR_AES_CCM_8",
        /// ENCR_AES_CCM_12.
        AesCcm12 = 15 => "ENCR_AES_CCM_12",
        /// ENCR_AES_CCM_16.
        AesCcm16 = 16 => "ENCR_AES_CCM_16",
        /// ENCR_AES_GCM_8.
        AesGcm8 = 18 => "ENCR_AES_GCM_8",
        /// ENCR_AES_GCM_12.
        AesGcm12 = 19 => "ENCR_AES_GCM_12",
        /// ENCR_AES_GCM_16.
        AesGcm16 = 20 => "ENCR_AES_GCM_16",
        /// ENCR_NULL_AUTH_AES_GMAC.
        NullAuthAesGmac = 21 => "ENCR_NULL_AUTH_AES_GMAC",
        /// ENCR_CAMELLIA_CBC.
        CamelliaCbc = 23 => "ENCR_CAMELLIA_CBC",
        /// ENCR_CAMELLIA_CTR.
        CamelliaCtr = 24 => "ENCR_CAMELLIA_CTR",
        /// ENCR_CAMELLIA_CCM_8.
        CamelliaCcm8 = 25 => "ENCR_CAMELLIA_CCM_8",
        /// ENCR_CAMELLIA_CCM_12.
        CamelliaCcm12 = 26 => "ENCR_CAMELLIA_CCM_12",
        /// ENCR_CAMELLIA_CCM_16.
        CamelliaCcm16 = 27 => "ENCR_CAMELLIA_CCM_16",
        /// ENCR_CHACHA20_POLY1305 (RFC 7634).
        ChaCha20Poly1305 = 28 => "ENCR_CHACHA20_POLY1305",
        /// ENCR_AES_CCM_8_IIV.
        AesCcm8Iiv = 29 => "ENCR_AES_CCM_8_IIV",
        /// ENCR_AES_GCM_16_IIV.
        AesGcm16Iiv = 30 => "ENCR_AES_GCM_16_IIV",
        /// ENCR_CHACHA20_POLY1305_IIV.
        ChaCha20Poly1305Iiv = 31 => "ENCR_CHACHA20_POLY1305_IIV",
    }
}

registry! {
    /// Transform type 2: pseudorandom functions.
    pub enum PrfId: u16 {
        /// PRF_HMAC_MD5.
        HmacMd5 = 1 => "PRF_HMAC_MD5",
        /// PRF_HMAC_SHA1.
        HmacSha1 = 2 => "PRF_HMAC_SHA1",
        /// PRF_HMAC_TIGER.
        HmacTiger = 3 => "PRF_HMAC_TIGER",
        /// PRF_AES128_XCBC (RFC 4434).
        Aes128Xcbc = 4 => "PRF_AES128_XCBC",
        /// PRF_HMAC_SHA2_256.
        HmacSha256 = 5 => "PRF_HMAC_SHA2_256",
        /// PRF_HMAC_SHA2_384.
        HmacSha384 = 6 => "PRF_HMAC_SHA2_384",
        /// PRF_HMAC_SHA2_512.
        HmacSha512 = 7 => "PRF_HMAC_SHA2_512",
        /// PRF_AES128_CMAC (RFC 4615).
        Aes128Cmac = 8 => "PRF_AES128_CMAC",
        /// PRF_HMAC_STREEBOG_512.
        HmacStreebog512 = 9 => "PRF_HMAC_STREEBOG_512",
    }
}

registry! {
    /// Transform type 3: integrity algorithms.
    pub enum IntegId: u16 {
        /// NONE.
        None = 0 => "NONE",
        /// AUTH_HMAC_MD5_96.
        HmacMd5_96 = 1 => "AUTH_HMAC_MD5_96",
        /// AUTH_HMAC_SHA1_96.
        HmacSha1_96 = 2 => "AUTH_HMAC_SHA1_96",
        /// AUTH_DES_MAC.
        DesMac = 3 => "AUTH_DES_MAC",
        /// AUTH_KPDK_MD5.
        KpdkMd5 = 4 => "AUTH_KPDK_MD5",
        /// AUTH_AES_XCBC_96.
        AesXcbc96 = 5 => "AUTH_AES_XCBC_96",
        /// AUTH_HMAC_MD5_128.
        HmacMd5_128 = 6 => "AUTH_HMAC_MD5_128",
        /// AUTH_HMAC_SHA1_160.
        HmacSha1_160 = 7 => "AUTH_HMAC_SHA1_160",
        /// AUTH_AES_CMAC_96.
        AesCmac96 = 8 => "AUTH_AES_CMAC_96",
        /// AUTH_AES_128_GMAC.
        Aes128Gmac = 9 => "AUTH_AES_128_GMAC",
        /// AUTH_AES_192_GMAC.
        Aes192Gmac = 10 => "AUTH_AES_192_GMAC",
        /// AUTH_AES_256_GMAC.
        Aes256Gmac = 11 => "AUTH_AES_256_GMAC",
        /// AUTH_HMAC_SHA2_256_128.
        HmacSha256_128 = 12 => "AUTH_HMAC_SHA2_256_128",
        /// AUTH_HMAC_SHA2_384_192.
        HmacSha384_192 = 13 => "AUTH_HMAC_SHA2_384_192",
        /// AUTH_HMAC_SHA2_512_256.
        HmacSha512_256 = 14 => "AUTH_HMAC_SHA2_512_256",
    }
}

registry! {
    /// Transform type 5: extended sequence numbers.
    pub enum EsnId: u16 {
        /// No extended sequence numbers.
        NoEsn = 0 => "NO_ESN",
        /// Extended sequence numbers.
        Esn = 1 => "ESN",
    }
}

registry! {
    /// Transform attribute types (RFC 7296 §3.3.5).
    pub enum TransformAttrType: u16 {
        /// Key length in bits (always TV).
        KeyLength = 14 => "Key Length",
    }
}

registry! {
    /// Identification types (RFC 7296 §3.5, RFC 7619).
    pub enum IdType: u8 {
        /// A single IPv4 address.
        Ipv4Addr = 1 => "ID_IPV4_ADDR",
        /// A fully-qualified domain name.
        Fqdn = 2 => "ID_FQDN",
        /// An RFC 822 e-mail address.
        Rfc822Addr = 3 => "ID_RFC822_ADDR",
        /// A single IPv6 address.
        Ipv6Addr = 5 => "ID_IPV6_ADDR",
        /// A DER-encoded ASN.1 X.500 Distinguished Name.
        DerAsn1Dn = 9 => "ID_DER_ASN1_DN",
        /// A DER-encoded ASN.1 X.509 GeneralName.
        DerAsn1Gn = 10 => "ID_DER_ASN1_GN",
        /// An opaque key identifier.
        KeyId = 11 => "ID_KEY_ID",
        /// Fibre Channel name (RFC 4595).
        FcName = 12 => "ID_FC_NAME",
        /// NULL identity (RFC 7619).
        Null = 13 => "ID_NULL",
    }
}

registry! {
    /// Certificate encodings (RFC 7296 §3.6, RFC 7670).
    pub enum CertEncoding: u8 {
        /// PKCS #7 wrapped X.509 certificate.
        Pkcs7 = 1 => "PKCS #7 wrapped X.509 certificate",
        /// PGP certificate.
        Pgp = 2 => "PGP Certificate",
        /// DNS signed key.
        DnsSignedKey = 3 => "DNS Signed Key",
        /// X.509 certificate - signature.
        X509Signature = 4 => "X.509 Certificate - Signature",
        /// Kerberos token.
        Kerberos = 6 => "Kerberos Token",
        /// Certificate revocation list.
        Crl = 7 => "Certificate Revocation List (CRL)",
        /// Authority revocation list.
        Arl = 8 => "Authority Revocation List (ARL)",
        /// SPKI certificate.
        Spki = 9 => "SPKI Certificate",
        /// X.509 certificate - attribute.
        X509Attribute = 10 => "X.509 Certificate - Attribute",
        /// Raw RSA key (deprecated).
        RawRsa = 11 => "Raw RSA Key",
        /// Hash and URL of X.509 certificate.
        HashUrlX509 = 12 => "Hash and URL of X.509 certificate",
        /// Hash and URL of X.509 bundle.
        HashUrlBundle = 13 => "Hash and URL of X.509 bundle",
        /// OCSP content (RFC 4806).
        OcspContent = 14 => "OCSP Content",
        /// Raw public key (RFC 7670).
        RawPublicKey = 15 => "Raw Public Key",
    }
}

registry! {
    /// Authentication methods (RFC 7296 §3.8, RFC 4754, RFC 7427, RFC 7619).
    pub enum AuthMethod: u8 {
        /// RSA digital signature (PKCS#1 v1.5).
        RsaSig = 1 => "RSA Digital Signature",
        /// Shared key message integrity code.
        SharedKey = 2 => "Shared Key Message Integrity Code",
        /// DSS digital signature.
        DssSig = 3 => "DSS Digital Signature",
        /// ECDSA with SHA-256 on the P-256 curve.
        EcdsaP256 = 9 => "ECDSA with SHA-256 on the P-256 curve",
        /// ECDSA with SHA-384 on the P-384 curve.
        EcdsaP384 = 10 => "ECDSA with SHA-384 on the P-384 curve",
        /// ECDSA with SHA-512 on the P-521 curve.
        EcdsaP521 = 11 => "ECDSA with SHA-512 on the P-521 curve",
        /// Generic secure password authentication method (RFC 6467).
        GenericSecurePassword = 12 => "Generic Secure Password Authentication Method",
        /// NULL authentication (RFC 7619).
        Null = 13 => "NULL Authentication",
        /// Digital signature (RFC 7427).
        DigitalSignature = 14 => "Digital Signature",
    }
}

registry! {
    /// Notify message types, errors below 16384 and status types from 16384 (RFC 7296 §3.10.1 and
    /// the IANA registry).
    pub enum NotifyType: u16 {
        /// UNSUPPORTED_CRITICAL_PAYLOAD.
        UnsupportedCriticalPayload = 1 => "UNSUPPORTED_CRITICAL_PAYLOAD",
        /// INVALID_IKE_SPI.
        InvalidIkeSpi = 4 => "INVALID_IKE_SPI",
        /// INVALID_MAJOR_VERSION.
        InvalidMajorVersion = 5 => "INVALID_MAJOR_VERSION",
        /// INVALID_SYNTAX.
        InvalidSyntax = 7 => "INVALID_SYNTAX",
        /// INVALID_MESSAGE_ID.
        InvalidMessageId = 9 => "INVALID_MESSAGE_ID",
        /// INVALID_SPI.
        InvalidSpi = 11 => "INVALID_SPI",
        /// NO_PROPOSAL_CHOSEN.
        NoProposalChosen = 14 => "NO_PROPOSAL_CHOSEN",
        /// INVALID_KE_PAYLOAD.
        InvalidKePayload = 17 => "INVALID_KE_PAYLOAD",
        /// AUTHENTICATION_FAILED.
        AuthenticationFailed = 24 => "AUTHENTICATION_FAILED",
        /// SINGLE_PAIR_REQUIRED.
        SinglePairRequired = 34 => "SINGLE_PAIR_REQUIRED",
        /// NO_ADDITIONAL_SAS.
        NoAdditionalSas = 35 => "NO_ADDITIONAL_SAS",
        /// INTERNAL_ADDRESS_FAILURE.
        InternalAddressFailure = 36 => "INTERNAL_ADDRESS_FAILURE",
        /// FAILED_CP_REQUIRED.
        FailedCpRequired = 37 => "FAILED_CP_REQUIRED",
        /// TS_UNACCEPTABLE.
        TsUnacceptable = 38 => "TS_UNACCEPTABLE",
        /// INVALID_SELECTORS.
        InvalidSelectors = 39 => "INVALID_SELECTORS",
        /// UNACCEPTABLE_ADDRESSES (RFC 4555).
        UnacceptableAddresses = 40 => "UNACCEPTABLE_ADDRESSES",
        /// UNEXPECTED_NAT_DETECTED (RFC 4555).
        UnexpectedNatDetected = 41 => "UNEXPECTED_NAT_DETECTED",
        /// USE_ASSIGNED_HoA (RFC 5026).
        UseAssignedHoa = 42 => "USE_ASSIGNED_HoA",
        /// TEMPORARY_FAILURE.
        TemporaryFailure = 43 => "TEMPORARY_FAILURE",
        /// CHILD_SA_NOT_FOUND.
        ChildSaNotFound = 44 => "CHILD_SA_NOT_FOUND",
        /// INVALID_GROUP_ID (RFC 9838).
        InvalidGroupId = 45 => "INVALID_GROUP_ID",
        /// AUTHORIZATION_FAILED (RFC 9838).
        AuthorizationFailed = 46 => "AUTHORIZATION_FAILED",
        /// STATE_NOT_FOUND (RFC 9370).
        StateNotFound = 47 => "STATE_NOT_FOUND",
        /// TS_MAX_QUEUE (RFC 9611).
        TsMaxQueue = 48 => "TS_MAX_QUEUE",
        /// INITIAL_CONTACT.
        InitialContact = 16384 => "INITIAL_CONTACT",
        /// SET_WINDOW_SIZE.
        SetWindowSize = 16385 => "SET_WINDOW_SIZE",
        /// ADDITIONAL_TS_POSSIBLE.
        AdditionalTsPossible = 16386 => "ADDITIONAL_TS_POSSIBLE",
        /// IPCOMP_SUPPORTED.
        IpcompSupported = 16387 => "IPCOMP_SUPPORTED",
        /// NAT_DETECTION_SOURCE_IP.
        NatDetectionSourceIp = 16388 => "NAT_DETECTION_SOURCE_IP",
        /// NAT_DETECTION_DESTINATION_IP.
        NatDetectionDestinationIp = 16389 => "NAT_DETECTION_DESTINATION_IP",
        /// COOKIE.
        Cookie = 16390 => "COOKIE",
        /// USE_TRANSPORT_MODE.
        UseTransportMode = 16391 => "USE_TRANSPORT_MODE",
        /// HTTP_CERT_LOOKUP_SUPPORTED.
        HttpCertLookupSupported = 16392 => "HTTP_CERT_LOOKUP_SUPPORTED",
        /// REKEY_SA.
        RekeySa = 16393 => "REKEY_SA",
        /// ESP_TFC_PADDING_NOT_SUPPORTED.
        EspTfcPaddingNotSupported = 16394 => "ESP_TFC_PADDING_NOT_SUPPORTED",
        /// NON_FIRST_FRAGMENTS_ALSO.
        NonFirstFragmentsAlso = 16395 => "NON_FIRST_FRAGMENTS_ALSO",
        /// MOBIKE_SUPPORTED (RFC 4555).
        MobikeSupported = 16396 => "MOBIKE_SUPPORTED",
        /// ADDITIONAL_IP4_ADDRESS.
        AdditionalIp4Address = 16397 => "ADDITIONAL_IP4_ADDRESS",
        /// ADDITIONAL_IP6_ADDRESS.
        AdditionalIp6Address = 16398 => "ADDITIONAL_IP6_ADDRESS",
        /// NO_ADDITIONAL_ADDRESSES.
        NoAdditionalAddresses = 16399 => "NO_ADDITIONAL_ADDRESSES",
        /// UPDATE_SA_ADDRESSES.
        UpdateSaAddresses = 16400 => "UPDATE_SA_ADDRESSES",
        /// COOKIE2.
        Cookie2 = 16401 => "COOKIE2",
        /// NO_NATS_ALLOWED.
        NoNatsAllowed = 16402 => "NO_NATS_ALLOWED",
        /// AUTH_LIFETIME (RFC 4478).
        AuthLifetime = 16403 => "AUTH_LIFETIME",
        /// MULTIPLE_AUTH_SUPPORTED (RFC 4739).
        MultipleAuthSupported = 16404 => "MULTIPLE_AUTH_SUPPORTED",
        /// ANOTHER_AUTH_FOLLOWS (RFC 4739).
        AnotherAuthFollows = 16405 => "ANOTHER_AUTH_FOLLOWS",
        /// REDIRECT_SUPPORTED (RFC 5685).
        RedirectSupported = 16406 => "REDIRECT_SUPPORTED",
        /// REDIRECT.
        Redirect = 16407 => "REDIRECT",
        /// REDIRECTED_FROM.
        RedirectedFrom = 16408 => "REDIRECTED_FROM",
        /// TICKET_LT_OPAQUE (RFC 5723).
        TicketLtOpaque = 16409 => "TICKET_LT_OPAQUE",
        /// TICKET_REQUEST.
        TicketRequest = 16410 => "TICKET_REQUEST",
        /// TICKET_ACK.
        TicketAck = 16411 => "TICKET_ACK",
        /// TICKET_NACK.
        TicketNack = 16412 => "TICKET_NACK",
        /// TICKET_OPAQUE.
        TicketOpaque = 16413 => "TICKET_OPAQUE",
        /// LINK_ID.
        LinkId = 16414 => "LINK_ID",
        /// USE_WESP_MODE.
        UseWespMode = 16415 => "USE_WESP_MODE",
        /// ROHC_SUPPORTED.
        RohcSupported = 16416 => "ROHC_SUPPORTED",
        /// EAP_ONLY_AUTHENTICATION (RFC 5998).
        EapOnlyAuthentication = 16417 => "EAP_ONLY_AUTHENTICATION",
        /// CHILDLESS_IKEV2_SUPPORTED (RFC 6023).
        ChildlessIkev2Supported = 16418 => "CHILDLESS_IKEV2_SUPPORTED",
        /// QUICK_CRASH_DETECTION (RFC 6290).
        QuickCrashDetection = 16419 => "QUICK_CRASH_DETECTION",
        /// IKEV2_MESSAGE_ID_SYNC_SUPPORTED (RFC 6311).
        Ikev2MessageIdSyncSupported = 16420 => "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
        /// IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED.
        IpsecReplayCounterSyncSupported = 16421 => "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
        /// IKEV2_MESSAGE_ID_SYNC.
        Ikev2MessageIdSync = 16422 => "IKEV2_MESSAGE_ID_SYNC",
        /// IPSEC_REPLAY_COUNTER_SYNC.
        IpsecReplayCounterSync = 16423 => "IPSEC_REPLAY_COUNTER_SYNC",
        /// SECURE_PASSWORD_METHODS (RFC 6467).
        SecurePasswordMethods = 16424 => "SECURE_PASSWORD_METHODS",
        /// PSK_PERSIST (RFC 6631).
        PskPersist = 16425 => "PSK_PERSIST",
        /// PSK_CONFIRM.
        PskConfirm = 16426 => "PSK_CONFIRM",
        /// ERX_SUPPORTED (RFC 6867).
        ErxSupported = 16427 => "ERX_SUPPORTED",
        /// IFOM_CAPABILITY.
        IfomCapability = 16428 => "IFOM_CAPABILITY",
        /// SENDER_REQUEST_ID.
        SenderRequestId = 16429 => "SENDER_REQUEST_ID",
        /// IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383).
        FragmentationSupported = 16430 => "IKEV2_FRAGMENTATION_SUPPORTED",
        /// SIGNATURE_HASH_ALGORITHMS (RFC 7427).
        SignatureHashAlgorithms = 16431 => "SIGNATURE_HASH_ALGORITHMS",
        /// CLONE_IKE_SA_SUPPORTED (RFC 7791).
        CloneIkeSaSupported = 16432 => "CLONE_IKE_SA_SUPPORTED",
        /// CLONE_IKE_SA.
        CloneIkeSa = 16433 => "CLONE_IKE_SA",
        /// PUZZLE (RFC 8019).
        Puzzle = 16434 => "PUZZLE",
        /// USE_PPK (RFC 8784).
        UsePpk = 16435 => "USE_PPK",
        /// PPK_IDENTITY.
        PpkIdentity = 16436 => "PPK_IDENTITY",
        /// NO_PPK_AUTH.
        NoPpkAuth = 16437 => "NO_PPK_AUTH",
        /// INTERMEDIATE_EXCHANGE_SUPPORTED (RFC 9242).
        IntermediateExchangeSupported = 16438 => "INTERMEDIATE_EXCHANGE_SUPPORTED",
        /// IP4_ALLOWED (RFC 8983).
        Ip4Allowed = 16439 => "IP4_ALLOWED",
        /// IP6_ALLOWED.
        Ip6Allowed = 16440 => "IP6_ALLOWED",
        /// ADDITIONAL_KEY_EXCHANGE (RFC 9370).
        AdditionalKeyExchange = 16441 => "ADDITIONAL_KEY_EXCHANGE",
        /// USE_AGGFRAG (RFC 9347).
        UseAggfrag = 16442 => "USE_AGGFRAG",
        /// SUPPORTED_AUTH_METHODS (RFC 9593).
        SupportedAuthMethods = 16443 => "SUPPORTED_AUTH_METHODS",
        /// SA_RESOURCE_INFO (RFC 9611).
        SaResourceInfo = 16444 => "SA_RESOURCE_INFO",
        /// USE_PPK_INT (RFC 9867).
        UsePpkInt = 16445 => "USE_PPK_INT",
        /// PPK_IDENTITY_KEY.
        PpkIdentityKey = 16446 => "PPK_IDENTITY_KEY",
    }
}

impl NotifyType {
    /// Whether this is an error type (below 16384, RFC 7296 §3.10.1).
    pub fn is_error(self) -> bool {
        self.value() < 16384
    }
}

registry! {
    /// Traffic selector types (RFC 7296 §3.13.1, RFC 4595, RFC 9478).
    pub enum TsType: u8 {
        /// A range of IPv4 addresses.
        Ipv4AddrRange = 7 => "TS_IPV4_ADDR_RANGE",
        /// A range of IPv6 addresses.
        Ipv6AddrRange = 8 => "TS_IPV6_ADDR_RANGE",
        /// A Fibre Channel address range.
        FcAddrRange = 9 => "TS_FC_ADDR_RANGE",
        /// A security label (RFC 9478).
        SecLabel = 10 => "TS_SECLABEL",
    }
}

registry! {
    /// Configuration payload types (RFC 7296 §3.15).
    pub enum CfgType: u8 {
        /// CFG_REQUEST.
        Request = 1 => "CFG_REQUEST",
        /// CFG_REPLY.
        Reply = 2 => "CFG_REPLY",
        /// CFG_SET.
        Set = 3 => "CFG_SET",
        /// CFG_ACK.
        Ack = 4 => "CFG_ACK",
    }
}

registry! {
    /// Configuration attribute types (RFC 7296 §3.15.1 and the IANA registry).
    pub enum CfgAttrType: u16 {
        /// INTERNAL_IP4_ADDRESS.
        InternalIp4Address = 1 => "INTERNAL_IP4_ADDRESS",
        /// INTERNAL_IP4_NETMASK.
        InternalIp4Netmask = 2 => "INTERNAL_IP4_NETMASK",
        /// INTERNAL_IP4_DNS.
        InternalIp4Dns = 3 => "INTERNAL_IP4_DNS",
        /// INTERNAL_IP4_NBNS.
        InternalIp4Nbns = 4 => "INTERNAL_IP4_NBNS",
        /// INTERNAL_IP4_DHCP.
        InternalIp4Dhcp = 6 => "INTERNAL_IP4_DHCP",
        /// APPLICATION_VERSION.
        ApplicationVersion = 7 => "APPLICATION_VERSION",
        /// INTERNAL_IP6_ADDRESS.
        InternalIp6Address = 8 => "INTERNAL_IP6_ADDRESS",
        /// INTERNAL_IP6_DNS.
        InternalIp6Dns = 10 => "INTERNAL_IP6_DNS",
        /// INTERNAL_IP6_DHCP.
        InternalIp6Dhcp = 12 => "INTERNAL_IP6_DHCP",
        /// INTERNAL_IP4_SUBNET.
        InternalIp4Subnet = 13 => "INTERNAL_IP4_SUBNET",
        /// SUPPORTED_ATTRIBUTES.
        SupportedAttributes = 14 => "SUPPORTED_ATTRIBUTES",
        /// INTERNAL_IP6_SUBNET.
        InternalIp6Subnet = 15 => "INTERNAL_IP6_SUBNET",
        /// MIP6_HOME_PREFIX.
        Mip6HomePrefix = 16 => "MIP6_HOME_PREFIX",
        /// INTERNAL_IP6_LINK.
        InternalIp6Link = 17 => "INTERNAL_IP6_LINK",
        /// INTERNAL_IP6_PREFIX.
        InternalIp6Prefix = 18 => "INTERNAL_IP6_PREFIX",
        /// HOME_AGENT_ADDRESS.
        HomeAgentAddress = 19 => "HOME_AGENT_ADDRESS",
        /// P_CSCF_IP4_ADDRESS.
        PCscfIp4Address = 20 => "P_CSCF_IP4_ADDRESS",
        /// P_CSCF_IP6_ADDRESS.
        PCscfIp6Address = 21 => "P_CSCF_IP6_ADDRESS",
        /// FTT_KAT.
        FttKat = 22 => "FTT_KAT",
        /// EXTERNAL_SOURCE_IP4_NAT_INFO.
        ExternalSourceIp4NatInfo = 23 => "EXTERNAL_SOURCE_IP4_NAT_INFO",
        /// TIMEOUT_PERIOD_FOR_LIVENESS_CHECK.
        TimeoutPeriodForLivenessCheck = 24 => "TIMEOUT_PERIOD_FOR_LIVENESS_CHECK",
        /// INTERNAL_DNS_DOMAIN.
        InternalDnsDomain = 25 => "INTERNAL_DNS_DOMAIN",
        /// INTERNAL_DNSSEC_TA.
        InternalDnssecTa = 26 => "INTERNAL_DNSSEC_TA",
    }
}
