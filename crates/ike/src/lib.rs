//! The `ike` tools' library half: reading and writing packet captures of IKE traffic, and the
//! readable tree that `ike decode` prints. The daemon's driver will join it here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capture;
pub mod tree;
mod tree_v1;
