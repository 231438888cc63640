//! A pre-order walk over every node of a tree, cheaper per node than tree-sitter's cursor.
//!
//! A cursor's sibling step re-derives the cursor's position from its stack and costs as much as
//! a dozen steps of a node's child iterator (callgrind: ~600 instructions against ~40), so the
//! walk reads a node's children by index (`Node::child`) instead. That counts from the first
//! child on each call, k²/2 steps for k children, so a node with more than
//! [`MAX_INDEXED_CHILDREN`] (a file's items, a long array literal) has its children read by one
//! cursor pass instead, in linear time.

use tree_sitter::{Node, TreeCursor};

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
    /// The index of the child to enter next, and how many the walk enters.
    next: u32,
    count: u32,
    /// Where its children start in [`Walk::wide`], once read by the cursor.
    wide: Option<usize>,
}

/// Every node under a root, each entered and then left, in tree order. Between steps,
/// [`Walk::skip_children`] and [`Walk::field`] act on the node just entered.
pub struct Walk<'t> {
    cursor: TreeCursor<'t>,
    frames: Vec<Frame<'t>>,
    /// Children of the wide nodes on the path, with the field each sits in.
    wide: Vec<(Node<'t>, Option<&'t str>)>,
    root: Option<Node<'t>>,
    /// A node without children just entered, to leave next: half of a tree's nodes are such
    /// leaves, and they need no frame.
    leaf: Option<Node<'t>>,
}

impl std::fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk").finish_non_exhaustive()
    }
}

impl<'t> Walk<'t> {
    pub fn new(root: Node<'t>) -> Self {
        Walk {
            cursor: root.walk(),
            frames: Vec::new(),
            wide: Vec::new(),
            root: Some(root),
            leaf: None,
        }
    }

    /// Leaves the node just entered without entering its children.
    pub fn skip_children(&mut self) {
        if self.leaf.is_some() {
            return;
        }
        if let Some(frame) = self.frames.last_mut() {
            frame.count = frame.next;
        }
    }

    /// The field the node just entered sits in within its parent.
    pub fn field(&self) -> Option<&'t str> {
        let parent = match (self.leaf, self.frames.as_slice()) {
            (Some(_), [.., parent]) | (None, [.., parent, _]) => parent,
            _ => return None,
        };
        let index = parent.next - 1;
        match parent.wide {
            Some(start) => self.wide.get(start + index as usize)?.1,
            None => parent.node.field_name_for_child(index),
        }
    }

    /// The next child of the innermost node entered, if any is left.
    fn next_child(&mut self) -> Option<Node<'t>> {
        let frame = self.frames.last_mut()?;
        if frame.next == frame.count {
            return None;
        }
        let index = frame.next;
        frame.next += 1;
        if frame.count <= MAX_INDEXED_CHILDREN {
            return frame.node.child(index);
        }
        let start = *frame.wide.get_or_insert(self.wide.len());
        if index == 0 {
            read_children(frame.node, &mut self.cursor, &mut self.wide);
        }
        self.wide.get(start + index as usize).map(|(node, _)| *node)
    }
}

impl<'t> Iterator for Walk<'t> {
    type Item = Visit<'t>;

    fn next(&mut self) -> Option<Visit<'t>> {
        if let Some(leaf) = self.leaf.take() {
            return Some(Visit::Leave(leaf));
        }
        let entered = match self.root.take() {
            Some(root) => root,
            None => match self.next_child() {
                Some(child) => child,
                None => {
                    let frame = self.frames.pop()?;
                    if let Some(start) = frame.wide {
                        self.wide.truncate(start);
                    }
                    return Some(Visit::Leave(frame.node));
                }
            },
        };
        match entered.child_count() {
            0 => self.leaf = Some(entered),
            count => self.frames.push(Frame {
                node: entered,
                next: 0,
                count,
                wide: None,
            }),
        }
        Some(Visit::Enter(entered))
    }
}

/// `node`'s children with their fields, by one cursor pass.
fn read_children<'t>(
    node: Node<'t>,
    cursor: &mut TreeCursor<'t>,
    out: &mut Vec<(Node<'t>, Option<&'t str>)>,
) {
    cursor.reset(node);
    if cursor.goto_first_child() {
        loop {
            out.push((cursor.node(), cursor.field_name()));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;

    /// Every node with its field and depth, in tree order, as tree-sitter's cursor walks them.
    fn cursor_walk<'t>(root: Node<'t>) -> Vec<(usize, Option<&'t str>, usize)> {
        let (mut cursor, mut depth, mut out) = (root.walk(), 0, Vec::new());
        loop {
            out.push((cursor.node().id(), cursor.field_name(), depth));
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

    fn walk<'t>(root: Node<'t>) -> Vec<(usize, Option<&'t str>, usize)> {
        let (mut walk, mut depth, mut out) = (Walk::new(root), 0, Vec::new());
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

    #[test]
    fn visits_every_node_with_its_field_as_the_cursor_does() {
        // Narrow and wide nodes (more than MAX_INDEXED_CHILDREN children), hidden wrapper
        // nodes with fields, comments as extras, and a syntax error.
        let items: String = (0..40)
            .map(|i| format!("fn f{i}(a: u8) -> u8 {{ a }}\n"))
            .collect();
        let array: String = (0..60).map(|i| format!("{i}, ")).collect();
        let cases = [
            (Language::Rust, format!("{items}const A: [u8; 60] = [{array}]; // end\n")),
            (Language::JavaScript, format!("let a = [{array}];\nfoo.bar(a, /* c */ b?.c);\n")),
            (Language::Python, "def f(x):\n    return x if x else (yield)\nclass C(B, metaclass=M): pass\n".to_owned()),
            (Language::Go, "package p\nfunc f(a, b int) (int, error) {\n\tif x := g(; x { return a, nil }\n\treturn b, err\n}\n".to_owned()),
        ];
        for (language, source) in cases {
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&language.grammar()).unwrap();
            let tree = parser.parse(&source, None).unwrap();
            let expected = cursor_walk(tree.root_node());
            assert!(expected.len() > 30, "{language:?}: a tree of some size");
            assert_eq!(walk(tree.root_node()), expected, "{language:?}");
        }
    }

    #[test]
    fn skipped_children_are_not_entered() {
        let source = "fn a() { b(); }\nfn c() { d(); }\n";
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&Language::Rust.grammar()).unwrap();
        let tree = parser.parse(source, None).unwrap();
        let mut walk = Walk::new(tree.root_node());
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
        assert_eq!(kinds.iter().filter(|k| **k == "function_item").count(), 2);
    }
}
