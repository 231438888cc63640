//! A docpack as a browsable tree of pages: an index (the architecture summary, the module
//! dependency diagram, modules, clusters, the most central symbols) and one page per module
//! (its overview and coupling, then each symbol: signature, generated doc, doc comment,
//! metrics, calls and called-by as links, its call neighbourhood, and its source pinned to the
//! commit). Markdown, or the same pages as HTML. Pure: the host writes the files.

mod mermaid;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::assemble::EdgeKind;
use crate::docpack::{Docpack, Node};
use crate::source::SourceKind;

pub use mermaid::{call_neighbourhood, module_dependencies};

/// Symbols listed as the most central on the index.
const TOP_SYMBOLS: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
        }
    }
}

/// The pages, by relative path, in path order.
pub fn export(d: &Docpack, format: Format) -> BTreeMap<String, String> {
    let site = Site::new(d, format.extension());
    let mut pages = BTreeMap::new();
    pages.insert(format!("index.{}", site.ext), site.index());
    for m in &d.modules.modules {
        let path = format!("modules/{}.{}", slug(&m.metrics.module), site.ext);
        pages.insert(path, site.module(m));
    }
    if format == Format::Html {
        for (path, markdown) in pages.iter_mut() {
            *markdown = html_page(path, markdown);
        }
    }
    pages
}

/// A file name for a module path, one to one: `/` → `__`, `_` → `_u`, anything else outside
/// `[A-Za-z0-9.-]` → `_x<hex>_` (`src/store/mod.rs` → `src__store__mod.rs`).
fn slug(module: &str) -> String {
    let mut out = String::new();
    for c in module.chars() {
        match c {
            '/' => out.push_str("__"),
            '_' => out.push_str("_u"),
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' => out.push(c),
            c => out.push_str(&format!("_x{:x}_", u32::from(c))),
        }
    }
    if out.is_empty() || module == crate::assemble::ROOT_PACKAGE {
        "_root".into()
    } else {
        out
    }
}

/// Text for Markdown: `<`, `>` and `&` outside code spans become entities. (The HTML pages
/// also turn any raw HTML left into text; see [`html_page`].)
fn escape(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                part.to_owned()
            } else {
                part.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// A fenced block that no run of backticks inside can close.
fn fenced(language: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{language}\n{}\n{fence}\n", body.trim_end())
}

struct Site<'a> {
    d: &'a Docpack,
    ext: &'static str,
    /// Node id → what it is called (qualified name, or an external node's path).
    names: HashMap<&'a str, &'a str>,
    /// Symbol id → its module's page slug.
    page_of: HashMap<&'a str, String>,
    /// Symbol id → the nodes it calls, and → the symbols that call it (edge order).
    calls: HashMap<&'a str, Vec<&'a str>>,
    called_by: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Site<'a> {
    fn new(d: &'a Docpack, ext: &'static str) -> Self {
        let mut page_of = HashMap::new();
        for m in &d.modules.modules {
            let s = slug(&m.metrics.module);
            for n in d.nodes.iter().filter(|n| m.metrics.files.contains(&n.path)) {
                page_of.insert(n.id.as_str(), s.clone());
            }
        }
        let names = d.names();
        let mut calls: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut called_by: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in d.graph.edges.iter().filter(|e| e.kind == EdgeKind::Calls) {
            calls.entry(&e.source).or_default().push(&e.target);
            called_by.entry(&e.target).or_default().push(&e.source);
        }
        Site {
            d,
            ext,
            names,
            page_of,
            calls,
            called_by,
        }
    }

    /// A link to a node from a page at `depth` (0: the index, 1: a module page), or its name
    /// as code when it has no page (external nodes).
    fn link(&self, id: &str, depth: usize) -> String {
        let name = self.names.get(id).copied().unwrap_or(id);
        match self.page_of.get(id) {
            Some(page) => {
                let prefix = if depth == 0 { "modules/" } else { "" };
                format!("[`{name}`]({prefix}{page}.{}#sym-{id})", self.ext)
            }
            None => format!("`{name}`"),
        }
    }

    fn index(&self) -> String {
        let d = self.d;
        let m = &d.manifest;
        let mut out = format!("# {}\n\n", escape(&m.repository.location));
        if let Some(commit) = &m.repository.commit {
            writeln!(out, "Commit `{commit}`. ").unwrap();
        }
        writeln!(
            out,
            "{} files, {} symbols, {} edges, {} clusters; written by `{}`; docpack `{}`.\n",
            m.counts.files, m.counts.symbols, m.counts.edges, m.counts.clusters, m.verbalizer, d.id
        )
        .unwrap();
        writeln!(
            out,
            "## Architecture\n\n{}\n",
            escape(&d.modules.architecture.text)
        )
        .unwrap();
        writeln!(
            out,
            "## Module dependencies\n\n{}",
            fenced("mermaid", &module_dependencies(d))
        )
        .unwrap();
        out.push_str("## Modules\n\n");
        for module in &d.modules.modules {
            let first = module.overview.text.split(". ").next().unwrap_or("");
            writeln!(
                out,
                "- [`{}`](modules/{}.{}): {}",
                module.metrics.module,
                slug(&module.metrics.module),
                self.ext,
                escape(first.trim_end_matches('.'))
            )
            .unwrap();
        }
        out.push_str("\n## Clusters\n\n");
        for c in &d.clusters.clusters {
            writeln!(
                out,
                "- **{}** ({} symbols)",
                escape(&c.label),
                c.members.len()
            )
            .unwrap();
        }
        out.push_str("\n## Most central symbols\n\n");
        let mut ranked: Vec<&Node> = d.nodes.iter().filter(|n| n.parent.is_some()).collect();
        ranked.sort_by_key(|n| n.metrics.rank);
        for n in ranked.iter().take(TOP_SYMBOLS) {
            writeln!(
                out,
                "{}. {} — {}",
                n.metrics.rank,
                self.link(&n.id, 0),
                escape(&n.doc.text)
            )
            .unwrap();
        }
        out
    }

    fn module(&self, module: &crate::docpack::ModuleEntry) -> String {
        let d = self.d;
        let metrics = &module.metrics;
        let mut out = format!(
            "# `{}`\n\n[Index](../index.{})\n\n",
            metrics.module, self.ext
        );
        writeln!(out, "{}\n", escape(&module.overview.text)).unwrap();
        writeln!(
            out,
            "Afferent coupling {}, efferent {}, instability {:.2}.\n",
            metrics.afferent, metrics.efferent, metrics.instability
        )
        .unwrap();
        let page = |m: &str| format!("[`{m}`]({}.{})", slug(m), self.ext);
        if !metrics.depends_on.is_empty() {
            let list: Vec<String> = metrics.depends_on.iter().map(|m| page(m)).collect();
            writeln!(out, "Depends on {}.\n", list.join(", ")).unwrap();
        }
        if !metrics.used_by.is_empty() {
            let list: Vec<String> = metrics.used_by.iter().map(|m| page(m)).collect();
            writeln!(out, "Used by {}.\n", list.join(", ")).unwrap();
        }
        let mut symbols: Vec<&Node> = d
            .nodes
            .iter()
            .filter(|n| metrics.files.contains(&n.path))
            .collect();
        symbols.sort_by(|a, b| (&a.path, a.start_line, &a.id).cmp(&(&b.path, b.start_line, &b.id)));
        for n in symbols {
            self.symbol(&mut out, n);
        }
        out
    }

    fn symbol(&self, out: &mut String, n: &Node) {
        let kind = n.kind.name();
        writeln!(
            out,
            "<a id=\"sym-{}\"></a>\n\n## `{}` ({kind})\n",
            n.id, n.qualified_name
        )
        .unwrap();
        if !n.signature.is_empty() {
            out.push_str(&fenced(n.language.name(), &n.signature));
            out.push('\n');
        }
        let by = if n.doc.verbalizer == "template" {
            "the template".to_owned()
        } else {
            format!("`{}`", n.doc.verbalizer)
        };
        writeln!(out, "{} *(written by {by})*\n", escape(&n.doc.text)).unwrap();
        if let Some(comment) = &n.doc_comment {
            for line in comment.lines() {
                writeln!(out, "> {}", escape(line)).unwrap();
            }
            out.push('\n');
        }
        let m = &n.metrics;
        writeln!(
            out,
            "PageRank #{} · complexity {} · fan-in {} · fan-out {} · {} lines · {}\n",
            m.rank,
            m.complexity,
            m.fan_in,
            m.fan_out,
            m.lines,
            self.source_link(n)
        )
        .unwrap();
        let none = Vec::new();
        let calls = self.calls.get(n.id.as_str()).unwrap_or(&none);
        let called_by = self.called_by.get(n.id.as_str()).unwrap_or(&none);
        for (label, ids) in [("Calls", calls), ("Called by", called_by)] {
            if !ids.is_empty() {
                let links: Vec<String> = ids.iter().map(|id| self.link(id, 1)).collect();
                writeln!(out, "{label}: {}.\n", links.join(", ")).unwrap();
            }
        }
        if let Some(diagram) = call_neighbourhood(&self.names, &n.id, called_by, calls) {
            out.push_str(&fenced("mermaid", &diagram));
            out.push('\n');
        }
    }

    /// `path:lines`, linked to the file at the commit when the repository is on GitHub.
    fn source_link(&self, n: &Node) -> String {
        let text = format!("`{}:{}-{}`", n.path, n.start_line, n.end_line);
        let repo = &self.d.manifest.repository;
        match (&repo.kind, &repo.commit) {
            (SourceKind::GitHub, Some(commit)) => {
                let base = repo
                    .location
                    .trim_end_matches('/')
                    .split("/tree/")
                    .next()
                    .unwrap_or(&repo.location);
                format!(
                    "[{text}]({})",
                    blob_url(base, commit, &n.path, n.start_line, n.end_line)
                )
            }
            _ => text,
        }
    }
}

/// Bytes of a path segment written as they are in a URL (RFC 3986's unreserved characters);
/// every other byte is percent-encoded, so a space, `#`, `?` or `)` in a file name neither
/// breaks the Markdown link nor changes what GitHub shows.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// GitHub's page of `path` at `commit`, lines `start`–`end` highlighted.
fn blob_url(base: &str, commit: &str, path: &str, start: usize, end: usize) -> String {
    let path: Vec<String> = path
        .split('/')
        .map(|segment| percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string())
        .collect();
    format!("{base}/blob/{commit}/{}#L{start}-L{end}", path.join("/"))
}

/// `<a id="sym-…"></a>` as written by [`Site::symbol`], and nothing else.
fn is_anchor(html: &str) -> bool {
    let html = html.trim();
    html.strip_prefix("<a id=\"sym-")
        .and_then(|rest| rest.strip_suffix("\"></a>"))
        .is_some_and(|id| id.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A Markdown page as a standalone HTML page. Mermaid blocks stay as
/// `<pre><code class="language-mermaid">`, for a renderer the reader adds.
fn html_page(path: &str, markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser};
    // Raw HTML in the Markdown is shown as text, except the anchors these pages write: nothing
    // from a repository or a model becomes markup, whatever its backticks do.
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) if !is_anchor(&html) => Event::Text(html),
        other => other,
    });
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, parser);
    let title = path.trim_end_matches(".html");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>{}</title>\n</head>\n<body>\n{body}</body>\n</html>\n",
        title.replace('&', "&amp;").replace('<', "&lt;")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_outside_code_is_escaped() {
        assert_eq!(
            escape("a <script> `Vec<T>` & b"),
            "a &lt;script&gt; `Vec<T>` &amp; b"
        );
        assert_eq!(fenced("rust", "a ``` b"), "````rust\na ``` b\n````\n");
        assert_eq!(slug("src/store/mod.rs"), "src__store__mod.rs");
        assert_ne!(slug("a/b"), slug("a_b"));
    }

    #[test]
    fn source_links_encode_each_path_segment() {
        assert_eq!(
            blob_url(
                "https://github.com/o/r",
                "abc",
                "src/my file#1 (copy).rs",
                3,
                9
            ),
            "https://github.com/o/r/blob/abc/src/my%20file%231%20%28copy%29.rs#L3-L9"
        );
        assert_eq!(
            blob_url("https://github.com/o/r", "abc", "docs/ünï.py", 1, 1),
            "https://github.com/o/r/blob/abc/docs/%C3%BCn%C3%AF.py#L1-L1"
        );
    }
}
