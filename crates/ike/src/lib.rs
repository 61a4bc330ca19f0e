//! The `ike` tools' library half: reading and writing packet captures of IKE traffic, the
//! readable tree that `ike decode` prints and its decryption with a key log ([`decrypt`],
//! [`keytable`]), the daemon's driver ([`daemon`]) and its control protocol ([`control`],
//! [`client`]), its log stream to clients ([`logstream`]), and the strongSwan configuration
//! import ([`import`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capture;
pub mod client;
pub mod control;
pub mod daemon;
pub mod decrypt;
pub mod import;
pub mod keylog;
pub mod keytable;
pub mod logstream;
pub mod tree;
mod tree_v1;
