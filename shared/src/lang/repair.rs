//! Same-length source edits that let a grammar parse valid code it is known to reject. Each
//! repair swaps whitespace for a token, so every byte offset and line of the repaired text is
//! the original's: the tree of the repaired text is read against the original source.
//!
//! tree-sitter-typescript 0.23 rejects two constructs of valid TypeScript, and the file around
//! them becomes syntax errors:
//!
//! - a generic call signature that starts a line right after another member of an object type
//!   is read as type arguments of that member's type (tree-sitter/tree-sitter-typescript#335):
//!
//!   ```ts
//!   export const dual: {
//!     <A>(self: A, that: A): A
//!     <A>(that: A): (self: A) => A
//!   } = …
//!   ```
//!
//! - variance annotations on type parameters (TypeScript 4.7): `interface Chunk<out A>`,
//!   `class Ref<in out A>`.
//!
//! Effect-style libraries write every overloaded constant and every model type so (half of
//! `effect`'s files).

use super::Language;

/// `source` with every known grammar bug of `language` worked around, or `None` where nothing
/// needed it.
pub fn repaired(language: Language, source: &str) -> Option<String> {
    if language != Language::TypeScript {
        // TSX lines starting with `<` are elements; JavaScript has no type syntax.
        return None;
    }
    let mut bytes = source.as_bytes().to_vec();
    let changed = separate_call_signatures(source, &mut bytes) | blank_variance(source, &mut bytes);
    // Only ASCII was written over ASCII: the text stays UTF-8.
    changed.then(|| String::from_utf8(bytes).expect("ASCII replaced ASCII"))
}

/// Puts a `;` in place of the indentation character before each line that starts with `<`
/// right after a line that ends a type member; whether it did.
fn separate_call_signatures(source: &str, bytes: &mut [u8]) -> bool {
    let mut changed = false;
    // The last code character of the closest line above that holds code (not a comment).
    let mut previous_end: Option<u8> = None;
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        let code = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - code.len();
        if code.starts_with('<') && indent > 0 && previous_end.is_some_and(ends_a_type) {
            bytes[start + indent - 1] = b';';
            changed = true;
        }
        let is_comment = ["//", "/*", "*"].iter().any(|c| code.starts_with(c));
        if let Some(last) = code.trim_end().bytes().last().filter(|_| !is_comment) {
            previous_end = Some(last);
        }
        start += line.len();
    }
    changed
}

/// Whether a line ending in `c` can end a member's type (`A`, `Array<A>`, `(a: A) => void`,
/// `{ … }`, `"literal"`, `A[]`).
fn ends_a_type(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_$)]}>\"'`".contains(&c)
}

/// Blanks `in` and `out` where they open a type parameter (after `<` or `,`, before a name):
/// nowhere else in TypeScript can those words stand there. Whether it did.
fn blank_variance(source: &str, bytes: &mut [u8]) -> bool {
    let text = source.as_bytes();
    let mut changed = false;
    for (i, &c) in text.iter().enumerate() {
        if c != b'<' && c != b',' {
            continue;
        }
        let mut at = skip_spaces(text, i + 1);
        let mut words = Vec::new();
        while let Some(word) = ["in", "out"].into_iter().find(|w| {
            text[at..].starts_with(w.as_bytes())
                && text.get(at + w.len()).is_some_and(u8::is_ascii_whitespace)
        }) {
            words.push((at, word.len()));
            at = skip_spaces(text, at + word.len());
        }
        let names_a_parameter = text
            .get(at)
            .is_some_and(|&n| n.is_ascii_alphabetic() || n == b'_' || n == b'$');
        if !words.is_empty() && names_a_parameter {
            for (from, len) in words {
                bytes[from..from + len].fill(b' ');
            }
            changed = true;
        }
    }
    changed
}

fn skip_spaces(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generic_call_signature_after_another_gets_a_separator_of_the_same_length() {
        let source =
            "const dual: {\n  <A>(a: A): A\n  /** Data-last. */\n  <A>(): (a: A) => A\n} = f\n";
        let repaired = repaired(Language::TypeScript, source).unwrap();
        assert_eq!(
            repaired,
            "const dual: {\n  <A>(a: A): A\n  /** Data-last. */\n ;<A>(): (a: A) => A\n} = f\n"
        );
        assert_eq!(repaired.len(), source.len());
    }

    #[test]
    fn lines_that_cannot_follow_a_member_are_left_alone() {
        // A generic arrow function after `=`, an element in TSX, an unindented line.
        let arrow = "export const id =\n  <T>(x: T) => x\n";
        assert_eq!(repaired(Language::TypeScript, arrow), None);
        let unindented = "type A = B\n<T>(x: T) => x\n";
        assert_eq!(repaired(Language::TypeScript, unindented), None);
        let element = "const e = (\n  <div>\n    <span />\n  </div>\n)\n";
        assert_eq!(repaired(Language::Tsx, element), None);
    }

    #[test]
    fn variance_annotations_are_blanked_and_nothing_else() {
        let source = "interface Ref<in out A, out B> { in: A }\nconst x = a < b, y = \"<in z\"\n";
        assert_eq!(
            repaired(Language::TypeScript, source).unwrap(),
            "interface Ref<       A,     B> { in: A }\nconst x = a < b, y = \"<   z\"\n"
        );
        assert_eq!(repaired(Language::TypeScript, "for (k in o) {}\n"), None);
    }
}
