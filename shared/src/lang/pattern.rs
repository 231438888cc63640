//! The plain subset of tree-sitter's query language, matched by the extractor's own walk.
//!
//! Most patterns of the query files are a node with fielded or plain children, optional
//! children and captures: `(call_expression function: (identifier) @reference.call)`. Starting
//! tree-sitter's query cursor at every such node costs more than the walk that finds the node
//! (a cursor start is ~1.5 µs, and call expressions are among the most frequent nodes), so
//! [`Queries`](super::Queries) compiles these patterns into [`Pattern`]s that the walk matches
//! against the node's children directly. The subset also has alternations of bare kinds, an
//! anchor before the first child, `#eq?` and `#match?`; patterns that use more of the language
//! (other anchors and alternations, negated fields, quantifiers other than `?`, other
//! predicates) stay with tree-sitter's query. Both yield the same captures for the same nodes:
//! each way of matching the steps to children in order is one match, as in tree-sitter. A
//! predicate is tested where its capture is bound, so a failing one cuts the search short.

use tree_sitter::{Language, Node, Query, TreeCursor};

use super::walk::MAX_INDEXED_CHILDREN;

/// One node of a pattern and what it captures.
#[derive(Debug)]
pub struct Pattern {
    /// Kind ids the node may have (a kind name can have several); empty for `(_)`, any named
    /// node.
    kinds: Vec<u16>,
    /// The field (by name) the node must sit in within its parent.
    field: Option<Box<str>>,
    /// `?`: the pattern matches without this node where no child fits it.
    optional: bool,
    /// `. (kind)`: only the parent's first named child may be this node.
    first: bool,
    /// Capture indices of the query.
    captures: Vec<u32>,
    /// Steps for the node's children, matched in order.
    children: Vec<Pattern>,
    /// `(#eq? @capture "text")` and `(#match? @capture "regex")` predicates (the root's only)
    /// on a capture's text.
    texts: Vec<(u32, TextTest)>,
}

/// What a predicate asks of every node of its capture: as tree-sitter's binding tests it.
#[derive(Debug)]
enum TextTest {
    Equal(String),
    Matches(regex::bytes::Regex),
}

/// Whether `node`, bound to `captures`, passes every predicate on one of them.
fn passes(texts: &[(u32, TextTest)], captures: &[u32], node: Node, source: &[u8]) -> bool {
    texts.iter().all(|(capture, test)| {
        !captures.contains(capture) || test.holds(&source[node.byte_range()])
    })
}

impl TextTest {
    fn holds(&self, text: &[u8]) -> bool {
        match self {
            TextTest::Equal(equal) => text == equal.as_bytes(),
            TextTest::Matches(regex) => regex.is_match(text),
        }
    }
}

/// A child of a node as a step sees it: the node, the field it sits in, and its kind id and
/// whether it is named (read once per child rather than once per step).
#[derive(Debug, Clone, Copy)]
pub struct Kid<'t> {
    pub(super) node: Node<'t>,
    pub(super) field: Option<&'t str>,
    kind: u16,
    named: bool,
}

/// A captured node with its capture index in the query.
pub type Captured<'t> = (u32, Node<'t>);

/// What a match must still match after the current steps: the rest of an enclosing node's
/// steps, against that node's children from a position on.
enum Then<'a, 't> {
    Done,
    Rest {
        steps: &'a [Pattern],
        kids: &'a [Kid<'t>],
        from: usize,
        then: &'a Then<'a, 't>,
    },
}

impl Pattern {
    /// Compiles one pattern's text (as the query file has it, comments included) if it is in
    /// the plain subset and every kind, field and capture in it exists; `None` leaves it to
    /// tree-sitter's query.
    pub fn compile(text: &str, grammar: &Language, query: &Query) -> Option<Pattern> {
        let mut parser = Parser {
            rest: text,
            grammar,
            query,
            texts: Vec::new(),
        };
        let mut pattern = parser.node(None)?;
        pattern.captures = parser.captures()?;
        pattern.texts = std::mem::take(&mut parser.texts);
        parser.skip_trivia();
        parser.rest.is_empty().then_some(pattern)
    }

    /// Calls `found` with the captures of every match rooted at `node`, whose kind the caller
    /// has checked. `kids` are `node`'s children ([`children_of`]); `source` is the tree's text.
    pub fn matches<'t>(
        &self,
        node: Node<'t>,
        kids: &[Kid<'t>],
        source: &[u8],
        scratch: &mut Scratch<'t>,
        found: &mut dyn FnMut(&[Captured<'t>]),
    ) {
        if !passes(&self.texts, &self.captures, node, source) {
            return;
        }
        scratch.binding.clear();
        scratch
            .binding
            .extend(self.captures.iter().map(|&c| (c, node)));
        let mut search = Search {
            scratch,
            texts: &self.texts,
            source,
            found,
        };
        search.steps(&self.children, kids, 0, &Then::Done);
    }

    /// A step of `kinds` in `field` with `children`, before its quantifier, anchor and
    /// captures are read.
    fn node(kinds: Vec<u16>, field: Option<Box<str>>, children: Vec<Pattern>) -> Pattern {
        Pattern {
            kinds,
            field,
            optional: false,
            first: false,
            captures: Vec::new(),
            children,
            texts: Vec::new(),
        }
    }

    /// The kind ids a match can start at; empty for a pattern rooted at `(_)`.
    pub fn root_kinds(&self) -> &[u16] {
        &self.kinds
    }

    fn accepts(&self, kid: &Kid) -> bool {
        kid.named
            && (self.field.is_none() || self.field.as_deref() == kid.field)
            && (self.kinds.is_empty() || self.kinds.contains(&kid.kind))
    }
}

impl<'t> Kid<'t> {
    /// A child, and the field it sits in within its parent.
    pub fn new(node: Node<'t>, field: Option<&'t str>) -> Self {
        Self::of_kind(node, field, node.kind_id(), node.is_named())
    }

    /// [`Kid::new`] for a walk that has read the node's kind and whether it is named.
    pub fn of_kind(node: Node<'t>, field: Option<&'t str>, kind: u16, named: bool) -> Self {
        Kid {
            node,
            field,
            kind,
            named,
        }
    }
}

/// The named children of `node`, with their fields, appended to `out` (a step only takes a
/// named node); `cursor` (any cursor of the tree) reads them if there are more than
/// [`MAX_INDEXED_CHILDREN`].
pub fn children_of<'t>(node: Node<'t>, cursor: &mut TreeCursor<'t>, out: &mut Vec<Kid<'t>>) {
    let count = node.named_child_count() as u32;
    if count <= MAX_INDEXED_CHILDREN {
        let kids = (0..count).map_while(|i| {
            let kid = node.named_child(i)?;
            Some(Kid::of_kind(
                kid,
                node.field_name_for_named_child(i),
                kid.kind_id(),
                true,
            ))
        });
        out.extend(kids);
        return;
    }
    cursor.reset(node);
    if cursor.goto_first_child() {
        loop {
            let kid = cursor.node();
            if kid.is_named() {
                out.push(Kid::of_kind(kid, cursor.field_name(), kid.kind_id(), true));
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

/// What matching reuses from one node to the next: a cursor for looking below a child, the
/// captures of the match in progress, and lists for children's children.
pub struct Scratch<'t> {
    cursor: TreeCursor<'t>,
    binding: Vec<Captured<'t>>,
    lists: Vec<Vec<Kid<'t>>>,
}

impl std::fmt::Debug for Scratch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

impl<'t> Scratch<'t> {
    /// `cursor`: any cursor of the tree being matched.
    pub fn new(cursor: TreeCursor<'t>) -> Self {
        Scratch {
            cursor,
            binding: Vec::new(),
            lists: Vec::new(),
        }
    }
}

/// One pattern's search below its root, and where complete matches go.
struct Search<'c, 't> {
    scratch: &'c mut Scratch<'t>,
    texts: &'c [(u32, TextTest)],
    source: &'c [u8],
    found: &'c mut dyn FnMut(&[Captured<'t>]),
}

impl<'t> Search<'_, 't> {
    /// Matches `steps` in order against `kids[from..]`, then what `then` asks; reports each
    /// complete match. Returns whether any match completed.
    fn steps<'a>(
        &mut self,
        steps: &'a [Pattern],
        kids: &'a [Kid<'t>],
        from: usize,
        then: &'a Then<'a, 't>,
    ) -> bool {
        let Some((step, rest)) = steps.split_first() else {
            return match then {
                Then::Done => {
                    (self.found)(&self.scratch.binding);
                    true
                }
                Then::Rest {
                    steps,
                    kids,
                    from,
                    then,
                } => self.steps(steps, kids, *from, then),
            };
        };
        let mut any = false;
        // An anchored step takes only the first named child.
        let first_named = step.first.then(|| kids.iter().position(|k| k.named));
        for (i, kid) in kids.iter().enumerate().skip(from) {
            if !step.accepts(kid) || first_named.is_some_and(|first| first != Some(i)) {
                continue;
            }
            if !passes(self.texts, &step.captures, kid.node, self.source) {
                continue;
            }
            let binding = &mut self.scratch.binding;
            let mark = binding.len();
            binding.extend(step.captures.iter().map(|&c| (c, kid.node)));
            let after = Then::Rest {
                steps: rest,
                kids,
                from: i + 1,
                then,
            };
            any |= if step.children.is_empty() {
                self.steps(&[], kids, 0, &after)
            } else {
                let mut grandkids = self.scratch.lists.pop().unwrap_or_default();
                grandkids.clear();
                children_of(kid.node, &mut self.scratch.cursor, &mut grandkids);
                let any = self.steps(&step.children, &grandkids, 0, &after);
                self.scratch.lists.push(grandkids);
                any
            };
            self.scratch.binding.truncate(mark);
        }
        if step.optional && !any {
            any = self.steps(rest, kids, from, then);
        }
        any
    }
}

/// A recursive-descent reader of the plain subset; any other syntax ends it with `None`.
struct Parser<'s, 'g> {
    rest: &'s str,
    grammar: &'g Language,
    query: &'g Query,
    /// The text predicates read so far.
    texts: Vec<(u32, TextTest)>,
}

impl<'s> Parser<'s, '_> {
    fn skip_trivia(&mut self) {
        loop {
            self.rest = self.rest.trim_start();
            match self.rest.strip_prefix(';') {
                Some(comment) => self.rest = comment.split_once('\n').map_or("", |(_, r)| r),
                None => return,
            }
        }
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_trivia();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// A name: letters, digits, `_` and `.` (capture names are dotted).
    fn word(&mut self) -> Option<&'s str> {
        self.skip_trivia();
        let len = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(len);
        self.rest = rest;
        (!word.is_empty()).then_some(word)
    }

    /// `(kind child…)`, after an optional `field:` the caller read.
    fn node(&mut self, field: Option<Box<str>>) -> Option<Pattern> {
        if !self.eat('(') {
            return None;
        }
        let kind = self.word()?;
        let kinds = if kind == "_" {
            Vec::new()
        } else {
            self.kind_ids(kind)?
        };
        let mut children = Vec::new();
        let mut anchored = false;
        while !self.eat(')') {
            if self.rest.starts_with("(#") {
                self.predicate()?;
                continue;
            }
            // An anchor only before the first child: `(parent . (first))`.
            if let Some(rest) = self.rest.strip_prefix('.') {
                if anchored || !children.is_empty() {
                    return None;
                }
                (self.rest, anchored) = (rest, true);
                continue;
            }
            let mut child = self.child()?;
            child.first = anchored;
            anchored = false;
            children.push(child);
        }
        if anchored {
            return None;
        }
        Some(Pattern::node(kinds, field, children))
    }

    /// Every named kind id of a kind name; `None` if the grammar has no such kind.
    fn kind_ids(&self, kind: &str) -> Option<Vec<u16>> {
        let ids = super::kind_ids(self.grammar, kind, true);
        (!ids.is_empty()).then_some(ids)
    }

    /// `[(kind) (kind) …]`: one node of any of the kinds, none with children of its own.
    fn alternatives(&mut self, field: Option<Box<str>>) -> Option<Pattern> {
        let mut kinds = Vec::new();
        while !self.eat(']') {
            if !self.eat('(') {
                return None;
            }
            let kind = self.word().filter(|k| *k != "_")?;
            kinds.extend(self.kind_ids(kind)?);
            if !self.eat(')') {
                return None;
            }
        }
        Some(Pattern::node(kinds, field, Vec::new()))
    }

    /// `[field:] (kind …) [?] [@capture …]`, or an alternation of kinds in place of the node.
    fn child(&mut self) -> Option<Pattern> {
        self.skip_trivia();
        let field = if self.rest.starts_with(['(', '[']) {
            None
        } else {
            let name = self.word()?;
            if !self.eat(':') {
                return None;
            }
            self.grammar.field_id_for_name(name)?;
            Some(name.into())
        };
        let mut child = if self.eat('[') {
            self.alternatives(field)?
        } else {
            self.node(field)?
        };
        child.optional = self.eat('?');
        child.captures = self.captures()?;
        Some(child)
    }

    /// `(#eq? @capture "text")` or `(#match? @capture "regex")`, text without escapes.
    fn predicate(&mut self) -> Option<()> {
        self.eat('(');
        let (rest, regex) = match self.rest.strip_prefix("#eq?") {
            Some(rest) => (rest, false),
            None => (self.rest.strip_prefix("#match?")?, true),
        };
        self.rest = rest;
        if !self.eat('@') {
            return None;
        }
        let capture = self.query.capture_index_for_name(self.word()?)?;
        self.skip_trivia();
        let (text, rest) = self.rest.strip_prefix('"')?.split_once('"')?;
        if text.contains('\\') {
            return None;
        }
        self.rest = rest;
        let test = if regex {
            TextTest::Matches(regex::bytes::Regex::new(text).ok()?)
        } else {
            TextTest::Equal(text.to_owned())
        };
        self.texts.push((capture, test));
        self.eat(')').then_some(())
    }

    /// `@name …`, each name a capture of the query.
    fn captures(&mut self) -> Option<Vec<u32>> {
        let mut captures = Vec::new();
        while self.eat('@') {
            captures.push(self.query.capture_index_for_name(self.word()?)?);
        }
        Some(captures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(source: &str) -> Option<Pattern> {
        let grammar: Language = tree_sitter_rust::LANGUAGE.into();
        let query = Query::new(&grammar, source).expect("valid query");
        Pattern::compile(source, &grammar, &query)
    }

    #[test]
    fn reads_the_plain_subset_and_leaves_the_rest() {
        let p = compile("(impl_item trait: (_) @t type: (_) @q) @scope ; trailing comment\n")
            .expect("plain");
        assert_eq!(p.children.len(), 2);
        assert!(p.children[0].kinds.is_empty() && p.children[0].field.is_some());
        assert!(
            compile("(function_item (visibility_modifier)? @v name: (identifier) @n) @f")
                .is_some_and(|p| p.children[0].optional && !p.children[1].optional)
        );
        for other in [
            "(call_expression function: [(identifier) (field_expression (identifier))] @x)",
            "(field_declaration !name type: (type_identifier) @x)",
            "((identifier) @x (#eq? @x \"self\"))",
            "(call_expression function: (identifier) @x (#not-match? @x \"^a\"))",
            "(block (expression_statement) . (expression_statement) @x)",
            "(arguments (identifier)* @x)",
            "(binary_expression \"+\" @x)",
        ] {
            assert!(compile(other).is_none(), "{other}");
        }
    }

    /// Every match of the walk's patterns equals tree-sitter's for the same query, node and
    /// captures, on code that gives optional, repeated and nested steps several ways to match.
    #[test]
    fn matches_what_the_query_cursor_matches() {
        use std::collections::BTreeSet;
        use streaming_iterator::StreamingIterator;

        let grammar: Language = tree_sitter_rust::LANGUAGE.into();
        let source = "(function_item (visibility_modifier)? @v name: (identifier) @n) @f\n\
                      (call_expression function: (scoped_identifier path: (_) @q name: (identifier) @c))\n\
                      (tuple_expression (identifier) @a (identifier) @b)\n\
                      (impl_item trait: (_) @t type: (_) @ty) @i\n\
                      (call_expression function: (identifier) @m arguments: (arguments . (identifier) @x) (#eq? @m \"m\"))\n\
                      (call_expression function: (identifier) @k (#match? @k \"^[mn]$\"))\n";
        let query = Query::new(&grammar, source).expect("valid query");
        let code = "pub fn a() { x::y::z(); (p, q, r); m(s, t); n(u); m(1, v); }\nfn b() {}\nimpl T for U { fn c() {} }";
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&grammar).expect("grammar");
        let tree = parser.parse(code, None).expect("tree");

        let mut expected = BTreeSet::new();
        let mut cursor = tree_sitter::QueryCursor::new();
        let mut matches = cursor.matches(&query, tree.root_node(), code.as_bytes());
        while let Some(m) = matches.next() {
            let mut captures: Vec<(u32, usize)> = m
                .captures()
                .iter()
                .map(|c| (c.index, c.node.id()))
                .collect();
            captures.sort();
            expected.insert((m.pattern_index, captures));
        }

        let patterns: Vec<(usize, Pattern)> = (0..query.pattern_count())
            .map(|i| {
                let text = &source[query.start_byte_for_pattern(i)..query.end_byte_for_pattern(i)];
                (i, Pattern::compile(text, &grammar, &query).expect("plain"))
            })
            .collect();
        let mut got = BTreeSet::new();
        let mut walk = tree.walk();
        let mut cursor = tree.walk();
        let mut scratch = Scratch::new(tree.walk());
        let mut kids = Vec::new();
        loop {
            let node = walk.node();
            for (i, pattern) in &patterns {
                if !pattern.kinds.contains(&node.kind_id()) {
                    continue;
                }
                kids.clear();
                children_of(node, &mut cursor, &mut kids);
                pattern.matches(
                    node,
                    &kids,
                    code.as_bytes(),
                    &mut scratch,
                    &mut |captures| {
                        let mut captures: Vec<(u32, usize)> =
                            captures.iter().map(|(c, n)| (*c, n.id())).collect();
                        captures.sort();
                        got.insert((*i, captures));
                    },
                );
            }
            if walk.goto_first_child() {
                continue;
            }
            while !walk.goto_next_sibling() {
                if !walk.goto_parent() {
                    // Tree-sitter also reports a `?` step's match without the optional node; a
                    // definition's captures are merged by node, so only the fullest counts.
                    let fullest: BTreeSet<_> = expected
                        .iter()
                        .filter(|(p, c)| {
                            !expected.iter().any(|(q, d)| {
                                p == q && d.len() > c.len() && c.iter().all(|x| d.contains(x))
                            })
                        })
                        .cloned()
                        .collect();
                    assert_eq!(got, fullest);
                    assert_eq!(got.len(), 12, "{got:?}");
                    return;
                }
            }
        }
    }
}
