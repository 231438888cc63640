//! Who may read a docpack: its owner (by the token issued with their first job), anyone with
//! its share link, or anyone with a signed link until it expires; who may see or steer a job:
//! its owner (a ticket, signed like a link, opens its event socket). Tokens are 256 random bits
//! from the runtime; only their SHA-256 is stored.

use doctown_core::hash::sha256_hex;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use worker::Request;

/// A signed link lives at most a day: long enough for a download manager or a CI job, short
/// enough that a leaked link soon stops working.
pub const MAX_LINK_SECONDS: u64 = 24 * 60 * 60;
/// What a signed link lives when the request does not say.
pub const DEFAULT_LINK_SECONDS: u64 = 15 * 60;
/// A ticket to open a job's event socket lives this long: a browser cannot send a bearer token
/// with a WebSocket, so it asks for a ticket right before it connects.
pub const EVENTS_TICKET_SECONDS: u64 = 60;

/// What an events ticket signs: the job, kept apart from docpack ids.
pub fn events_subject(job_id: &str) -> String {
    format!("events:{job_id}")
}

/// A new secret token: 32 random bytes as hex.
pub fn new_token() -> worker::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| worker::Error::RustError(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// How a token is stored.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The bearer token of a request, if it sent one.
pub fn bearer(req: &Request) -> Option<String> {
    let header = req.headers().get("Authorization").ok().flatten()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

fn mac(key: &str, docpack_id: &str, expires: u64) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("{docpack_id}\n{expires}").as_bytes());
    mac
}

/// The signature of a link to `docpack_id` valid until `expires` (Unix seconds).
pub fn sign(key: &str, docpack_id: &str, expires: u64) -> String {
    hex::encode(mac(key, docpack_id, expires).finalize().into_bytes())
}

/// Whether `signature` signs this link (compared in constant time).
pub fn verify(key: &str, docpack_id: &str, expires: u64, signature: &str) -> bool {
    hex::decode(signature).is_ok_and(|s| mac(key, docpack_id, expires).verify_slice(&s).is_ok())
}
