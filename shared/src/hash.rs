//! Content hashing: stable ids and checksums, identical on every host.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A short stable id: the first 16 hex digits of the SHA-256 of `parts` joined by NUL bytes.
///
/// 64 bits keep ids readable while collisions stay negligible for any one repository
/// (a birthday bound of ~4 billion symbols).
pub fn stable_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_id_separates_parts() {
        assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
        assert_eq!(stable_id(&["a", "b"]), stable_id(&["a", "b"]));
        assert_eq!(stable_id(&["a"]).len(), 16);
    }
}
