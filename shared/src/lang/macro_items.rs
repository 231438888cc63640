//! Rust items written inside a macro call that stands where an item may (`cfg_rt! { pub fn
//! spawn(…) }`, `pin_project! { pub struct Sleep { … } }`). tree-sitter keeps a macro's
//! arguments as unparsed tokens, so these items would be no symbols at all; crates that gate
//! features with such macros (tokio writes 200 of them, `tokio::spawn` among what they hold)
//! would lose much of their API.
//!
//! The call's name, its `!` and its braces are blanked (same length, so offsets and lines stay
//! the original's) and the text is parsed again: the items land in the scope around the call,
//! where the macro's expansion puts them (an `impl<>` in the body loses its empty generics,
//! which tree-sitter-rust rejects). A call whose body is not items (`bitflags!`,
//! `lazy_static!`, `cfg_if!`) leaves errors in the new tree and is put back as it was.

use std::ops::Range;

use tree_sitter::{InputEdit, Node, Point, Tree};

/// The node kinds whose children are items: a file, and the body of a `mod`, `impl` or `trait`.
const ITEM_SCOPES: [&str; 2] = ["source_file", "declaration_list"];

/// The tokens an item may start with: the keywords (and `#` of an attribute) before its name.
const ITEM_STARTS: [&[u8]; 17] = [
    b"#",
    b"async",
    b"const",
    b"enum",
    b"extern",
    b"fn",
    b"impl",
    b"macro_rules",
    b"mod",
    b"pub",
    b"static",
    b"struct",
    b"trait",
    b"type",
    b"union",
    b"unsafe",
    b"use",
];

/// A macro call at item position with a brace-delimited body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMacro {
    /// Where the whole call, `name! { … }`, starts.
    pub start: usize,
    /// What to blank: the name, the `!`, the opening and the closing brace, with where each
    /// starts and ends.
    blanks: Vec<(Range<usize>, Point, Point)>,
}

impl ItemMacro {
    /// Overwrites the call's name, `!` and braces in `text` with spaces, and tells `tree` (a
    /// tree of `text`), so that it can be parsed again incrementally.
    pub fn blank(&self, text: &mut [u8], tree: &mut Tree) {
        for (range, start, end) in &self.blanks {
            text[range.clone()].fill(b' ');
            tree.edit(&InputEdit {
                start_byte: range.start,
                old_end_byte: range.end,
                new_end_byte: range.end,
                start_position: *start,
                old_end_position: *end,
                new_end_position: *end,
            });
        }
    }

    /// Writes back what [`Self::blank`] overwrote, from `original`.
    pub fn restore(&self, text: &mut [u8], original: &[u8]) {
        for (range, _, _) in &self.blanks {
            text[range.clone()].copy_from_slice(&original[range.clone()]);
        }
    }
}

/// The brace-delimited macro calls that are items of a file, a module, an impl or a trait in
/// `tree`, in source order.
pub fn item_macros(tree: &Tree, text: &[u8]) -> Vec<ItemMacro> {
    let mut found = Vec::new();
    let mut scopes = vec![tree.root_node()];
    while let Some(scope) = scopes.pop() {
        let mut cursor = scope.walk();
        for child in scope.named_children(&mut cursor) {
            if child.kind() == "macro_invocation" {
                found.extend(item_macro(child, text));
            }
            // `mod m { … }`, `impl T { … }`, `trait T { … }`: their bodies hold items too.
            if let Some(body) = child.child_by_field_name("body") {
                if ITEM_SCOPES.contains(&body.kind()) {
                    scopes.push(body);
                }
            }
        }
    }
    found.sort_by_key(|m| m.start);
    found
}

/// `call` as an [`ItemMacro`], where its body is in braces.
fn item_macro(call: Node, text: &[u8]) -> Option<ItemMacro> {
    let name = call.child_by_field_name("macro")?;
    let mut cursor = call.walk();
    let mut children = call.children(&mut cursor);
    let bang = children.find(|c| c.kind() == "!")?;
    let body = children.find(|c| c.kind() == "token_tree")?;
    let (open, close) = (body.start_byte(), body.end_byte() - 1);
    if text.get(open) != Some(&b'{') || text.get(close) != Some(&b'}') {
        return None;
    }
    if !starts_like_items(body, text) {
        return None;
    }
    let (open_at, close_end) = (body.start_position(), body.end_position());
    let after_open = Point::new(open_at.row, open_at.column + 1);
    let close_at = Point::new(close_end.row, close_end.column - 1);
    let mut blanks = vec![
        blank_node(name),
        blank_node(bang),
        (open..open + 1, open_at, after_open),
        (close..close + 1, close_at, close_end),
    ];
    empty_impl_generics(body, text, &mut blanks);
    Some(ItemMacro {
        start: call.start_byte(),
        blanks,
    })
}

/// Whether the body `tokens` (`{ … }`) starts as items do: with an item's keyword, an
/// attribute, or a macro call (`cfg_net! { … }`); not with an expression or a macro's own
/// syntax (`doc_comment! { "…", … }`, `impl_ops! { Add, add }`), which no parse need try.
fn starts_like_items(tokens: Node, text: &[u8]) -> bool {
    let mut cursor = tokens.walk();
    let mut inside = tokens
        .children(&mut cursor)
        .skip(1)
        .filter(|t| !t.is_extra())
        .map(|t| &text[t.byte_range()]);
    match (inside.next(), inside.next()) {
        (Some(first), second) => {
            ITEM_STARTS.contains(&first)
                || (second == Some(b"!")
                    && first
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'_'))
        }
        (None, _) => false,
    }
}

fn blank_node(node: Node) -> (Range<usize>, Point, Point) {
    (
        node.byte_range(),
        node.start_position(),
        node.end_position(),
    )
}

/// Adds the `<>` of each `impl<>` among `tokens` to `blanks`: rustc takes empty generics
/// (tokio's `generate_addr_of_methods!` writes them), tree-sitter-rust does not.
fn empty_impl_generics(tokens: Node, text: &[u8], blanks: &mut Vec<(Range<usize>, Point, Point)>) {
    let mut cursor = tokens.walk();
    let children: Vec<Node> = tokens.children(&mut cursor).collect();
    for (i, child) in children.iter().enumerate() {
        if child.kind() == "token_tree" {
            empty_impl_generics(*child, text, blanks);
        }
        if let [open, close] = children.get(i + 1..i + 3).unwrap_or_default() {
            if &text[child.byte_range()] == b"impl"
                && open.kind() == "<"
                && close.kind() == ">"
                && child.end_byte() == open.start_byte()
                && open.end_byte() == close.start_byte()
            {
                blanks.extend([blank_node(*open), blank_node(*close)]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;

    fn parse(text: &str) -> Tree {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&Language::Rust.grammar()).unwrap();
        parser.parse(text, None).unwrap()
    }

    #[test]
    fn finds_brace_calls_at_item_position_only() {
        let source = "cfg_rt! {\n    pub fn spawn() {}\n    impl<> T {}\n}\n\
                      doc_comment! { \"A doc.\", pub fn documented() {} }\n\
                      impl T {\n    tokio::cfg_io! { fn read(&self) {} }\n}\n\
                      fn f() { cfg_rt! { x } }\n\
                      vec_of!(1, 2);\n";
        let mut tree = parse(source);
        let found = item_macros(&tree, source.as_bytes());
        let mut text = source.as_bytes().to_vec();
        for m in &found {
            m.blank(&mut text, &mut tree);
        }
        let blank = |s: &str| " ".repeat(s.len());
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            format!(
                "{}\n    pub fn spawn() {{}}\n    impl   T {{}}\n \n\
                 doc_comment! {{ \"A doc.\", pub fn documented() {{}} }}\n\
                 impl T {{\n    {} fn read(&self) {{}}  \n}}\n\
                 fn f() {{ cfg_rt! {{ x }} }}\n\
                 vec_of!(1, 2);\n",
                blank("cfg_rt! {"),
                blank("tokio::cfg_io! {"),
            )
        );
        // The edited tree parses the blanked text again as a full parse does.
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&Language::Rust.grammar()).unwrap();
        let again = parser.parse(&text, Some(&tree)).unwrap();
        assert_eq!(
            again.root_node().to_sexp(),
            parse(std::str::from_utf8(&text).unwrap())
                .root_node()
                .to_sexp()
        );
        assert!(!again.root_node().has_error());
        for m in &found {
            m.restore(&mut text, source.as_bytes());
        }
        assert_eq!(text, source.as_bytes());
    }
}
