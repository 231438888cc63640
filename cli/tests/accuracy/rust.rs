//! Rust against `syn`, the parser behind Rust's procedural macros: functions, methods,
//! structs, unions, enums, traits, type aliases, constants, statics, modules, `macro_rules!`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::{assert_found, copy_tree, fixture, has_extension, Item};

/// Collects items with the line of their first token after attributes (doc comments are
/// attributes to `syn`, but sit outside the item for tree-sitter).
struct Items<'a> {
    path: &'a str,
    found: BTreeSet<Item>,
}

impl Items<'_> {
    fn add(&mut self, kind: &'static str, name: String, first: proc_macro2::Span) {
        let line = first.start().line as u64;
        self.found
            .insert((self.path.to_owned(), kind.to_owned(), name, line));
    }
}

fn first_span(vis: &syn::Visibility, fallback: proc_macro2::Span) -> proc_macro2::Span {
    match vis {
        syn::Visibility::Inherited => fallback,
        other => other.span(),
    }
}

impl<'ast> Visit<'ast> for Items<'_> {
    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        self.add(
            "function",
            i.sig.ident.to_string(),
            first_span(&i.vis, sig_start(&i.sig)),
        );
        visit::visit_item_fn(self, i);
    }
    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        let start = match &i.defaultness {
            Some(d) if matches!(i.vis, syn::Visibility::Inherited) => d.span(),
            _ => first_span(&i.vis, sig_start(&i.sig)),
        };
        self.add("method", i.sig.ident.to_string(), start);
        visit::visit_impl_item_fn(self, i);
    }
    fn visit_trait_item_fn(&mut self, i: &'ast syn::TraitItemFn) {
        self.add("method", i.sig.ident.to_string(), sig_start(&i.sig));
        visit::visit_trait_item_fn(self, i);
    }
    fn visit_foreign_item_fn(&mut self, i: &'ast syn::ForeignItemFn) {
        self.add(
            "function",
            i.sig.ident.to_string(),
            first_span(&i.vis, sig_start(&i.sig)),
        );
    }
    fn visit_item_struct(&mut self, i: &'ast syn::ItemStruct) {
        self.add(
            "struct",
            i.ident.to_string(),
            first_span(&i.vis, i.struct_token.span),
        );
        visit::visit_item_struct(self, i);
    }
    fn visit_item_union(&mut self, i: &'ast syn::ItemUnion) {
        self.add(
            "struct",
            i.ident.to_string(),
            first_span(&i.vis, i.union_token.span),
        );
        visit::visit_item_union(self, i);
    }
    fn visit_item_enum(&mut self, i: &'ast syn::ItemEnum) {
        self.add(
            "enum",
            i.ident.to_string(),
            first_span(&i.vis, i.enum_token.span),
        );
        visit::visit_item_enum(self, i);
    }
    fn visit_item_trait(&mut self, i: &'ast syn::ItemTrait) {
        let start = i
            .unsafety
            .map(|u| u.span)
            .or(i.auto_token.map(|a| a.span))
            .unwrap_or(i.trait_token.span);
        self.add("trait", i.ident.to_string(), first_span(&i.vis, start));
        visit::visit_item_trait(self, i);
    }
    fn visit_item_type(&mut self, i: &'ast syn::ItemType) {
        self.add(
            "type_alias",
            i.ident.to_string(),
            first_span(&i.vis, i.type_token.span),
        );
    }
    fn visit_impl_item_type(&mut self, i: &'ast syn::ImplItemType) {
        self.add(
            "type_alias",
            i.ident.to_string(),
            first_span(&i.vis, i.type_token.span),
        );
    }
    fn visit_item_const(&mut self, i: &'ast syn::ItemConst) {
        if i.ident != "_" {
            self.add(
                "constant",
                i.ident.to_string(),
                first_span(&i.vis, i.const_token.span),
            );
        }
        visit::visit_item_const(self, i);
    }
    fn visit_impl_item_const(&mut self, i: &'ast syn::ImplItemConst) {
        self.add(
            "constant",
            i.ident.to_string(),
            first_span(&i.vis, i.const_token.span),
        );
        visit::visit_impl_item_const(self, i);
    }
    fn visit_trait_item_const(&mut self, i: &'ast syn::TraitItemConst) {
        self.add("constant", i.ident.to_string(), i.const_token.span);
    }
    fn visit_item_static(&mut self, i: &'ast syn::ItemStatic) {
        self.add(
            "static",
            i.ident.to_string(),
            first_span(&i.vis, i.static_token.span),
        );
        visit::visit_item_static(self, i);
    }
    fn visit_item_mod(&mut self, i: &'ast syn::ItemMod) {
        let start = i.unsafety.map(|u| u.span).unwrap_or(i.mod_token.span);
        self.add("module", i.ident.to_string(), first_span(&i.vis, start));
        visit::visit_item_mod(self, i);
    }
    fn visit_item_macro(&mut self, i: &'ast syn::ItemMacro) {
        if let Some(ident) = &i.ident {
            if i.mac.path.is_ident("macro_rules") {
                self.add("macro", ident.to_string(), i.mac.path.span());
            }
            return;
        }
        // `cfg_rt! { pub fn spawn() … }`: a brace body that parses as items is items.
        if let Some(file) = brace_body::<syn::File>(&i.mac, |body| body) {
            self.visit_file(&file);
        }
    }
    fn visit_impl_item_macro(&mut self, i: &'ast syn::ImplItemMacro) {
        // In an impl block the body's items are the block's: parsed inside one.
        let wrapped = |body: TokenStream| {
            let mut block: TokenStream = "impl T".parse().unwrap();
            block.extend([TokenTree::Group(Group::new(Delimiter::Brace, body))]);
            block
        };
        if let Some(block) = brace_body::<syn::ItemImpl>(&i.mac, wrapped) {
            self.visit_item_impl(&block);
        }
    }
}

/// The body of a brace-delimited macro call parsed as `T` (after `wrap`), where it parses.
fn brace_body<T: syn::parse::Parse>(
    mac: &syn::Macro,
    wrap: impl Fn(TokenStream) -> TokenStream,
) -> Option<T> {
    if !matches!(mac.delimiter, syn::MacroDelimiter::Brace(_)) {
        return None;
    }
    syn::parse2(wrap(mac.tokens.clone())).ok()
}

fn sig_start(sig: &syn::Signature) -> proc_macro2::Span {
    sig.constness
        .map(|t| t.span)
        .or(sig.asyncness.map(|t| t.span))
        .or(sig.unsafety.map(|t| t.span))
        .or(sig.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or(sig.fn_token.span)
}

fn rust_files(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{rel}{name}");
        let kind = entry.file_type().unwrap();
        if kind.is_dir() && !["target", "vendor", ".git"].contains(&name.as_str()) {
            rust_files(&entry.path(), &format!("{path}/"), out);
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push((path, entry.path()));
        }
    }
}

/// What `syn` sees in every Rust file under `dir` that it can parse.
fn syn_items(dir: &Path) -> BTreeSet<Item> {
    let mut files = Vec::new();
    rust_files(dir, "", &mut files);
    let mut items = Items {
        path: "",
        found: BTreeSet::new(),
    };
    for (path, full) in &files {
        let Ok(text) = std::fs::read_to_string(full) else {
            continue;
        };
        let Ok(file) = syn::parse_file(&text) else {
            continue;
        };
        items.path = path;
        items.visit_file(&file);
    }
    items.found
}

#[test]
fn fixture_matches_syn() {
    let dir = fixture("rust");
    assert_found("the rust fixture", &syn_items(&dir), &dir, &[], 30);
}

#[test]
fn registry_crates_match_syn() {
    // Crates this workspace depends on, so they are in the local registry whenever it builds.
    let registry = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"))
        .join("registry/src");
    // Every index's sources (a registry may hold more than one, e.g. sparse and git).
    let sources: Vec<PathBuf> = std::fs::read_dir(&registry)
        .expect("the cargo registry's sources")
        .flat_map(|index| std::fs::read_dir(index.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    let corpus = tempfile::tempdir().unwrap();
    let mut crates = 0;
    for prefix in [
        "tar-0.4",
        "flate2-1.",
        "serde_json-1.",
        "axum-0.8",
        "clap_builder-4.",
        "tree-sitter-0.27",
        // Feature gates (`cfg_rt! { … }`) hold a fifth of its items.
        "tokio-1.",
    ] {
        let name = |p: &&PathBuf| p.file_name().unwrap().to_string_lossy().starts_with(prefix);
        let Some(src) = sources.iter().find(name) else {
            continue;
        };
        let dest = corpus.path().join(src.file_name().unwrap()).join("src");
        copy_tree(&src.join("src"), &dest, &|p| has_extension(p, &["rs"]));
        crates += 1;
    }
    assert!(
        crates >= 4,
        "expected the workspace's dependencies in {}",
        registry.display()
    );
    assert_found(
        "crates from the cargo registry",
        &syn_items(corpus.path()),
        corpus.path(),
        &[],
        1000,
    );
}
