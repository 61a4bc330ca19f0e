//! Pseudorandom functions (RFC 7296 §2.13, RFC 2409 §4) and `prf+`.
