//! Regressions found in review: inputs that once panicked, leaked docs between declarations,
//! or embedded text twice.

use doctown_core::extract::{Extractor, FileOutline};
use doctown_core::lang::Language;

fn extract(path: &str, source: &str) -> FileOutline {
    let language = Language::from_path(path).unwrap();
    Extractor::new().extract(path, language, source)
}

fn symbol<'a>(outline: &'a FileOutline, name: &str) -> &'a doctown_core::symbols::Symbol {
    outline
        .symbols
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

#[test]
fn a_comment_inside_a_decorator_is_not_a_doc_and_does_not_panic() {
    let source =
        "@Component({\n  // builds the thing\n  factory() { return 1; },\n})\nexport class A {}\n";
    let outline = extract("a.ts", source);
    assert_eq!(symbol(&outline, "A").doc, None);
}

#[test]
fn go_groups_keep_each_spec_apart() {
    let source = "package b\n\n// Group doc.\nconst (\n\tA = 1\n\t// B doc.\n\tB = 2\n)\n\nvar x, y = 1, 2 // trailing note\nfunc F() {}\n";
    let outline = extract("b.go", source);
    assert_eq!(symbol(&outline, "A").signature, "A = 1");
    assert_eq!(symbol(&outline, "B").doc.as_deref(), Some("B doc."));
    // A comment trailing code documents that code, not the next declaration.
    assert_eq!(symbol(&outline, "F").doc, None);
    // Names declared together are separate symbols.
    assert_eq!(symbol(&outline, "y").qualified_name, "b.y");
}

#[test]
fn impl_for_a_tuple_keeps_its_type_in_the_name() {
    let outline = extract(
        "src/c.rs",
        "trait Tr { fn m(&self); }\nimpl Tr for (A, B) { fn m(&self) {} }\n",
    );
    let names: Vec<&str> = outline
        .symbols
        .iter()
        .map(|s| s.qualified_name.as_str())
        .collect();
    assert!(names.contains(&"crate::c::(A, B)::m"), "{names:?}");
}

#[test]
fn docs_are_embedded_once() {
    let source = "//! Crate doc.\n/// Item doc.\npub fn g() {}\n";
    let outline = extract("src/lib.rs", source);
    let all: String = outline
        .chunks
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(all.matches("Crate doc.").count(), 1, "{all}");
    assert_eq!(all.matches("Item doc.").count(), 1, "{all}");
    assert_eq!(symbol(&outline, "g").doc.as_deref(), Some("Item doc."));
}

#[test]
fn huge_flat_files_stay_linear() {
    // 20,000 top-level constants: elision and merging must not compare every pair.
    let source: String = (0..20_000)
        .map(|i| format!("const X_{i} = {i};\n"))
        .collect();
    let outline = extract("big.js", &source);
    assert_eq!(outline.symbols.len(), 20_001);
}

#[test]
fn branches_inside_macro_arguments_count_and_their_comments_are_no_docs() {
    let source = "fn f(a: bool, b: bool) {\n    assert!(a && (b || a), \"{}\", vec![1].len());\n}\n\nfn g() {\n    println!(\"a && b || c\");\n}\n\nm! {\n    /// not f's doc\n    x\n}\nfn h() {}\n";
    let outline = extract("m.rs", source);
    // `&&` and `||` in a macro's tokens are branches; inside a string they are text.
    assert_eq!(symbol(&outline, "f").complexity, 3);
    assert_eq!(symbol(&outline, "g").complexity, 1);
    assert_eq!(symbol(&outline, "h").doc, None);
}

#[test]
fn typescript_the_grammar_rejects_is_parsed_through_its_repair() {
    // Overloaded generic call signatures one per line, and variance annotations: valid
    // TypeScript that tree-sitter-typescript 0.23 turns into one syntax error for the file.
    let source = "export interface Chunk<out A> extends Iterable<A> {\n  readonly length: number\n}\n\n/**\n * Appends, data-first or data-last.\n */\nexport const append: {\n  <B>(last: B): <A>(self: Chunk<A>) => Chunk<A | B>\n  /** Data-first. */\n  <A, B>(self: Chunk<A>, last: B): Chunk<A | B>\n} = dual(2, (self, last) => self)\n\nexport class Ref<in out A> {\n  get(): A { return this.a }\n}\n";
    let outline = extract("chunk.ts", source);
    assert!(outline.diagnostics.is_empty(), "{:?}", outline.diagnostics);
    assert_eq!(
        symbol(&outline, "Chunk").signature,
        "export interface Chunk<out A> extends Iterable<A>"
    );
    let append = symbol(&outline, "append");
    assert_eq!(
        append.doc.as_deref(),
        Some("Appends, data-first or data-last.")
    );
    // The text is the file's own: the repair's separators are not in it.
    assert_eq!(append.signature, "export const append");
    assert!(!outline.chunks.iter().any(|c| c.text.contains(";<A, B>")));
    assert_eq!(symbol(&outline, "get").qualified_name, "chunk.Ref.get");
}

#[test]
fn typescript_an_exported_ambient_constant_is_a_symbol() {
    // Effect's HKT.ts: the value exists at run time, only its type is written here.
    let source = "/** The URI of the type lambda. */\nexport declare const URI: unique symbol\ndeclare const local: number\n";
    let outline = extract("hkt.ts", source);
    let uri = symbol(&outline, "URI");
    assert_eq!(uri.kind, doctown_core::symbols::SymbolKind::Constant);
    assert_eq!(uri.signature, "export declare const URI: unique symbol");
    assert_eq!(uri.doc.as_deref(), Some("The URI of the type lambda."));
    assert!(!outline.symbols.iter().any(|s| s.name == "local"));
}

#[test]
fn a_class_expression_is_a_class_and_its_members_are_methods() {
    // Effect's Schema.ts returns named class expressions; mixins bind anonymous ones.
    let source = "export const make = (ast: A) => (class SchemaClass {\n  static annotations(a: B) {\n    return make(a)\n  }\n})\n\nconst Mixin = class extends Base {\n  run() {}\n}\n";
    let outline = extract("schema.ts", source);
    assert!(outline.diagnostics.is_empty(), "{:?}", outline.diagnostics);
    let annotations = symbol(&outline, "annotations");
    assert_eq!(annotations.kind, doctown_core::symbols::SymbolKind::Method);
    assert_eq!(
        annotations.qualified_name,
        "schema.make.SchemaClass.annotations"
    );
    assert_eq!(
        symbol(&outline, "Mixin").kind,
        doctown_core::symbols::SymbolKind::Class
    );
    assert_eq!(symbol(&outline, "run").qualified_name, "schema.Mixin.run");
}

#[test]
fn typescript_escapes_in_a_template_literal_type_keep_the_rest_of_the_file() {
    // tree-sitter-typescript 0.23 takes no escape in a template literal type; the error used to
    // swallow every declaration after it (Effect's Schema.ts lost 171).
    let source = "type MissingSelf<U extends string> =\n  `Missing \\`Self\\` generic - use \\`class Self extends ${U}<Self>()\\``\n\nexport const after = (x: number) => `\\`${x}\\``\n";
    let outline = extract("schema.ts", source);
    assert!(outline.diagnostics.is_empty(), "{:?}", outline.diagnostics);
    assert_eq!(
        symbol(&outline, "after").signature,
        "export const after = (x: number) =>"
    );
}

#[test]
fn rust_items_inside_item_position_macro_calls_are_symbols() {
    // tokio's feature gates: the items a `cfg_*!` call holds are its expansion's, in the scope
    // around the call, nested calls too. A call whose body is not items stays a call, and
    // keeps the others from none.
    let source = "cfg_rt! {\n    /// Spawns a task.\n    pub fn spawn() {}\n    cfg_net! {\n        pub struct TcpStream;\n    }\n}\n\
                  pub struct Builder;\nimpl Builder {\n    cfg_rt! { pub fn enable_all(&mut self) {} }\n    \
                  cfg_variant! { stable: { fn a() {} }, unstable: { fn b() {} } }\n}\n\
                  bitflags! {\n    pub struct Flags: u32 {\n        const A = 1;\n    }\n}\n\
                  pub fn after() { helper(); }\n";
    let outline = extract("src/lib.rs", source);
    let spawn = symbol(&outline, "spawn");
    assert_eq!(spawn.qualified_name, "crate::spawn");
    assert_eq!(spawn.doc.as_deref(), Some("Spawns a task."));
    assert_eq!((spawn.span.start_line, spawn.span.end_line), (3, 3));
    assert_eq!(
        symbol(&outline, "TcpStream").qualified_name,
        "crate::TcpStream"
    );
    assert_eq!(
        symbol(&outline, "enable_all").qualified_name,
        "crate::Builder::enable_all"
    );
    assert!(outline
        .symbols
        .iter()
        .all(|s| !["Flags", "a", "b"].contains(&s.name.as_str())));
    assert_eq!(symbol(&outline, "after").span.start_line, 18);
    assert!(outline.diagnostics.is_empty(), "{:?}", outline.diagnostics);
}

#[test]
fn a_long_use_list_keeps_every_name_and_a_long_receiver_is_capped() {
    let names: Vec<String> = (0..40).map(|i| format!("ExtensionNumber{i}")).collect();
    let source = format!(
        "use x509::extensions::{{\n    {},\n}};\n\nfn f() {{ {}.go(); }}\n",
        names.join(",\n    "),
        "a.b".repeat(200)
    );
    let outline = extract("src/lib.rs", &source);
    let file = &outline.symbols[0];
    let [import] = &file.references[..] else {
        panic!("one import: {:?}", file.references);
    };
    assert!(
        import.target.contains("ExtensionNumber39,"),
        "{}",
        import.target
    );
    let call = &symbol(&outline, "f").references[0];
    let qualifier = call.qualifier.as_deref().unwrap_or_default();
    assert_eq!(qualifier.len(), doctown_core::extract::MAX_REFERENCE_BYTES);
}
