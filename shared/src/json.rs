//! `ingest.chunk_created.v1` payloads, and event envelopes ([`crate::events::json_line`]),
//! written as JSON by hand, byte for byte what serde_json writes for them (tests hold them
//! together).
//!
//! Chunk payloads are nine tenths of an ingest's event stream (41 MB of JSON for 9.4 MB of
//! Rust), and serde_json escapes every string, keys included, one byte at a time: 53 ms of the
//! 560 ms that ingest cost beyond the parse. Here keys are constants and text is scanned eight
//! bytes at a time for the few bytes JSON escapes.

use crate::events::ChunkCreated;
use crate::symbols::{Chunk, RawReference, Span, Symbol};

/// Appends `payload`'s JSON to `out`.
pub fn chunk_created(payload: &ChunkCreated, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"chunk\":");
    chunk(&payload.chunk, out);
    out.extend_from_slice(b",\"symbol\":");
    symbol(&payload.symbol, out);
    out.push(b'}');
}

fn chunk(chunk: &Chunk, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    string(&chunk.id, out);
    out.extend_from_slice(b",\"symbol_id\":");
    string(&chunk.symbol_id, out);
    out.extend_from_slice(b",\"path\":");
    string(&chunk.path, out);
    out.extend_from_slice(b",\"language\":");
    string(chunk.language.name(), out);
    span(&chunk.span, out);
    out.extend_from_slice(b",\"part\":");
    number(chunk.part as u64, out);
    out.extend_from_slice(b",\"parts\":");
    number(chunk.parts as u64, out);
    out.extend_from_slice(b",\"tokens\":");
    number(chunk.tokens as u64, out);
    out.extend_from_slice(b",\"text\":");
    string(&chunk.text, out);
    out.push(b'}');
}

fn symbol(symbol: &Symbol, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    string(&symbol.id, out);
    out.extend_from_slice(b",\"kind\":");
    string(symbol.kind.name(), out);
    out.extend_from_slice(b",\"name\":");
    string(&symbol.name, out);
    out.extend_from_slice(b",\"qualified_name\":");
    string(&symbol.qualified_name, out);
    out.extend_from_slice(b",\"language\":");
    string(symbol.language.name(), out);
    out.extend_from_slice(b",\"path\":");
    string(&symbol.path, out);
    span(&symbol.span, out);
    if let Some(parent) = &symbol.parent {
        out.extend_from_slice(b",\"parent\":");
        string(parent, out);
    }
    out.extend_from_slice(b",\"signature\":");
    string(&symbol.signature, out);
    if let Some(doc) = &symbol.doc {
        out.extend_from_slice(b",\"doc\":");
        string(doc, out);
    }
    if let Some(visibility) = symbol.visibility {
        out.extend_from_slice(b",\"visibility\":");
        string(visibility.name(), out);
    }
    if !symbol.references.is_empty() {
        out.extend_from_slice(b",\"references\":[");
        for (i, reference) in symbol.references.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            raw_reference(reference, out);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"complexity\":");
    number(u64::from(symbol.complexity), out);
    out.push(b'}');
}

fn raw_reference(reference: &RawReference, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"kind\":");
    string(reference.kind.name(), out);
    out.extend_from_slice(b",\"target\":");
    string(&reference.target, out);
    if let Some(qualifier) = &reference.qualifier {
        out.extend_from_slice(b",\"qualifier\":");
        string(qualifier, out);
    }
    if reference.receiver {
        out.extend_from_slice(b",\"receiver\":true");
    }
    out.extend_from_slice(b",\"line\":");
    number(reference.line as u64, out);
    out.push(b'}');
}

/// A span's fields, flattened into the object being written.
fn span(span: &Span, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"start_byte\":");
    number(span.start_byte as u64, out);
    out.extend_from_slice(b",\"end_byte\":");
    number(span.end_byte as u64, out);
    out.extend_from_slice(b",\"start_line\":");
    number(span.start_line as u64, out);
    out.extend_from_slice(b",\"end_line\":");
    number(span.end_line as u64, out);
}

pub(crate) fn number(n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `text` as a JSON string, escaped as serde_json escapes: `"`, `\` and the control characters
/// (`\b \t \n \f \r` by name, the rest as `\u00xx`); everything else as it is.
pub(crate) fn string(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut done, mut at) = (0, 0);
    while at < bytes.len() {
        if let Some(word) = bytes.get(at..at + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            match escapes(word) {
                0 => {
                    at += 8;
                    continue;
                }
                // The lowest flagged byte is exact (a borrow only runs upwards from it).
                found => at += found.trailing_zeros() as usize / 8,
            }
        }
        let byte = bytes[at];
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            b'\r' => b"\\r",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0..=0x1F => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ],
            _ => {
                at += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[done..at]);
        out.extend_from_slice(escape);
        at += 1;
        done = at;
    }
    out.extend_from_slice(&bytes[done..]);
    out.push(b'"');
}

/// The top bit of each of the eight bytes of `word` (little-endian) that is a control
/// character, `"` or `\`, and maybe of bytes above the lowest one flagged: the usual test for
/// a byte below a bound (`x - n` borrows into its top bit), and for a zero byte after an XOR
/// with the byte sought. Zero when no byte needs escaping.
fn escapes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    control | quote | backslash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;
    use crate::symbols::{ReferenceKind, SymbolKind, Visibility};

    fn serde(payload: &ChunkCreated) -> String {
        serde_json::to_string(payload).unwrap()
    }

    fn ours(payload: &ChunkCreated) -> String {
        let mut out = Vec::new();
        chunk_created(payload, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        let mut every_byte: String = (0u8..0x80).map(char::from).collect();
        every_byte.push_str("é—😀 \u{7f}\u{2028}");
        for text in [
            "",
            "plain",
            "exactly8",
            "sixteen bytes ok",
            "\"quoted\" and \\slashed\\",
            "fn a() {\n\tb(\"c\");\r\n}\u{1}\u{1f}",
            &every_byte,
            &every_byte[3..],
        ] {
            let mut out = Vec::new();
            string(text, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn chunk_payloads_are_serde_json_s() {
        let span = Span {
            start_byte: 0,
            end_byte: 18_446_744,
            start_line: 1,
            end_line: 99,
        };
        let mut symbol = Symbol {
            id: "0123456789abcdef".into(),
            kind: SymbolKind::TypeAlias,
            name: "Name".into(),
            qualified_name: "crate::a::Name".into(),
            language: Language::Tsx,
            path: "src/a \"b\".rs".into(),
            span,
            parent: Some("fedcba9876543210".into()),
            signature: "pub type Name<T> = Vec<T>".into(),
            doc: Some("Docs.\n\nMore \\ docs.".into()),
            visibility: Some(Visibility::Restricted),
            references: vec![
                RawReference {
                    kind: ReferenceKind::Implements,
                    target: "Vec".into(),
                    qualifier: Some("std::vec".into()),
                    receiver: true,
                    line: 3,
                },
                RawReference {
                    kind: ReferenceKind::Call,
                    target: "f".into(),
                    qualifier: None,
                    receiver: false,
                    line: 4,
                },
            ],
            complexity: u32::MAX,
        };
        let chunk = Chunk {
            id: "aa".into(),
            symbol_id: symbol.id.clone(),
            path: symbol.path.clone(),
            language: Language::Python,
            span,
            part: 2,
            parts: 3,
            tokens: 254,
            text: "def f():\n    return \"\\t\"\u{0}".into(),
        };
        let payload = ChunkCreated {
            chunk: chunk.clone(),
            symbol: symbol.clone(),
        };
        assert_eq!(ours(&payload), serde(&payload));
        symbol = symbol.without_details();
        symbol.parent = None;
        symbol.visibility = None;
        let payload = ChunkCreated { chunk, symbol };
        assert_eq!(ours(&payload), serde(&payload));
    }

    /// Every chunk of every fixture file, with its symbol as the event carries it.
    #[test]
    fn every_fixture_chunk_is_written_as_serde_json_writes_it() {
        let mut chunks = 0;
        let mut extractor = crate::extract::Extractor::new();
        for (path, language, text) in crate::lang::fixture_files() {
            let outline = extractor.extract(path.to_str().unwrap(), language, &text);
            for chunk in outline.chunks {
                let symbol = outline.symbols.iter().find(|s| s.id == chunk.symbol_id);
                let payload = ChunkCreated {
                    chunk,
                    symbol: symbol.unwrap().clone(),
                };
                assert_eq!(ours(&payload), serde(&payload));
                chunks += 1;
            }
        }
        assert!(chunks > 100, "{chunks}");
    }
}
