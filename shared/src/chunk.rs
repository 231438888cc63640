//! Semantic chunks: the text the embedder sees for each symbol.
//!
//! A symbol's chunk is its doc comment and its source with nested symbols cut down to their
//! signatures (each nested symbol has chunks of its own), so no code is embedded twice. The
//! file-level symbol's chunk is thus the module-level code plus an outline of the file. Text
//! over the token budget is split at the symbol's statement boundaries, then at lines.

use crate::hash::stable_id;
use crate::symbols::{Chunk, Span, Symbol, SymbolKind};

/// Tokens per chunk: all-MiniLM-L6-v2 reads at most 256 tokens, two of which are `[CLS]` and
/// `[SEP]`; text past that would be silently cut by the embedder, so it is split here instead.
pub const CHUNK_TOKEN_BUDGET: usize = 254;
/// Parts per symbol: past this (≈ 16k tokens of one symbol) the code is generated or data-like,
/// and more parts would cost embedding time without describing the symbol better.
pub const MAX_CHUNKS_PER_SYMBOL: usize = 64;

/// Estimates BERT WordPiece tokens of `text` without the vocabulary (the core has no tokenizer,
/// and the edge cannot afford one per chunk): every punctuation character is a token, as in
/// BERT's basic tokenizer, and words (non-ASCII characters count as letters) split into pieces
/// of about four characters. On code this errs towards more tokens, so chunks stay within the
/// model's window.
pub fn estimate_tokens(text: &str) -> usize {
    let mut word = 0;
    count_tokens(text.as_bytes(), &mut word)
}

/// [`estimate_tokens`] of `text` if it is at most `limit`; stops reading once past it, so a
/// long text over the budget costs no more than the budget.
fn tokens_within(text: &str, limit: usize) -> Option<usize> {
    let mut within = Within::new(limit);
    within.add(text);
    within.tokens()
}

/// [`tokens_within`] of a text given in runs.
struct Within {
    tokens: usize,
    /// Letters of the word that the last run ended in.
    word: usize,
    limit: usize,
}

impl Within {
    fn new(limit: usize) -> Self {
        Within {
            tokens: 0,
            word: 0,
            limit,
        }
    }

    fn add(&mut self, run: &str) {
        /// Bytes counted between checks against the limit.
        const BLOCK: usize = 1024;
        for block in run.as_bytes().chunks(BLOCK) {
            if self.tokens > self.limit {
                return;
            }
            self.tokens += count_tokens(block, &mut self.word);
        }
    }

    fn tokens(&self) -> Option<usize> {
        (self.tokens <= self.limit).then_some(self.tokens)
    }
}

/// The tokens of `bytes`, continuing a word of `word` letters that ended the bytes before.
fn count_tokens(bytes: &[u8], word: &mut usize) -> usize {
    // Branch-free: code alternates words and punctuation too often for a branch per byte to
    // predict well. A word of n letters is ⌈n/4⌉ pieces: one at its 1st, 5th, 9th… letter.
    let mut tokens = 0;
    let mut letters = *word;
    for &byte in bytes {
        let class = BYTE_CLASS[usize::from(byte)];
        let letter = usize::from(class == LETTER);
        // All ones to keep counting (a letter, or a later byte of one), zero to end the word.
        let keep = usize::from(class <= CONTINUATION).wrapping_neg();
        letters = (letters + letter) & keep;
        tokens += usize::from(class == PUNCTUATION) + (letter & usize::from(letters % 4 == 1));
    }
    *word = letters;
    tokens
}

/// [`estimate_tokens`]'s byte classes: a letter or digit, or the first byte of a non-ASCII
/// character (counted as a letter); a later byte of a non-ASCII character; whitespace;
/// punctuation.
const LETTER: u8 = 0;
const CONTINUATION: u8 = 1;
const WHITESPACE: u8 = 2;
const PUNCTUATION: u8 = 3;

/// [`estimate_tokens`]'s class of each byte, looked up rather than tested byte by byte.
static BYTE_CLASS: [u8; 256] = {
    let mut classes = [PUNCTUATION; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        classes[byte] = if b.is_ascii_alphanumeric() || b >= 0xC0 {
            LETTER
        } else if b >= 0x80 {
            CONTINUATION
        } else if b.is_ascii_whitespace() {
            WHITESPACE
        } else {
            PUNCTUATION
        };
        byte += 1;
    }
    classes
};

/// Byte offset → 1-based line.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        // `match_indices` of a char finds it with memchr, a word at a time.
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    pub fn line_of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&s| s <= byte).max(1)
    }
}

/// What [`chunk_symbol`] needs to know about one symbol.
pub struct ChunkInput<'a> {
    pub symbol: &'a Symbol,
    pub source: &'a str,
    pub lines: &'a LineIndex,
    /// Nested symbols as `(start, end, signature)`, sorted: their text is replaced by the signature.
    pub elided: &'a [(usize, usize, &'a str)],
    /// Byte offsets where the symbol's statements (or members) start: preferred split points,
    /// asked for only when the symbol does not fit in one chunk.
    pub split_points: &'a dyn Fn() -> Vec<usize>,
    /// Whether the symbol's doc comment sits above its text (so the chunk adds it), rather than
    /// inside it (a docstring, a file's `//!` lines).
    pub doc_outside: bool,
}

impl std::fmt::Debug for ChunkInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkInput")
            .field("symbol", &self.symbol.id)
            .field("elided", &self.elided)
            .field("doc_outside", &self.doc_outside)
            .finish_non_exhaustive()
    }
}

/// A run of the symbol's text with the byte range it came from and its estimated tokens.
struct Piece<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    tokens: usize,
}

impl<'a> Piece<'a> {
    fn new(text: &'a str, start: usize, end: usize) -> Self {
        Piece {
            text,
            start,
            end,
            tokens: estimate_tokens(text),
        }
    }
}

/// One chunk's text, with the byte range it covers and its estimated tokens.
struct Part {
    text: String,
    start: usize,
    end: usize,
    tokens: usize,
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Longest signature line repeated at the top of a symbol's later parts, so each part says
/// whose it is without eating the budget.
const CONTINUATION_BYTES: usize = 120;

/// Chunks of one symbol: at least one, at most [`MAX_CHUNKS_PER_SYMBOL`].
pub fn chunk_symbol(input: &ChunkInput) -> Vec<Chunk> {
    let symbol = input.symbol;
    let (start, end) = (symbol.span.start_byte, symbol.span.end_byte);

    let first_line = symbol.signature.lines().next().unwrap_or("");
    let continuation = format!("{} …\n", truncate(first_line, CONTINUATION_BYTES));
    let continuation = Piece::new(&continuation, start, start);
    // Every piece fits in a part together with the continuation line.
    let budget = CHUNK_TOKEN_BUDGET.saturating_sub(continuation.tokens);

    let header = chunk_header(input);
    let header_tokens = estimate_tokens(&header);
    // Most symbols fit in one part: counted first, their text is copied once.
    let fits = budget.checked_sub(header_tokens).and_then(|left| {
        let mut within = Within::new(left);
        elided_runs(input, start, end, |run| within.add(run));
        within.tokens()
    });
    if let Some(tokens) = fits {
        let mut text = header;
        elided_runs(input, start, end, |run| text.push_str(run));
        let part = Part {
            text,
            start,
            end,
            tokens: header_tokens + tokens,
        };
        return into_chunks(input, vec![part]);
    }

    let mut bounds: Vec<usize> = (input.split_points)()
        .into_iter()
        .filter(|&p| p > start && p < end)
        .collect();
    bounds.insert(0, start);
    bounds.push(end);
    bounds.dedup();
    // The text between each two bounds, end to end in one string: `cuts` are where each begins.
    let mut body = String::new();
    let mut cuts = Vec::with_capacity(bounds.len());
    for pair in bounds.windows(2) {
        cuts.push(body.len());
        elided_runs(input, pair[0], pair[1], |run| body.push_str(run));
    }
    cuts.push(body.len());
    let mut pieces = Vec::new();
    split_oversized(&header, start, start, budget, &mut pieces);
    for (pair, cut) in bounds.windows(2).zip(cuts.windows(2)) {
        let text = &body[cut[0]..cut[1]];
        split_oversized(text, pair[0], pair[1], budget, &mut pieces);
    }

    // Greedy packing of pieces into parts within the budget.
    let mut parts: Vec<Part> = Vec::new();
    let mut current: Option<Part> = None;
    for piece in pieces {
        match &mut current {
            Some(part) if part.tokens + piece.tokens <= CHUNK_TOKEN_BUDGET => {
                part.text.push_str(piece.text);
                part.end = part.end.max(piece.end);
                part.tokens += piece.tokens;
            }
            _ => {
                if let Some(part) = current.take() {
                    if parts.len() + 1 == MAX_CHUNKS_PER_SYMBOL {
                        current = Some(part);
                        break;
                    }
                    parts.push(part);
                }
                // Later parts open with the continuation line.
                let lead = (!parts.is_empty()).then_some(&continuation);
                let mut text = String::new();
                text.push_str(lead.map_or("", |c| c.text));
                text.push_str(piece.text);
                current = Some(Part {
                    text,
                    start: piece.start,
                    end: piece.end,
                    tokens: lead.map_or(0, |c| c.tokens) + piece.tokens,
                });
            }
        }
    }
    parts.extend(current);
    into_chunks(input, parts)
}

/// The symbol's chunks from its parts (blank ones dropped; the signature if none is left).
fn into_chunks(input: &ChunkInput, mut parts: Vec<Part>) -> Vec<Chunk> {
    let symbol = input.symbol;
    parts.retain(|p| !p.text.trim().is_empty());
    if parts.is_empty() {
        let span = &symbol.span;
        parts.push(Part {
            text: symbol.signature.clone(),
            start: span.start_byte,
            end: span.end_byte,
            tokens: estimate_tokens(&symbol.signature),
        });
    }

    let total = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(part, piece)| Chunk {
            id: stable_id(&[&symbol.id, &part.to_string()]),
            symbol_id: symbol.id.clone(),
            path: symbol.path.clone(),
            language: symbol.language,
            span: Span {
                start_byte: piece.start,
                end_byte: piece.end,
                start_line: input.lines.line_of(piece.start),
                end_line: input
                    .lines
                    .line_of(piece.end.saturating_sub(1).max(piece.start)),
            },
            part,
            parts: total,
            tokens: piece.tokens,
            text: {
                let mut text = piece.text;
                text.truncate(text.trim_end().len());
                text
            },
        })
        .collect()
}

/// What opens a symbol's first chunk: the file path for files, the doc comment where it sits
/// outside the symbol's own text.
fn chunk_header(input: &ChunkInput) -> String {
    let symbol = input.symbol;
    let mut header = String::new();
    if matches!(symbol.kind, SymbolKind::File | SymbolKind::Module) && symbol.signature.is_empty() {
        header.push_str(&format!("// {}\n", symbol.path));
    }
    if let Some(doc) = symbol.doc.as_deref().filter(|_| input.doc_outside) {
        header.push_str(doc);
        header.push('\n');
    }
    header
}

/// The text of `[start, end)` with nested symbols replaced by their signatures, given to `run`
/// in runs, in order.
fn elided_runs<'a>(input: &ChunkInput<'a>, start: usize, end: usize, mut run: impl FnMut(&'a str)) {
    let mut at = start;
    // `elided` is sorted: begin at the first one that ends inside this range.
    let first = input.elided.partition_point(|&(_, e, _)| e <= start);
    for &(s, e, signature) in &input.elided[first..] {
        if s >= end {
            break;
        }
        if e <= at {
            continue;
        }
        if s > at {
            run(&input.source[at..s]);
        }
        if s >= at {
            run(signature);
            // A declaration that is all signature (a constant, after its doc) loses nothing.
            if !input.source[s..e]
                .trim()
                .trim_end_matches(';')
                .ends_with(signature)
            {
                run(" …");
            }
        }
        at = e.min(end).max(at);
    }
    if at < end {
        run(&input.source[at..end]);
    }
}

/// The piece of `text` (from `[start, end)` of the source), split at line ends (a single long
/// line at char boundaries) where it is over `budget` tokens.
fn split_oversized<'a>(
    text: &'a str,
    start: usize,
    end: usize,
    budget: usize,
    out: &mut Vec<Piece<'a>>,
) {
    let budget = budget.max(16);
    if let Some(tokens) = tokens_within(text, budget) {
        if !text.is_empty() {
            out.push(Piece {
                text,
                start,
                end,
                tokens,
            });
        }
        return;
    }
    // The piece being gathered is `text[from..at]`, of `used` tokens.
    let (mut from, mut at, mut used) = (0, 0, 0);
    for line in text.split_inclusive('\n') {
        let tokens = estimate_tokens(line);
        if used + tokens > budget && at > from {
            out.push(Piece {
                text: &text[from..at],
                start,
                end,
                tokens: used,
            });
            (from, used) = (at, 0);
        }
        at += line.len();
        if tokens > budget {
            out.extend(
                split_line(line, budget)
                    .into_iter()
                    .map(|part| Piece::new(part, start, end)),
            );
            from = at;
            continue;
        }
        used += tokens;
    }
    if at > from {
        out.push(Piece {
            text: &text[from..at],
            start,
            end,
            tokens: used,
        });
    }
}

/// Cuts one over-long line into runs of `budget` characters: a character is at most one
/// estimated token, so each run fits.
fn split_line(line: &str, budget: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .nth(budget)
            .map_or(rest.len(), |(i, _)| i);
        parts.push(&rest[..end]);
        rest = &rest[end..];
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_estimate_counts_punctuation_and_word_pieces() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("fn a()"), 4);
        assert_eq!(estimate_tokens("parse_header"), 5);
        // A non-ASCII character is one letter of its word.
        assert_eq!(estimate_tokens("héllo wörld—x"), 4);
        // Counted in blocks, a word running across a block's end is one word.
        let long = "abcdefghij".repeat(500);
        assert_eq!(
            tokens_within(&long, usize::MAX),
            Some(estimate_tokens(&long))
        );
        assert_eq!(estimate_tokens(&long), 1250);
        assert_eq!(tokens_within(&long, 1249), None);
    }

    #[test]
    fn line_index_maps_bytes_to_lines() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(2), 2);
        assert_eq!(idx.line_of(5), 3);
        assert_eq!(idx.line_of(6), 4);
    }

    #[test]
    fn long_lines_split_within_budget() {
        let line = "x = 1; ".repeat(2000);
        let parts = split_line(&line, 100);
        assert!(parts.len() > 1);
        assert_eq!(parts.concat(), line);
        assert!(parts.iter().all(|p| estimate_tokens(p) <= 100));
    }
}
