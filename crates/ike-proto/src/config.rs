//! What the engine needs to know about its connections (for both IKE versions): identities,
//! authentication, proposals, children, lifetimes, and the endpoint's own settings. The
//! daemon's configuration layer turns the TOML file into these.

use std::net::IpAddr;
use std::time::Duration;

use ike_crypto::sign::{PrivateKey, PublicKey, SignatureHashAlgorithm};
use ike_crypto::x509::{Certificate, TrustStore};
use ike_crypto::Secret;
use ike_wire::v2::{IdType, ProtocolId};

use crate::ipsec::{IpsecProtocol, Mode, Ts};
use crate::proposal::Proposal;

/// An IKE identity (RFC 7296 §3.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Identity {
    /// ID_IPV4_ADDR or ID_IPV6_ADDR.
    Addr(IpAddr),
    /// ID_FQDN.
    Fqdn(String),
    /// ID_RFC822_ADDR.
    Email(String),
    /// ID_DER_ASN1_DN (DER bytes).
    Dn(Vec<u8>),
    /// ID_KEY_ID.
    KeyId(Vec<u8>),
    /// Matches any identity (a responder's `%any`); never sent.
    Any,
}

impl Identity {
    /// Parses strongSwan-style text: an address, `user@domain`, `%any`, `@#hex` (key ID), or a
    /// host name (`@name` forces FQDN).
    pub fn parse(text: &str) -> Self {
        if text == "%any" || text.is_empty() {
            return Identity::Any;
        }
        if let Some(hex) = text.strip_prefix("@#") {
            if let Some(bytes) = decode_hex(hex) {
                return Identity::KeyId(bytes);
            }
        }
        if let Some(name) = text.strip_prefix('@') {
            return Identity::Fqdn(name.to_owned());
        }
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Identity::Addr(addr);
        }
        if text.contains('@') {
            return Identity::Email(text.to_owned());
        }
        Identity::Fqdn(text.to_owned())
    }

    /// The ID payload type and data.
    pub fn to_wire(&self) -> (IdType, Vec<u8>) {
        match self {
            Identity::Addr(IpAddr::V4(a)) => (IdType::Ipv4Addr, a.octets().to_vec()),
            Identity::Addr(IpAddr::V6(a)) => (IdType::Ipv6Addr, a.octets().to_vec()),
            Identity::Fqdn(s) => (IdType::Fqdn, s.as_bytes().to_vec()),
            Identity::Email(s) => (IdType::Rfc822Addr, s.as_bytes().to_vec()),
            Identity::Dn(d) => (IdType::DerAsn1Dn, d.clone()),
            Identity::KeyId(k) => (IdType::KeyId, k.clone()),
            Identity::Any => (IdType::Null, Vec::new()),
        }
    }

    /// The identity an ID payload carries.
    pub fn from_wire(id_type: IdType, data: &[u8]) -> Option<Self> {
        Some(match id_type {
            IdType::Ipv4Addr => Identity::Addr(IpAddr::from(<[u8; 4]>::try_from(data).ok()?)),
            IdType::Ipv6Addr => Identity::Addr(IpAddr::from(<[u8; 16]>::try_from(data).ok()?)),
            IdType::Fqdn => Identity::Fqdn(String::from_utf8(data.to_vec()).ok()?),
            IdType::Rfc822Addr => Identity::Email(String::from_utf8(data.to_vec()).ok()?),
            IdType::DerAsn1Dn => Identity::Dn(data.to_vec()),
            IdType::KeyId => Identity::KeyId(data.to_vec()),
            _ => return None,
        })
    }

    /// Whether a configured identity accepts `peer`: `%any` accepts all, FQDNs compare without
    /// case, others exactly.
    pub fn accepts(&self, peer: &Identity) -> bool {
        match (self, peer) {
            (Identity::Any, _) => true,
            (Identity::Fqdn(a), Identity::Fqdn(b)) => a.eq_ignore_ascii_case(b),
            (Identity::Email(a), Identity::Email(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Addr(a) => write!(f, "{a}"),
            Identity::Fqdn(s) | Identity::Email(s) => f.write_str(s),
            Identity::Dn(d) => write!(f, "DN:{}", encode_hex(d)),
            Identity::KeyId(k) => write!(f, "@#{}", encode_hex(k)),
            Identity::Any => f.write_str("%any"),
        }
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

fn encode_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A Child SA the connection negotiates.
///
/// A child has ESP proposals or AH proposals, not both: [`ChildConfig::protocol`] is AH when
/// `ah_proposals` is not empty, and [`Endpoint::new`](super::Endpoint::new) refuses a child
/// with both (or with a proposal of the other protocol in a list).
#[derive(Clone, Debug)]
pub struct ChildConfig {
    /// Its name.
    pub name: String,
    /// Our side's selectors.
    pub local_ts: Vec<Ts>,
    /// The peer's side's selectors.
    pub remote_ts: Vec<Ts>,
    /// ESP proposals ([`Proposal::parse_esp`]), in order of preference; a key exchange method
    /// in one means PFS. Empty when the child uses AH.
    pub esp_proposals: Vec<Proposal>,
    /// AH proposals ([`Proposal::parse_ah`]), in order of preference; empty for ESP.
    pub ah_proposals: Vec<Proposal>,
    /// Tunnel or transport.
    pub mode: Mode,
    /// When to rekey (less up to 10% jitter); `None` never.
    pub rekey_time: Option<Duration>,
    /// When the Child SA expires if not rekeyed; `None` never.
    pub life_time: Option<Duration>,
}

impl ChildConfig {
    /// The protocol of its Child SAs: AH when it has AH proposals, else ESP.
    pub fn protocol(&self) -> IpsecProtocol {
        if self.ah_proposals.is_empty() {
            IpsecProtocol::Esp
        } else {
            IpsecProtocol::Ah
        }
    }

    /// Its proposals: the AH ones for an AH child, else the ESP ones.
    pub fn proposals(&self) -> &[Proposal] {
        match self.protocol() {
            IpsecProtocol::Esp => &self.esp_proposals,
            IpsecProtocol::Ah => &self.ah_proposals,
        }
    }

    /// Why the child cannot be used, if it cannot: ESP and AH proposals at once, or a proposal
    /// of another protocol in either list.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !self.esp_proposals.is_empty() && !self.ah_proposals.is_empty() {
            return Err(ConfigError("a child has ESP or AH proposals, not both"));
        }
        if self
            .esp_proposals
            .iter()
            .any(|p| p.protocol != ProtocolId::Esp)
            || self
                .ah_proposals
                .iter()
                .any(|p| p.protocol != ProtocolId::Ah)
        {
            return Err(ConfigError(
                "a proposal of another protocol in a child's list",
            ));
        }
        Ok(())
    }
}

/// How one side authenticates. Each side of a connection has its own method, so the two may
/// differ (we sign, the peer uses a PSK, or the reverse).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A pre-shared key (RFC 7296 §2.15), on either side.
    Psk(Secret),
    /// Our side only: we sign the AUTH payload with a private key and send its certificates
    /// (RFC 7296 §3.6, §3.8; RFC 7427).
    PubKey(Credential),
    /// The peer's side only: the peer signs, and its certificate must validate against a trust
    /// store, or be the pinned one, and name the peer's identity.
    PeerCert(PeerCertPolicy),
    /// IKEv1 only, our side: public-key encryption (RFC 2409 §5.2, or the revised mode of §5.3
    /// when `revised`). The peer encrypts our nonce and identity to the RSA key of `cert`; we
    /// decrypt with its private key, without a padding oracle.
    PkeKey {
        /// Our RSA private key, as a decryptor.
        decryptor: std::sync::Arc<ike_crypto::pke::PkeDecryptor>,
        /// Our certificate (its hash tells the peer's HASH(1) which key it used).
        cert: ike_crypto::x509::Certificate,
        /// The revised mode (§5.3).
        revised: bool,
    },
    /// IKEv1 only, the peer's side: we encrypt to the RSA key of the peer's configured
    /// certificate (a public-key-encryption peer sends none before it is authenticated).
    PkePeer {
        /// The peer's certificate.
        cert: ike_crypto::x509::Certificate,
        /// The revised mode (§5.3).
        revised: bool,
    },
}

impl AuthMethod {
    /// Whether the method uses public keys.
    pub fn is_public_key(&self) -> bool {
        matches!(self, AuthMethod::PubKey(_) | AuthMethod::PeerCert(_))
    }
}

/// Our signing credential: a private key and the certificate chain that vouches for it, end
/// entity first, then intermediates (the trust anchor need not be included).
#[derive(Clone, Debug)]
pub struct Credential {
    key: PrivateKey,
    chain: Vec<Certificate>,
    rsa_pss: bool,
}

impl Credential {
    /// A credential. The end-entity certificate (the first of `chain`) must carry the public
    /// key of `key`. An empty chain is allowed: then no CERT payload is sent and the peer must
    /// have our certificate pinned.
    pub fn new(key: PrivateKey, chain: Vec<Certificate>) -> Result<Self, ConfigError> {
        if let Some(ee) = chain.first() {
            let cert_key = PublicKey::from_spki_der(&ee.spki_der())
                .map_err(|_| ConfigError("end-entity certificate key is not usable"))?;
            if cert_key != key.public_key() {
                return Err(ConfigError(
                    "private key does not match the end-entity certificate",
                ));
            }
        }
        Ok(Self {
            key,
            chain,
            rsa_pss: false,
        })
    }

    /// With an RSA key, sign RFC 7427 AUTH payloads with RSASSA-PSS instead of PKCS#1 v1.5.
    pub fn with_rsa_pss(mut self, pss: bool) -> Self {
        self.rsa_pss = pss;
        self
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The certificates sent in CERT payloads, end entity first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// Whether RSA keys sign with RSASSA-PSS.
    pub fn rsa_pss(&self) -> bool {
        self.rsa_pss
    }
}

/// How the peer's certificate is checked.
///
/// With a trust store, the peer's end-entity certificate (its first CERT payload) and the
/// intermediates it sends must form a valid chain to one of the anchors at the endpoint's Unix
/// time ([`crate::v2::Endpoint::set_unix_time`]). With a pinned certificate, the end entity must
/// be exactly that certificate (a peer that sends no CERT is checked against it); without a
/// trust store the pinned certificate is trusted directly, its validity period and keyUsage
/// still checked.
#[derive(Clone, Debug)]
pub struct PeerCertPolicy {
    trust: Option<TrustStore>,
    pinned: Option<Certificate>,
    hash_algorithms: Vec<SignatureHashAlgorithm>,
}

/// The hash algorithms announced in SIGNATURE_HASH_ALGORITHMS and accepted in RFC 7427 AUTH
/// payloads unless configured otherwise: SHA-2 and Identity (EdDSA), not SHA-1 (RFC 8247 §3.2).
pub const DEFAULT_SIGNATURE_HASHES: [SignatureHashAlgorithm; 4] = [
    SignatureHashAlgorithm::Sha2_256,
    SignatureHashAlgorithm::Sha2_384,
    SignatureHashAlgorithm::Sha2_512,
    SignatureHashAlgorithm::Identity,
];

impl PeerCertPolicy {
    /// Certificates that chain to one of `trust`'s anchors.
    pub fn trusting(trust: TrustStore) -> Self {
        Self {
            trust: Some(trust),
            pinned: None,
            hash_algorithms: DEFAULT_SIGNATURE_HASHES.to_vec(),
        }
    }

    /// Exactly `cert`, trusted directly.
    pub fn pinned(cert: Certificate) -> Self {
        Self {
            trust: None,
            pinned: Some(cert),
            hash_algorithms: DEFAULT_SIGNATURE_HASHES.to_vec(),
        }
    }

    /// Additionally require the end entity to be `cert`.
    pub fn with_pinned(mut self, cert: Certificate) -> Self {
        self.pinned = Some(cert);
        self
    }

    /// The hash algorithms we announce in SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4) and accept in
    /// the peer's RFC 7427 signatures. Empty turns RFC 7427 off for this peer: we announce
    /// nothing, so the peer signs with the classic methods (1, 9-11), which are always accepted.
    pub fn with_hash_algorithms(mut self, hashes: Vec<SignatureHashAlgorithm>) -> Self {
        self.hash_algorithms = hashes;
        self
    }

    /// The trust store, if any.
    pub fn trust(&self) -> Option<&TrustStore> {
        self.trust.as_ref()
    }

    /// The pinned certificate, if any.
    pub fn pinned_cert(&self) -> Option<&Certificate> {
        self.pinned.as_ref()
    }

    /// The hash algorithms announced and accepted.
    pub fn hash_algorithms(&self) -> &[SignatureHashAlgorithm] {
        &self.hash_algorithms
    }
}

/// A configuration the engine cannot use, named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub &'static str);

/// A connection: one peer (or a class of peers for a responder) and what to negotiate with it.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// Its name.
    pub name: String,
    /// Addresses the peer may use; empty means any (a responder for road warriors).
    pub remote_addrs: Vec<IpAddr>,
    /// Our identity.
    pub local_id: Identity,
    /// The identity we require of the peer (`Identity::Any` to accept any).
    pub remote_id: Identity,
    /// How we authenticate.
    pub local_auth: AuthMethod,
    /// How the peer must authenticate.
    pub remote_auth: AuthMethod,
    /// IKE proposals, in order of preference.
    pub ike_proposals: Vec<Proposal>,
    /// Child SAs; the first is created with IKE_AUTH when we initiate.
    pub children: Vec<ChildConfig>,
    /// When to rekey the IKE SA (less up to 10% jitter); `None` never.
    pub rekey_time: Option<Duration>,
    /// Send a liveness check when nothing came from the peer for this long (RFC 7296 §2.4);
    /// `None` never.
    pub dpd_delay: Option<Duration>,
    /// What to do when the peer stops answering (any request's retransmissions give up).
    pub dpd_action: DpdAction,
    /// Force UDP encapsulation of ESP even without a NAT (strongSwan's `encap = yes`): we send a
    /// NAT_DETECTION_SOURCE_IP that cannot match, so both sides believe we are behind a NAT.
    pub encap: bool,
    /// The IKE SA's hard lifetime (strongSwan's `life_time`, or `rekey_time` + `over_time`):
    /// an IKE SA that lived this long without a rekey replacing it is deleted, the peer told
    /// (the rekey kept failing, so it must not live on with old keys); `None` never.
    pub life_time: Option<Duration>,
    /// IKEv2 (RFC 7296) or IKEv1 (RFC 2409): which engine runs the connection's SAs.
    pub version: IkeVersion,
    /// IKEv1: the Phase 1 exchange this connection initiates with and answers. Ignored for
    /// IKEv2.
    pub exchange: V1Exchange,
}

/// The ISAKMP exchange of an IKEv1 connection's Phase 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum V1Exchange {
    /// Main Mode, the Identity Protection exchange (RFC 2409 §5, RFC 2408 §4.5): six
    /// messages, identities encrypted. Answered for every IKEv1 connection.
    #[default]
    Main,
    /// Aggressive Mode (RFC 2409 §5, RFC 2408 §4.7): three messages, identities in the clear.
    Aggressive,
    /// The ISAKMP Base exchange (RFC 2408 §4.4): four messages, key exchange and
    /// authentication together, identities in the clear (keying as `v1::base` defines it).
    Base,
    /// The ISAKMP Authentication Only exchange (RFC 2408 §4.6): three messages, no key
    /// exchange; the SA carries only Informational exchanges with the Authentication Only
    /// flag (integrity, no encryption) and no IPsec SAs.
    AuthOnly,
}

impl V1Exchange {
    /// Aggressive Mode if `aggressive`, else Main Mode.
    pub fn main_or_aggressive(aggressive: bool) -> Self {
        if aggressive {
            Self::Aggressive
        } else {
            Self::Main
        }
    }

    /// The name in RFC terms, for logs and `ike list-conns`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Main => "Main Mode",
            Self::Aggressive => "Aggressive Mode",
            Self::Base => "Base",
            Self::AuthOnly => "Authentication Only",
        }
    }
}

/// What happens to an established IKE SA whose peer stopped answering (strongSwan's
/// `dpd_action`). In every case the SA closes with [`crate::v2::CloseReason::Timeout`] and its
/// Child SAs are deleted first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DpdAction {
    /// Nothing more.
    #[default]
    Clear,
    /// Initiate the connection again at once, to its configured remote address (a new IKE SA
    /// with a new handle). A connection without a remote address is cleared instead.
    Restart,
    /// Emit [`crate::v2::Event::TrapInstall`] so the driver installs trap policies, and traffic
    /// brings the connection up again.
    Trap,
}

/// The parameters of a private group (RFC 2409 §5.6, Appendix A): what New Group Mode sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupParams {
    /// A MODP group: prime and generator, big-endian.
    Modp {
        /// Group Prime.
        prime: Vec<u8>,
        /// Group Generator One.
        generator: Vec<u8>,
    },
    /// An EC2N group `y^2 + xy = x^3 + a x^2 + b` over GF(2^m), all big-endian.
    Ec2n {
        /// Group Prime/Irreducible Polynomial (the field polynomial).
        polynomial: Vec<u8>,
        /// Group Curve A.
        a: Vec<u8>,
        /// Group Curve B.
        b: Vec<u8>,
        /// Group Generator One (x).
        gx: Vec<u8>,
        /// Group Generator Two (y), if known.
        gy: Option<Vec<u8>>,
        /// Group Order.
        order: Vec<u8>,
    },
}

impl GroupParams {
    /// The group these parameters make, validated (a safe or standard prime, an irreducible
    /// polynomial, a generator on the curve of the stated order, see
    /// [`ike_crypto::dh::modp_group_from_params`] and [`ike_crypto::dh::ec2n_group_from_params`]).
    pub fn build(&self) -> Result<ike_crypto::dh::CustomGroup, ike_crypto::CryptoError> {
        match self {
            GroupParams::Modp { prime, generator } => {
                ike_crypto::dh::modp_group_from_params(prime, generator)
            }
            GroupParams::Ec2n {
                polynomial,
                a,
                b,
                gx,
                gy,
                order,
            } => ike_crypto::dh::ec2n_group_from_params(polynomial, a, b, gx, gy.as_deref(), order),
        }
    }
}

/// The first private-use group number (RFC 2409 §5.6: "2^15 or greater").
pub const PRIVATE_GROUP_MIN: u16 = 32768;

/// A private group: a name for the configuration, a number in the private range, its
/// parameters and the group they make (validated once, when made).
#[derive(Clone, Debug)]
pub struct PrivateGroup {
    /// The name proposals use.
    pub name: String,
    /// The group number, at least [`PRIVATE_GROUP_MIN`].
    pub number: u16,
    /// What New Group Mode sends.
    pub params: GroupParams,
    group: ike_crypto::dh::CustomGroup,
}

impl PrivateGroup {
    /// Validates the parameters and the number.
    pub fn new(name: &str, number: u16, params: GroupParams) -> Result<Self, ConfigError> {
        if number < PRIVATE_GROUP_MIN {
            return Err(ConfigError(
                "a private group number must be 32768 or more (RFC 2409 §5.6)",
            ));
        }
        let group = params
            .build()
            .map_err(|_| ConfigError("the group parameters are not a valid group"))?
            .with_id(ike_wire::group::DhGroup::Unknown(number));
        Ok(Self {
            name: name.to_owned(),
            number,
            params,
            group,
        })
    }

    /// The group, for key exchanges.
    pub fn group(&self) -> &ike_crypto::dh::CustomGroup {
        &self.group
    }
}

/// Endpoint-wide settings: timers and the admission policy.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// First retransmission timeout.
    pub retransmit_timeout: Duration,
    /// Factor by which each retransmission timeout grows.
    pub retransmit_base: f64,
    /// Retransmissions before giving up.
    pub retransmit_tries: u32,
    /// Half-open IKE SAs at which the responder starts demanding cookies (RFC 7296 §2.6).
    pub cookie_threshold: usize,
    /// Hard cap on half-open IKE SAs; further IKE_SA_INIT requests are dropped.
    pub max_half_open: usize,
    /// Hard cap on half-open IKE SAs per peer address.
    pub max_half_open_per_peer: usize,
    /// How long a responder keeps a half-open SA waiting for IKE_AUTH.
    pub half_open_timeout: Duration,
    /// How often the cookie secret changes (cookies stay valid across one change).
    pub cookie_secret_lifetime: Duration,
    /// Choose among the peer's proposals in the initiator's order of preference instead of
    /// ours (strongSwan's `prefer_configured_proposals = no`), for IKE and Child SAs.
    pub prefer_initiator_proposals: bool,
    /// Largest IKE message sent whole; longer encrypted messages go as RFC 7383 fragments when
    /// the peer supports them. 0 turns fragmentation off (and its announcement).
    pub fragment_size: usize,
    /// Behind a NAT, send a NAT keepalive (RFC 3948 §4) when nothing else was sent to the peer
    /// for this long; `None` never.
    pub keepalive_interval: Option<Duration>,
    /// Emit [`crate::v2::Event::IkeSaKeys`] whenever an IKE SA gets keys, for a key log that
    /// lets Wireshark decrypt captures (`ike daemon --keylog`). Off by default: it hands
    /// secrets to the driver.
    pub export_keys: bool,
    /// Whether the kernel can receive ESP with TFC padding (RFC 4303 §2.7). When not, every
    /// Child SA request and response says ESP_TFC_PADDING_NOT_SUPPORTED (RFC 7296 §3.10.1).
    /// Linux XFRM can, hence the default; strongSwan too sends the notify only for a kernel
    /// without the feature, and has no setting for it.
    pub tfc_padding_supported: bool,
    /// Announce NON_FIRST_FRAGMENTS_ALSO (RFC 7296 §3.10.1, RFC 4301 §7.2): in every Child SA
    /// request, and in a response when the request had it. Non-first fragments then may use the
    /// Child SA ([`crate::v2::ChildFlags::non_first_fragments`]). Off by default, as strongSwan,
    /// which never sends it.
    pub non_first_fragments: bool,
    /// Which shard of a sharded driver this endpoint is: every IKE SPI it chooses names it
    /// ([`crate::shard`]). The admission caps and thresholds above are this endpoint's own.
    pub shard: crate::shard::Shard,
    /// Private groups (RFC 2409 §5.6) by number: usable in IKEv1 proposals as `group<N>`, and
    /// proposed to peers with New Group Mode.
    pub private_groups: Vec<PrivateGroup>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            retransmit_timeout: Duration::from_secs(2),
            retransmit_base: 1.8,
            retransmit_tries: 5,
            cookie_threshold: 10,
            max_half_open: 1000,
            max_half_open_per_peer: 20,
            half_open_timeout: Duration::from_secs(30),
            cookie_secret_lifetime: Duration::from_secs(120),
            prefer_initiator_proposals: false,
            // 1280 bytes (the IPv6 minimum MTU) less IPv6, UDP and non-ESP marker headers.
            fragment_size: 1228,
            keepalive_interval: Some(Duration::from_secs(20)),
            export_keys: false,
            tfc_padding_supported: true,
            non_first_fragments: false,
            shard: crate::shard::Shard::SINGLE,
            private_groups: Vec::new(),
        }
    }
}

/// The IKE version of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IkeVersion {
    /// IKEv1 (RFC 2409).
    V1,
    /// IKEv2 (RFC 7296).
    #[default]
    V2,
}

impl IkeVersion {
    /// 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            IkeVersion::V1 => 1,
            IkeVersion::V2 => 2,
        }
    }
}
