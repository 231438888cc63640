//! Same-length source edits that let a grammar parse valid code it is known to reject. Each
//! repair swaps whitespace for a token, so every byte offset and line of the repaired text is
//! the original's: the tree of the repaired text is read against the original source.
//!
//! tree-sitter-typescript 0.23 rejects these constructs of valid TypeScript (and TSX, but for
//! the first), and the file around them becomes syntax errors:
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
//! - an escape sequence in a template literal type: ``type M<U> = `use \`${U}\` here` ``.
//!
//! - a type-only re-export of a whole module (TypeScript 5.0): `export type * from './keys'`.
//!
//! Effect-style libraries write every overloaded constant and every model type with the first
//! two (half of `effect`'s files); one template literal type with an escape cost `effect`'s
//! `Schema.ts` its last 2,000 lines.

use super::Language;

/// `source` with every known grammar bug of `language` worked around, or `None` where nothing
/// needed it.
pub fn repaired(language: Language, source: &str) -> Option<String> {
    // JavaScript has no type syntax.
    if !matches!(language, Language::TypeScript | Language::Tsx) {
        return None;
    }
    let mut bytes = source.as_bytes().to_vec();
    // TSX lines starting with `<` are elements, not call signatures.
    let changed = (language == Language::TypeScript
        && separate_call_signatures(source, &mut bytes))
        | blank_variance(source, &mut bytes)
        | blank_template_escapes(source, &mut bytes)
        | blank_type_star_exports(source, &mut bytes);
    // Only ASCII was written over ASCII: the text stays UTF-8.
    changed.then(|| String::from_utf8(bytes).expect("ASCII replaced ASCII"))
}

/// Puts a `;` in place of the indentation character before each line that starts with `<`
/// right after a line that ends a type member; whether it did.
fn separate_call_signatures(source: &str, bytes: &mut [u8]) -> bool {
    let mut changed = false;
    // Whether the closest line above that holds code (not a comment) ends a type.
    let mut previous_ends_a_type = false;
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        let code = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - code.len();
        if code.starts_with('<') && indent > 0 && previous_ends_a_type {
            bytes[start + indent - 1] = b';';
            changed = true;
        }
        let is_comment = ["//", "/*", "*"].iter().any(|c| code.starts_with(c));
        let code = code.trim_end();
        if !code.is_empty() && !is_comment {
            previous_ends_a_type = ends_a_type(code);
        }
        start += line.len();
    }
    changed
}

/// Whether a line of code can end a member's type (`A`, `Array<A>`, `(a: A) => void`,
/// `{ … }`, `"literal"`, `A[]`); a line ending in `=>` continues on the next (a curried generic
/// arrow: `<A>(a: A) =>` then `<B>(b: B) => …`).
fn ends_a_type(code: &str) -> bool {
    let last = code.as_bytes()[code.len() - 1];
    (last.is_ascii_alphanumeric() || b"_$)]}>\"'`".contains(&last)) && !code.ends_with("=>")
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

/// Blanks each escape sequence (`\``, `\n`, `\\`) in the text of a template literal: the
/// grammar's template literal types take none, and a value's template is the same string to the
/// grammar either way. Whether it did. A light lexer finds the templates: it skips comments,
/// quoted strings and regular expressions, and follows `${…}` back into the template.
fn blank_template_escapes(source: &str, bytes: &mut [u8]) -> bool {
    let text = source.as_bytes();
    let mut changed = false;
    // Per open `{`: whether it is a template's `${` (its `}` returns to the template text).
    let mut braces: Vec<bool> = Vec::new();
    let mut in_template = false;
    // The last code byte before the current one that is not whitespace, for regexes.
    let mut previous = b';';
    let mut at = 0;
    while at < text.len() {
        let c = text[at];
        if in_template {
            match c {
                b'`' => {
                    in_template = false;
                    previous = c;
                }
                b'$' if text.get(at + 1) == Some(&b'{') => {
                    braces.push(true);
                    in_template = false;
                    at += 1;
                }
                // The escaped character too, so that `\${` cannot become a `${`; never a line
                // break (lines stay where they are) or part of a multi-byte character.
                b'\\' => {
                    bytes[at] = b' ';
                    if text
                        .get(at + 1)
                        .is_some_and(|&n| n.is_ascii() && n != b'\n')
                    {
                        bytes[at + 1] = b' ';
                        at += 1;
                    }
                    changed = true;
                }
                _ => {}
            }
            at += 1;
            continue;
        }
        match c {
            b'`' => in_template = true,
            b'{' => braces.push(false),
            b'}' => in_template = braces.pop().unwrap_or(false),
            b'\'' | b'"' => at = quoted_end(text, at),
            // Comments are skipped whole and leave `previous` as it was.
            b'/' if text.get(at + 1) == Some(&b'/') => {
                at = text[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(text.len(), |n| at + n);
                continue;
            }
            b'/' if text.get(at + 1) == Some(&b'*') => {
                at = text[at + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(text.len(), |n| at + 2 + n + 2);
                continue;
            }
            b'/' if starts_an_operand(previous, &text[..at]) => at = regex_end(text, at),
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            previous = text[at.min(text.len() - 1)];
        }
        at += 1;
    }
    changed
}

/// Blanks `type` in `export type * from` and `export type * as ns from`: a re-export of the
/// same names to the reader. Whether it did.
fn blank_type_star_exports(source: &str, bytes: &mut [u8]) -> bool {
    let text = source.as_bytes();
    let mut changed = false;
    for (i, _) in source.match_indices("export") {
        let after_export = i + "export".len();
        let at = skip_spaces(text, after_export);
        let is_type = at > after_export
            && text[at..].starts_with(b"type")
            && text.get(at + 4).is_some_and(u8::is_ascii_whitespace);
        if is_type && text.get(skip_spaces(text, at + 4)) == Some(&b'*') {
            bytes[at..at + 4].fill(b' ');
            changed = true;
        }
    }
    changed
}

/// Where the string literal opening at `open` ends (its closing quote, or the line's end).
fn quoted_end(text: &[u8], open: usize) -> usize {
    let quote = text[open];
    let mut at = open + 1;
    while at < text.len() && text[at] != quote && text[at] != b'\n' {
        at += if text[at] == b'\\' { 2 } else { 1 };
    }
    at.min(text.len() - 1)
}

/// Whether a `/` after `previous` (the last code byte) and `before` starts a regular
/// expression: where an operand is expected, after an operator or an opening bracket or a
/// keyword that takes one.
fn starts_an_operand(previous: u8, before: &[u8]) -> bool {
    if !(previous.is_ascii_alphanumeric() || b"_$)]}'\"`".contains(&previous)) {
        return true;
    }
    let word_start = before
        .trim_ascii_end()
        .iter()
        .rposition(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'$'))
        .map_or(0, |i| i + 1);
    let word = &before.trim_ascii_end()[word_start..];
    [
        &b"return"[..],
        b"typeof",
        b"case",
        b"in",
        b"of",
        b"delete",
        b"void",
        b"throw",
        b"yield",
        b"await",
    ]
    .contains(&word)
}

/// Where the regular expression opening at `open` ends: its closing `/` (outside a `[…]`
/// class). A `/` with no close on its line is a division: `open` itself.
fn regex_end(text: &[u8], open: usize) -> usize {
    let mut in_class = false;
    let mut at = open + 1;
    while at < text.len() && text[at] != b'\n' {
        match text[at] {
            b'\\' => at += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'/' if !in_class => return at,
            _ => {}
        }
        at += 1;
    }
    open
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
        // A generic arrow function after `=`, a curried one after `=>`, an element in TSX, an
        // unindented line.
        let arrow = "export const id =\n  <T>(x: T) => x\n";
        assert_eq!(repaired(Language::TypeScript, arrow), None);
        let unindented = "type A = B\n<T>(x: T) => x\n";
        assert_eq!(repaired(Language::TypeScript, unindented), None);
        let curried = "const make =\n  <A>(a: A) =>\n  <B>(b: B) => a\n";
        assert_eq!(repaired(Language::TypeScript, curried), None);
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

    #[test]
    fn escapes_in_templates_are_blanked_and_other_text_is_not() {
        let source = "type M<U extends string> = `use \\`${U}\\` here`\nconst s = '\\`' + /`\\n/.source + `a\\${b}` // `\\n\n";
        assert_eq!(
            repaired(Language::TypeScript, source).unwrap(),
            "type M<U extends string> = `use   ${U}   here`\nconst s = '\\`' + /`\\n/.source + `a  {b}` // `\\n\n"
        );
        // A substitution's braces and strings are code: the template resumes after its `}`.
        let nested = "const t = `${f({ a: '`' })}\\n`\n";
        assert_eq!(
            repaired(Language::TypeScript, nested).unwrap(),
            "const t = `${f({ a: '`' })}  `\n"
        );
        assert_eq!(
            repaired(Language::TypeScript, "const q = a / b / c // `x\\n`\n"),
            None
        );
    }

    #[test]
    fn type_only_star_exports_become_star_exports() {
        let source =
            "export type * from './keys';\nexport type * as n from './n';\nexport type { A };\n";
        assert_eq!(
            repaired(Language::TypeScript, source).unwrap(),
            "export      * from './keys';\nexport      * as n from './n';\nexport type { A };\n"
        );
    }
}
