//! A pre-order walk over a tree's named nodes, cheaper per node than tree-sitter's cursor.
//!
//! A cursor's sibling step re-derives the cursor's position from its stack and costs as much as
//! a dozen steps of a node's child iterator (callgrind: ~600 instructions against ~40), so the
//! walk reads a node's children by index (`Node::named_child`) instead. That counts from the
//! first child on each call, k²/2 steps for k children, so a node with more than
//! [`MAX_INDEXED_CHILDREN`] (a file's items, a long array literal) has its children read by one
//! cursor pass instead, in linear time.
//!
//! Anonymous nodes (punctuation, keywords: two fifths of a tree) are entered only where the
//! caller asks: at the byte positions it lists, where the text of a token it cares about
//! (`&&`) begins. The walk looks for them only in the gaps between a node's named children,
//! where a node's anonymous children lie, so a position inside a string or a comment is passed
//! over.

use tree_sitter::{Node, TreeCursor};

use super::pattern::{children_of, Kid};

/// The most children a node may have to be read by index; wider nodes are read by a cursor.
/// Near where the two costs cross (k²/2 index steps against k cursor steps).
pub const MAX_INDEXED_CHILDREN: u32 = 16;

/// Where the walk is: it enters a node before its children and leaves it after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit<'t> {
    Enter(Node<'t>),
    Leave(Node<'t>),
}

/// A node the walk has entered and not left.
struct Frame<'t> {
    node: Node<'t>,
    /// The index of the named child to enter next, and how many the walk enters.
    next: u32,
    count: u32,
    /// Where its named children start in [`Walk::wide`], once read by the cursor.
    wide: Option<usize>,
    /// Where the next gap between its children starts (its start, then the end of the last
    /// child left), if an anonymous position lies inside the node, so that its gaps are
    /// searched.
    gap: Option<usize>,
    /// The named child to enter after the anonymous nodes of the gap before it.
    held: Option<Node<'t>>,
}

/// A tree's named nodes and the anonymous nodes that begin at given positions, each entered
/// and then left, in tree order. Between steps, [`Walk::skip_children`] and [`Walk::field`] act
/// on the node just entered.
pub struct Walk<'t, 'p> {
    cursor: TreeCursor<'t>,
    frames: Vec<Frame<'t>>,
    /// Named children of the wide nodes on the path, with the field each sits in.
    wide: Vec<Kid<'t>>,
    root: Option<Node<'t>>,
    /// A node without children to enter, just entered, to leave next: half of the nodes the
    /// walk enters are such leaves, and they need no frame.
    leaf: Option<Node<'t>>,
    /// Where anonymous nodes to enter may begin, ascending, and how many are behind the walk.
    anonymous: &'p [usize],
    passed: usize,
    /// The node just entered is an anonymous one from a gap.
    in_gap: bool,
}

impl std::fmt::Debug for Walk<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk").finish_non_exhaustive()
    }
}

impl<'t, 'p> Walk<'t, 'p> {
    /// A walk from `root` (entered whatever its kind) that also enters the anonymous nodes
    /// beginning at the byte positions `anonymous`, which must ascend.
    pub fn new(root: Node<'t>, anonymous: &'p [usize]) -> Self {
        debug_assert!(anonymous.is_sorted());
        Walk {
            cursor: root.walk(),
            frames: Vec::new(),
            wide: Vec::new(),
            root: Some(root),
            leaf: None,
            anonymous,
            passed: 0,
            in_gap: false,
        }
    }

    /// Leaves the node just entered without entering its children.
    pub fn skip_children(&mut self) {
        if self.leaf.is_some() {
            return;
        }
        if let Some(frame) = self.frames.last_mut() {
            (frame.count, frame.gap) = (frame.next, None);
        }
    }

    /// The field the named node just entered sits in within its parent; `None` for an
    /// anonymous one.
    pub fn field(&self) -> Option<&'t str> {
        if self.in_gap {
            return None;
        }
        let parent = match (self.leaf, self.frames.as_slice()) {
            (Some(_), [.., parent]) | (None, [.., parent, _]) => parent,
            _ => return None,
        };
        let index = parent.next - 1;
        match parent.wide {
            Some(start) => self.wide.get(start + index as usize)?.field,
            None => parent.node.field_name_for_named_child(index),
        }
    }

    /// The next child of the innermost node entered, if any is left: an anonymous one asked
    /// for in the gap before the next named child, or that named child.
    fn next_child(&mut self) -> Option<(Node<'t>, bool)> {
        let frame = self.frames.last_mut()?;
        let named = match frame.held.take() {
            Some(held) => Some(held),
            None => self.next_named(),
        };
        let frame = self.frames.last_mut()?;
        let Some(gap_start) = frame.gap else {
            return named.map(|node| (node, false));
        };
        let gap_end = named.map_or_else(|| frame.node.end_byte(), |node| node.start_byte());
        while let Some(&at) = self.anonymous.get(self.passed) {
            if at >= gap_end {
                break;
            }
            self.passed += 1;
            if at < gap_start {
                continue;
            }
            let found = frame.node.first_child_for_byte(at);
            if let Some(token) = found.filter(|t| t.start_byte() == at && !t.is_named()) {
                frame.held = named;
                return Some((token, true));
            }
        }
        named.map(|node| (node, false))
    }

    /// Notes that `node` is left: the gap after it starts at its end.
    fn left(&mut self, node: Node<'t>) {
        if let Some(gap) = self.frames.last_mut().and_then(|f| f.gap.as_mut()) {
            *gap = node.end_byte();
        }
    }

    /// The innermost node's next named child.
    fn next_named(&mut self) -> Option<Node<'t>> {
        let frame = self.frames.last_mut()?;
        if frame.next == frame.count {
            return None;
        }
        let index = frame.next;
        frame.next += 1;
        if frame.count <= MAX_INDEXED_CHILDREN {
            return frame.node.named_child(index);
        }
        let start = *frame.wide.get_or_insert(self.wide.len());
        if index == 0 {
            children_of(frame.node, &mut self.cursor, &mut self.wide);
        }
        self.wide.get(start + index as usize).map(|kid| kid.node)
    }
}

impl<'t> Iterator for Walk<'t, '_> {
    type Item = Visit<'t>;

    fn next(&mut self) -> Option<Visit<'t>> {
        if let Some(leaf) = self.leaf.take() {
            self.left(leaf);
            return Some(Visit::Leave(leaf));
        }
        let (entered, in_gap) = match self.root.take() {
            Some(root) => (root, false),
            None => match self.next_child() {
                Some(child) => child,
                None => {
                    let frame = self.frames.pop()?;
                    if let Some(start) = frame.wide {
                        self.wide.truncate(start);
                    }
                    self.left(frame.node);
                    return Some(Visit::Leave(frame.node));
                }
            },
        };
        self.in_gap = in_gap;
        let count = entered.named_child_count() as u32;
        if count == 0 && entered.child_count() == 0 {
            self.leaf = Some(entered);
            return Some(Visit::Enter(entered));
        }
        // The next position not behind the walk is at or after the node's start (the gaps
        // before it were searched): inside the node if before its end.
        let gap = self
            .anonymous
            .get(self.passed)
            .is_some_and(|&at| at < entered.end_byte())
            .then(|| entered.start_byte());
        match count {
            0 if gap.is_none() => self.leaf = Some(entered),
            count => self.frames.push(Frame {
                node: entered,
                next: 0,
                count,
                wide: None,
                gap,
                held: None,
            }),
        }
        Some(Visit::Enter(entered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;

    /// Every node the walk should enter, with its field and depth, in tree order: tree-sitter's
    /// cursor walk, keeping the named nodes and the anonymous ones that start at `anonymous`.
    fn cursor_walk<'t>(
        root: Node<'t>,
        anonymous: &[usize],
    ) -> Vec<(usize, Option<&'t str>, usize)> {
        let (mut cursor, mut depth, mut out) = (root.walk(), 0, Vec::new());
        loop {
            let node = cursor.node();
            if node.is_named() {
                out.push((node.id(), cursor.field_name(), depth));
            } else if anonymous.contains(&node.start_byte()) {
                out.push((node.id(), None, depth));
            }
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return out;
                }
                depth -= 1;
            }
        }
    }

    fn walk<'t>(root: Node<'t>, anonymous: &[usize]) -> Vec<(usize, Option<&'t str>, usize)> {
        let (mut walk, mut depth, mut out) = (Walk::new(root, anonymous), 0, Vec::new());
        while let Some(visit) = walk.next() {
            match visit {
                Visit::Enter(node) => {
                    out.push((node.id(), walk.field(), depth));
                    depth += 1;
                }
                Visit::Leave(_) => depth -= 1,
            }
        }
        assert_eq!(depth, 0, "every node entered is left");
        out
    }

    fn parse(language: Language, source: &str) -> tree_sitter::Tree {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&language.grammar()).unwrap();
        parser.parse(source, None).unwrap()
    }

    #[test]
    fn enters_named_nodes_and_the_anonymous_ones_asked_for_as_the_cursor_sees_them() {
        // Narrow and wide nodes (more than MAX_INDEXED_CHILDREN children), hidden wrapper
        // nodes with fields, comments as extras, a syntax error, and the tokens asked for in
        // operators, macro arguments, closures, strings, comments, identifiers and longer
        // tokens (`&&=`).
        let items: String = (0..40)
            .map(|i| format!("fn f{i}(a: bool) -> bool {{ a && !a || a }}\n"))
            .collect();
        let array: String = (0..60).map(|i| format!("{i} && x, ")).collect();
        let cases = [
            (
                Language::Rust,
                format!("{items}const A: [u8; 2] = [1, 2]; // a && b\nfn g() {{ assert!(a && b || \"||\"); let f = || x; }}\n"),
            ),
            (
                Language::JavaScript,
                format!("let a = [{array}];\nfoo.bar(a ?? b, /* c && d */ b?.c);\nx &&= y || \"&&\";\n"),
            ),
            (
                Language::Python,
                "def f(band, order):\n    \"\"\"this and that\"\"\"\n    return band and order or (yield)\nclass C(B, metaclass=M): pass\n".to_owned(),
            ),
            (
                Language::Go,
                "package p\nfunc f(a, b bool) (int, error) {\n\tif x := g(; x && a { return 1, nil }\n\treturn 2, err || b\n}\n".to_owned(),
            ),
        ];
        for (language, source) in cases {
            let tree = parse(language, &source);
            let tokens = ["&&", "||", "??", "and", "or"];
            let anonymous: Vec<usize> = (0..source.len())
                .filter(|&i| tokens.iter().any(|t| source[i..].starts_with(t)))
                .collect();
            for anonymous in [&anonymous[..], &[]] {
                let expected = cursor_walk(tree.root_node(), anonymous);
                assert!(expected.len() > 20, "{language:?}: a tree of some size");
                assert_eq!(walk(tree.root_node(), anonymous), expected, "{language:?}");
            }
        }
    }

    #[test]
    fn skipped_children_are_not_entered() {
        let source = "fn a() { b() && c(); }\nfn d() { e(); }\n";
        let tree = parse(Language::Rust, source);
        let anonymous = [source.find("&&").unwrap()];
        let mut walk = Walk::new(tree.root_node(), &anonymous);
        let mut kinds = Vec::new();
        while let Some(visit) = walk.next() {
            if let Visit::Enter(node) = visit {
                kinds.push(node.kind());
                if node.kind() == "block" {
                    walk.skip_children();
                }
            }
        }
        assert_eq!(kinds.iter().filter(|k| **k == "block").count(), 2);
        assert!(!kinds.contains(&"call_expression"), "{kinds:?}");
        assert!(!kinds.contains(&"&&"), "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "function_item").count(), 2);
    }
}
