//! Key derivation: the IKEv1 (RFC 2409) and IKEv2 (RFC 7296) key schedules.
