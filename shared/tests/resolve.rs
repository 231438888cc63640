//! Resolution of raw references into edges, per language, on small multi-file repositories
//! parsed by the real extractor: scopes, imports and qualified names decide, including between
//! two symbols of the same name in different modules.

use doctown_core::assemble::{resolve_edges, Edge, EdgeKind};
use doctown_core::extract::Extractor;
use doctown_core::lang::Language;
use doctown_core::manifest;
use doctown_core::symbols::Symbol;

struct Resolved {
    symbols: Vec<Symbol>,
    edges: Vec<Edge>,
    externals: Vec<(String, String)>,
}

/// `files` parsed as `language`, but package manifests (`Cargo.toml`, `go.mod`), read as ingest
/// reads them.
fn resolve(language: Language, files: &[(&str, &str)]) -> Resolved {
    let mut extractor = Extractor::new();
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut packages = Vec::new();
    for (path, source) in files {
        match manifest::package(path, source.as_bytes()) {
            Some(package) => packages.push(package.expect("the test's manifests parse")),
            None => symbols.extend(extractor.extract(path, language, source).symbols),
        }
    }
    symbols.sort_by(|a, b| a.id.cmp(&b.id));
    let (edges, externals) = resolve_edges(&symbols, &packages);
    Resolved {
        symbols,
        edges,
        externals: externals.into_iter().map(|e| (e.id, e.name)).collect(),
    }
}

impl Resolved {
    fn name(&self, id: &str) -> String {
        self.symbols
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.qualified_name.clone())
            .or_else(|| {
                self.externals
                    .iter()
                    .find(|(e, _)| e == id)
                    .map(|(_, n)| format!("external {n}"))
            })
            .unwrap_or_else(|| panic!("unknown node {id}"))
    }

    /// The targets of `kind` edges from the symbol named `from`, with their confidence.
    fn targets(&self, from: &str, kind: EdgeKind) -> Vec<(String, f64)> {
        let mut found: Vec<(String, f64)> = self
            .edges
            .iter()
            .filter(|e| e.kind == kind && self.name(&e.source) == from)
            .map(|e| (self.name(&e.target), e.confidence))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup();
        found
    }

    fn assert_edge(&self, from: &str, kind: EdgeKind, to: &str) {
        let targets = self.targets(from, kind);
        assert!(
            targets.iter().any(|(t, c)| t == to && *c == 1.0),
            "{from} -{kind:?}-> {to} with confidence 1; found {targets:?}"
        );
    }

    fn assert_no_edge(&self, from: &str, kind: EdgeKind, to: &str) {
        let targets = self.targets(from, kind);
        assert!(
            !targets.iter().any(|(t, _)| t == to),
            "{from} -{kind:?}-> {to} should not exist; found {targets:?}"
        );
    }
}

#[test]
fn rust_uses_imports_scope_and_paths() {
    let r = resolve(
        Language::Rust,
        &[
            ("src/lib.rs", "pub mod a;\npub mod b;\nuse crate::a::parse;\n\npub fn run() { parse(); b::parse(); helper(); std::process::exit(0); }\nfn helper() {}\npub fn again() { crate::helper(); }\n"),
            ("src/a.rs", "use std::fmt;\npub fn parse() -> Config { Config::new() }\npub struct Config;\nimpl Config { pub fn new() -> Self { Config } pub fn get(&self) { self.check() } fn check(&self) {} }\npub trait Named { fn name(&self); }\nimpl Named for Config { fn name(&self) {} }\nimpl fmt::Display for Config { fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) } }\n"),
            ("src/b.rs", "use super::a::Config;\npub fn parse() -> Config { Config::new() }\n"),
            ("tests/it.rs", "#[test]\nfn parses() { mylib::parse(); }\n"),
        ],
    );
    // `parse` exists in two modules: the import decides for the bare call, the path for `b::parse`.
    r.assert_edge("crate::run", EdgeKind::Calls, "crate::a::parse");
    r.assert_edge("crate::run", EdgeKind::Calls, "crate::b::parse");
    r.assert_edge("crate::run", EdgeKind::Calls, "crate::helper");
    r.assert_edge("crate::run", EdgeKind::Calls, "external std::process::exit");
    r.assert_edge("crate::b::parse", EdgeKind::Calls, "crate::a::Config::new");
    r.assert_edge(
        "crate::b::parse",
        EdgeKind::ReferencesType,
        "crate::a::Config",
    );
    r.assert_edge(
        "crate::a::Config::get",
        EdgeKind::Calls,
        "crate::a::Config::check",
    );
    r.assert_edge("crate::a::Config", EdgeKind::Implements, "crate::a::Named");
    r.assert_edge("src/lib.rs", EdgeKind::Imports, "crate::a::parse");
    r.assert_edge("src/b.rs", EdgeKind::Imports, "crate::a::Config");
    // `mod a;` contains the file of module `crate::a`.
    r.assert_edge("crate::a", EdgeKind::Contains, "src/a.rs");
    // `crate::helper()`: the crate root's item.
    r.assert_edge("crate::again", EdgeKind::Calls, "crate::helper");
    // An integration test's `mylib::parse()`: what the crate root re-exports.
    let test = r.targets("crate::parses", EdgeKind::Calls);
    assert_eq!(test, [("crate::a::parse".to_string(), 0.9)]);
    // `use std::fmt;` is std's, not the local method named `fmt`.
    r.assert_edge("src/a.rs", EdgeKind::Imports, "external std::fmt");
    r.assert_no_edge("src/a.rs", EdgeKind::Imports, "crate::a::Config::fmt");
}

#[test]
fn python_follows_relative_imports() {
    let r = resolve(
        Language::Python,
        &[
            ("pkg/__init__.py", "from .models import Item\nfrom .util import load\n\ndef main():\n    load()\n    Item().save()\n"),
            ("pkg/models.py", "import json\n\nclass Base:\n    def save(self):\n        self.validate()\n    def validate(self):\n        pass\n\nclass Item(Base):\n    def dump(self):\n        return json.dumps(self.save())\n\ndef load():\n    pass\n"),
            ("pkg/util.py", "def load():\n    return 1\n"),
        ],
    );
    // `load` exists in two modules; the import names `pkg.util`.
    r.assert_edge("pkg.main", EdgeKind::Calls, "pkg.util.load");
    r.assert_no_edge("pkg.main", EdgeKind::Calls, "pkg.models.load");
    r.assert_edge("pkg.main", EdgeKind::Calls, "pkg.models.Item");
    r.assert_edge("pkg.models.Item", EdgeKind::Implements, "pkg.models.Base");
    r.assert_edge(
        "pkg.models.Base.save",
        EdgeKind::Calls,
        "pkg.models.Base.validate",
    );
    // `self.save()` in Item resolves through its base class.
    r.assert_edge(
        "pkg.models.Item.dump",
        EdgeKind::Calls,
        "pkg.models.Base.save",
    );
    r.assert_edge(
        "pkg.models.Item.dump",
        EdgeKind::Calls,
        "external json.dumps",
    );
    r.assert_edge("pkg", EdgeKind::Imports, "pkg.models.Item");
}

#[test]
fn go_resolves_packages_receivers_and_interfaces() {
    let r = resolve(
        Language::Go,
        &[
            ("shape/shape.go", "package shape\n\ntype Shape interface {\n\tArea() float64\n}\n\ntype Square struct{ s float64 }\n\nfunc (q *Square) Area() float64 { return q.side() }\n\nfunc (q *Square) side() float64 { return q.s }\n\nfunc New() *Square { return &Square{} }\n"),
            ("other/other.go", "package other\n\nfunc New() int { return 0 }\n"),
            ("main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/app/shape\"\n)\n\nfunc main() {\n\ts := shape.New()\n\tfmt.Println(s.Area())\n\thelper()\n}\n"),
            ("helper.go", "package main\n\nfunc helper() {}\n"),
        ],
    );
    // `New` exists in two packages: the import path picks `shape`.
    r.assert_edge("main.main", EdgeKind::Calls, "shape.New");
    r.assert_no_edge("main.main", EdgeKind::Calls, "other.New");
    r.assert_edge("main.main", EdgeKind::Calls, "external fmt.Println");
    // Same package, another file.
    r.assert_edge("main.main", EdgeKind::Calls, "main.helper");
    // The receiver `q` is the type itself.
    r.assert_edge("shape.Square.Area", EdgeKind::Calls, "shape.Square.side");
    // Square's method set covers Shape's.
    r.assert_edge("shape.Square", EdgeKind::Implements, "shape.Shape");
    // Importing a package imports its files.
    r.assert_edge("main.go", EdgeKind::Imports, "shape/shape.go");
}

#[test]
fn a_go_value_named_like_a_package_is_a_value_but_in_its_own_initializer() {
    // net/http's idioms: a parameter `url *url.URL` hides the package; `url, err :=
    // url.Parse(s)` calls the package it is about to hide.
    let go = resolve(
        Language::Go,
        &[(
            "addr.go",
            "package http\n\nimport \"net/url\"\n\n\
             func canonical(url *url.URL) string { return url.Hostname() }\n\n\
             func parse(s string) { url, err := url.Parse(s); _ = err }\n",
        )],
    );
    go.assert_edge("http.canonical", EdgeKind::Calls, "external .Hostname");
    go.assert_edge("http.parse", EdgeKind::Calls, "external net/url.Parse");
}

#[test]
fn a_go_bare_name_not_in_its_package_is_predeclared_not_another_packages() {
    // go/types' testdata declares `any` in a package of its own; the checker's `any` is Go's.
    let r = resolve(
        Language::Go,
        &[
            ("testdata/p.go", "package p\n\ntype any interface{}\n\nfunc helper() {}\n"),
            (
                "check.go",
                "package types\n\nfunc check(x any) {\n\thelper()\n\tlocal()\n}\n\nfunc local() {}\n",
            ),
        ],
    );
    r.assert_no_edge("types.check", EdgeKind::ReferencesType, "p.any");
    r.assert_no_edge("types.check", EdgeKind::Calls, "p.helper");
    r.assert_edge("types.check", EdgeKind::ReferencesType, "external any");
    r.assert_edge("types.check", EdgeKind::Calls, "external helper");
    r.assert_edge("types.check", EdgeKind::Calls, "types.local");
}

#[test]
fn a_go_import_path_is_read_against_the_modules_go_mod_names() {
    let r = resolve(
        Language::Go,
        &[
            ("go.mod", "module example.com/kv/v2\n\ngo 1.21\n"),
            ("kv.go", "package kv\n\nfunc Open() {}\n"),
            ("store/store.go", "package store\n\nfunc Put() {}\n"),
            // A package named otherwise than its directory, one file of methods only.
            ("recipes/enqueue.go", "package recipe\n\nfunc (q *Queue) Enqueue() {}\n"),
            (
                "recipes/queue.go",
                "package recipe\n\ntype Queue struct{}\n\nfunc NewQueue() *Queue { return &Queue{} }\n",
            ),
            // A directory named like a standard package is not that package.
            ("log/log.go", "package log\n\nfunc Println() {}\n"),
            (
                "vendor/github.com/pkg/errors/errors.go",
                "package errors\n\nfunc New() {}\n",
            ),
            // A module nested in the repository, under a path of its own.
            ("internal/tools/go.mod", "module example.com/kvtools\n"),
            ("internal/tools/gen/gen.go", "package gen\n\nfunc Run() {}\n"),
            (
                "cmd/kvctl/main.go",
                "package main\n\nimport (\n\t\"log\"\n\n\t\"example.com/kv/v2\"\n\t\"example.com/kv/v2/recipes\"\n\t\
                 \"example.com/kv/v2/store\"\n\t\"example.com/kvtools/gen\"\n\t\"github.com/pkg/errors\"\n\t\"gopkg.in/yaml.v3\"\n)\n\n\
                 func main() {\n\tkv.Open()\n\trecipe.NewQueue()\n\tstore.Put()\n\tgen.Run()\n\terrors.New()\n\t\
                 log.Println()\n\tyaml.Unmarshal()\n}\n",
            ),
        ],
    );
    // The module's root package, bound by its package clause, not by `v2`.
    r.assert_edge("main.main", EdgeKind::Calls, "kv.Open");
    r.assert_edge("main.main", EdgeKind::Calls, "recipe.NewQueue");
    r.assert_edge("main.main", EdgeKind::Calls, "store.Put");
    r.assert_edge("main.main", EdgeKind::Calls, "gen.Run");
    r.assert_edge("main.main", EdgeKind::Calls, "errors.New");
    r.assert_edge("main.main", EdgeKind::Calls, "external log.Println");
    r.assert_no_edge("main.main", EdgeKind::Calls, "log.Println");
    r.assert_edge(
        "main.main",
        EdgeKind::Calls,
        "external gopkg.in/yaml.v3.Unmarshal",
    );
    r.assert_edge("cmd/kvctl/main.go", EdgeKind::Imports, "kv.go");
}

#[test]
fn gos_standard_library_imports_its_packages_by_directory() {
    let r = resolve(
        Language::Go,
        &[
            ("src/go.mod", "module std\n\ngo 1.19\n"),
            ("src/fmt/print.go", "package fmt\n\nfunc Println() {}\n"),
            (
                "src/os/file.go",
                "package os\n\nimport \"fmt\"\n\nfunc Open() { fmt.Println() }\n",
            ),
            ("src/cmd/go.mod", "module cmd\n\ngo 1.19\n"),
            (
                "src/cmd/internal/base/base.go",
                "package base\n\nfunc Fatalf() {}\n",
            ),
            (
                "src/cmd/go/main.go",
                "package main\n\nimport (\n\t\"cmd/internal/base\"\n\t\"fmt\"\n)\n\n\
                 func main() {\n\tbase.Fatalf()\n\tfmt.Println()\n}\n",
            ),
        ],
    );
    r.assert_edge("os.Open", EdgeKind::Calls, "fmt.Println");
    r.assert_edge("main.main", EdgeKind::Calls, "base.Fatalf");
    r.assert_edge("main.main", EdgeKind::Calls, "fmt.Println");
}

#[test]
fn typescript_resolves_module_paths() {
    let r = resolve(
        Language::TypeScript,
        &[
            ("src/index.ts", "import { format } from './util/format';\nimport { Store } from './store';\n\nexport function main(): void {\n  const s = new Store();\n  s.put(format('x'));\n}\n"),
            ("src/util/format.ts", "export function format(x: string): string { return x; }\n"),
            ("src/other/format.ts", "export function format(x: number): string { return String(x); }\n"),
            ("src/store/index.ts", "export interface Keyed { key(): string }\nexport class Store implements Keyed {\n  put(v: string): void { this.key(); }\n  key(): string { return ''; }\n}\n"),
        ],
    );
    // `format` exists in two files; the import's path picks `src/util/format`.
    r.assert_edge("src.main", EdgeKind::Calls, "src/util/format.format");
    r.assert_no_edge("src.main", EdgeKind::Calls, "src/other/format.format");
    // `./store` is `src/store/index.ts`.
    r.assert_edge("src.main", EdgeKind::Calls, "src/store.Store");
    r.assert_edge(
        "src/store.Store.put",
        EdgeKind::Calls,
        "src/store.Store.key",
    );
    r.assert_edge("src/store.Store", EdgeKind::Implements, "src/store.Keyed");
    r.assert_edge("src/index.ts", EdgeKind::Imports, "src/util/format.format");
}

#[test]
fn a_commonjs_require_binds_what_the_module_exports() {
    let r = resolve(
        Language::JavaScript,
        &[
            (
                "lib/Compiler.js",
                "class Compiler {\n  run() {}\n}\nmodule.exports = Compiler;\n",
            ),
            ("lib/other/Compiler.js", "class Compiler {}\nmodule.exports = Compiler;\n"),
            (
                "lib/helpers.js",
                "function quote(s) { return s; }\nfunction indent(s) { return s; }\n\
                 module.exports = { quote, indent };\n",
            ),
            (
                "lib/utils.js",
                "exports.isAbsolute = function (p) { return true; };\n\
                 module.exports.flatten = (xs) => xs;\n",
            ),
            (
                "lib/router.js",
                "function Router() {}\n\
                 Router.prototype.handle = function handle(req) { return req; };\n\
                 module.exports = Router;\n",
            ),
            (
                "lib/index.js",
                "const Compiler = require(\"./Compiler\");\n\
                 const { quote, indent: pad } = require(\"./helpers\");\n\
                 const path = require(\"path\");\n\
                 const utils = require(\"./utils\");\n\
                 var flatten = require(\"./utils\").flatten;\n\
                 var Router = require(\"./router\");\n\n\
                 function build() {\n  const c = new Compiler();\n  c.run();\n  quote(pad(\"x\"));\n  \
                 path.join(\"a\");\n  utils.isAbsolute(\"a\");\n  flatten([]);\n  new Router();\n}\n",
            ),
        ],
    );
    let defined = |qualified: &str| {
        r.symbols
            .iter()
            .find(|s| s.qualified_name == qualified)
            .map(|s| s.kind.name())
    };
    // What CommonJS modules assign to `exports`, and pre-class methods, are definitions.
    assert_eq!(defined("lib/utils.isAbsolute"), Some("function"));
    assert_eq!(defined("lib/utils.flatten"), Some("function"));
    assert_eq!(defined("lib/router.Router.handle"), Some("method"));
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/utils.isAbsolute");
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/utils.flatten");
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/router.Router");
    // `Compiler` is a class in two files; the required path picks one.
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/Compiler.Compiler");
    r.assert_no_edge("lib.build", EdgeKind::Calls, "lib/other/Compiler.Compiler");
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/Compiler.Compiler.run");
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/helpers.quote");
    r.assert_edge("lib.build", EdgeKind::Calls, "lib/helpers.indent");
    r.assert_edge("lib.build", EdgeKind::Calls, "external path.join");
    r.assert_edge("lib/index.js", EdgeKind::Imports, "lib/Compiler.Compiler");
}

#[test]
fn ambiguous_names_get_lower_confidence_and_unknown_ones_are_external() {
    let r = resolve(
        Language::Python,
        &[
            ("a.py", "def shared():\n    pass\n"),
            ("b.py", "def shared():\n    pass\n"),
            (
                "c.py",
                "def caller(x):\n    shared()\n    x.unknown_method()\n    print(1)\n",
            ),
        ],
    );
    let targets = r.targets("c.caller", EdgeKind::Calls);
    assert!(
        targets.contains(&("a.shared".into(), 0.25))
            && targets.contains(&("b.shared".into(), 0.25)),
        "{targets:?}"
    );
    assert!(
        targets.contains(&("external print".into(), 1.0)),
        "{targets:?}"
    );
    assert!(
        targets.contains(&("external .unknown_method".into(), 1.0)),
        "{targets:?}"
    );
}

#[test]
fn a_standard_method_on_a_value_of_unknown_type_is_not_taken_for_the_repositorys() {
    // The repository's only `append` and `Lock` would otherwise draw every list's and mutex's
    // calls; a name the standard types lack still finds the repository's method.
    let python = resolve(
        Language::Python,
        &[
            (
                "xml.py",
                "class Element:\n    def append(self, child):\n        pass\n    def indent(self):\n        pass\n",
            ),
            (
                "use.py",
                "def build(xs, element):\n    xs.append(1)\n    element.indent()\n",
            ),
        ],
    );
    let targets = python.targets("use.build", EdgeKind::Calls);
    assert!(
        targets.contains(&("external .append".into(), 1.0))
            && targets.contains(&("xml.Element.indent".into(), 0.6))
            && !targets.iter().any(|(t, _)| t == "xml.Element.append"),
        "{targets:?}"
    );

    let go = resolve(
        Language::Go,
        &[(
            "locks.go",
            "package locks\n\ntype fakeLocker struct{}\n\nfunc (fakeLocker) Lock() {}\n\n\
             type conn struct{ mu sync.Mutex }\n\nfunc (c *conn) close() {\n\tc.mu.Lock()\n}\n",
        )],
    );
    go.assert_no_edge("locks.conn.close", EdgeKind::Calls, "locks.fakeLocker.Lock");
    assert!(
        go.targets("locks.conn.close", EdgeKind::Calls)
            .contains(&("external .Lock".into(), 1.0)),
        "{:?}",
        go.targets("locks.conn.close", EdgeKind::Calls)
    );
}

#[test]
fn a_method_on_a_value_resolves_through_the_type_its_bindings_give() {
    // Each repository has two methods of the called name, so matching by name alone could
    // only guess; the binding (a declared type, a constructor, a function's declared result,
    // a field) says which.
    let go = resolve(
        Language::Go,
        &[
            ("registry/registry.go", "package registry\n\ntype Registry struct{ store *Store }\n\ntype Store struct{}\n\nfunc New() *Registry { return &Registry{} }\n\nfunc Open() (*Store, error) { return &Store{}, nil }\n\nfunc (r *Registry) Add(name string) { r.store.Add(name) }\n\nfunc (s *Store) Add(name string) {}\n"),
            ("main.go", "package main\n\nimport \"example.com/app/registry\"\n\nvar shared = registry.New()\n\nfunc main() {\n\treg := registry.New()\n\treg.Add(\"a\")\n\tst, err := registry.Open()\n\tst.Add(\"b\")\n\tshared.Add(\"c\")\n\t_ = err\n}\n\nfunc fill(s *registry.Store) { s.Add(\"d\") }\n"),
        ],
    );
    go.assert_edge("main.main", EdgeKind::Calls, "registry.Registry.Add");
    go.assert_edge("main.main", EdgeKind::Calls, "registry.Store.Add");
    go.assert_edge("main.fill", EdgeKind::Calls, "registry.Store.Add");
    go.assert_no_edge("main.fill", EdgeKind::Calls, "registry.Registry.Add");
    // A field of the receiver: `r.store` is a `*Store`.
    go.assert_edge(
        "registry.Registry.Add",
        EdgeKind::Calls,
        "registry.Store.Add",
    );

    let rust = resolve(
        Language::Rust,
        &[
            ("src/lib.rs", "pub mod store;\nuse crate::store::{Cache, Store};\n\npub struct App { cache: Cache }\n\nimpl App {\n    pub fn run(&self, extra: &mut Cache) -> std::io::Result<()> {\n        let s = Store::open()?;\n        s.get();\n        extra.get();\n        self.cache.get();\n        Ok(())\n    }\n}\n"),
            ("src/store.rs", "pub struct Store;\npub struct Cache;\nimpl Store {\n    pub fn open() -> std::io::Result<Self> { Ok(Store) }\n    pub fn get(&self) {}\n}\nimpl Cache {\n    pub fn get(&self) {}\n}\n"),
        ],
    );
    rust.assert_edge(
        "crate::App::run",
        EdgeKind::Calls,
        "crate::store::Store::get",
    );
    rust.assert_edge(
        "crate::App::run",
        EdgeKind::Calls,
        "crate::store::Cache::get",
    );

    let python = resolve(
        Language::Python,
        &[
            ("graph.py", "class Graph:\n    def add(self, n):\n        pass\n\nclass Index:\n    def add(self, n):\n        pass\n"),
            ("use.py", "from graph import Graph, Index\n\nclass Builder:\n    def __init__(self):\n        self.index = Index()\n\n    def build(self, other: \"Graph\"):\n        g = Graph()\n        g.add(1)\n        other.add(2)\n        self.index.add(3)\n\nclass Keeper:\n    def __init__(self, index: Index):\n        self.index = index\n\n    def keep(self):\n        self.index.add(4)\n"),
        ],
    );
    python.assert_edge("use.Builder.build", EdgeKind::Calls, "graph.Graph.add");
    python.assert_edge("use.Builder.build", EdgeKind::Calls, "graph.Index.add");
    // `self.index = index` from a typed parameter of `__init__`.
    python.assert_edge("use.Keeper.keep", EdgeKind::Calls, "graph.Index.add");
    python.assert_no_edge("use.Keeper.keep", EdgeKind::Calls, "graph.Graph.add");

    let ts = resolve(
        Language::TypeScript,
        &[
            ("src/queue.ts", "export class TaskQueue {\n  push(t: string): void {}\n}\nexport class Log {\n  push(t: string): void {}\n}\n"),
            ("src/index.ts", "import { TaskQueue, Log } from './queue';\n\nconst queue = new TaskQueue();\n\nexport function main(log: Log): void {\n  queue.push('a');\n  log.push('b');\n}\n"),
            ("src/worker.ts", "import { TaskQueue } from './queue';\n\nexport class Worker {\n  constructor(private readonly queue: TaskQueue) {}\n  run(): void {\n    this.queue.push('a');\n  }\n}\n"),
        ],
    );
    ts.assert_edge("src.main", EdgeKind::Calls, "src/queue.TaskQueue.push");
    ts.assert_edge("src.main", EdgeKind::Calls, "src/queue.Log.push");
    // A field set from the constructor's parameter (TypeScript's parameter properties).
    ts.assert_edge(
        "src/worker.Worker.run",
        EdgeKind::Calls,
        "src/queue.TaskQueue.push",
    );
    ts.assert_no_edge(
        "src/worker.Worker.run",
        EdgeKind::Calls,
        "src/queue.Log.push",
    );
}

#[test]
fn a_name_bound_to_different_types_is_not_typed() {
    // Bindings are flat per symbol: `x` is a Graph in one branch and an Index in the other,
    // so its call is matched by name, at the lower confidence, not claimed for either.
    let python = resolve(
        Language::Python,
        &[(
            "m.py",
            "class Graph:\n    def attach(self, n):\n        pass\n\nclass Index:\n    def attach(self, n):\n        pass\n\ndef f(flag):\n    if flag:\n        x = Graph()\n    else:\n        x = Index()\n    x.attach(1)\n",
        )],
    );
    let targets = python.targets("m.f", EdgeKind::Calls);
    assert!(
        targets.contains(&("m.Graph.attach".into(), 0.3))
            && targets.contains(&("m.Index.attach".into(), 0.3)),
        "{targets:?}"
    );
}

#[test]
fn a_path_through_a_module_that_re_exports_reaches_the_definition() {
    // Rust: `pub use` in the crate root; `crate::Error::new` is `crate::error::Error::new`.
    let rust = resolve(
        Language::Rust,
        &[
            (
                "src/lib.rs",
                "mod error;\nmod proto;\npub use crate::error::Error;\npub use crate::proto::*;\n",
            ),
            (
                "src/error.rs",
                "pub struct Error;\nimpl Error {\n    pub(crate) fn new() -> Error { Error }\n}\n",
            ),
            ("src/proto.rs", "pub fn encode() {}\n"),
            (
                "src/client.rs",
                "pub fn send() {\n    crate::Error::new();\n    crate::encode();\n}\n",
            ),
        ],
    );
    rust.assert_edge(
        "crate::client::send",
        EdgeKind::Calls,
        "crate::error::Error::new",
    );
    rust.assert_edge(
        "crate::client::send",
        EdgeKind::Calls,
        "crate::proto::encode",
    );
    // A glob import leads to its module.
    rust.assert_edge("src/lib.rs", EdgeKind::Imports, "crate::proto");

    // Python: a package's `__init__.py` imports from its modules, by name and by `*`, through
    // two levels of packages.
    let python = resolve(
        Language::Python,
        &[
            ("nx/__init__.py", "from nx.classes import *\nfrom nx.utils import *\n"),
            ("nx/classes/__init__.py", "from .graph import Graph\n"),
            ("nx/classes/graph.py", "class Graph:\n    def add_edge(self, u, v):\n        pass\n"),
            ("nx/utils/__init__.py", "from nx.utils.misc import *\n"),
            ("nx/utils/misc.py", "def pairwise(xs):\n    pass\n"),
            ("use.py", "import nx\nfrom nx.utils import pairwise\n\ndef build():\n    g = nx.Graph()\n    g.add_edge(1, 2)\n    pairwise([])\n    nx.utils.pairwise([])\n"),
        ],
    );
    python.assert_edge("use.build", EdgeKind::Calls, "nx.classes.graph.Graph");
    python.assert_edge(
        "use.build",
        EdgeKind::Calls,
        "nx.classes.graph.Graph.add_edge",
    );
    python.assert_edge("use.build", EdgeKind::Calls, "nx.utils.misc.pairwise");
    python.assert_edge("use", EdgeKind::Imports, "nx.utils.misc.pairwise");
}

#[test]
fn a_python_import_alias_is_the_name_it_binds() {
    let python = resolve(
        Language::Python,
        &[
            ("networkx/__init__.py", "from networkx.graph import Graph\n"),
            ("networkx/graph.py", "class Graph:\n    def add_edge(self, u, v):\n        pass\n"),
            ("networkx/utils.py", "def pairwise(xs):\n    pass\n"),
            ("use.py", "import networkx as nx\nfrom networkx.utils import pairwise as pw\n\ndef build():\n    g = nx.Graph()\n    g.add_edge(1, 2)\n    pw([])\n"),
        ],
    );
    python.assert_edge("use.build", EdgeKind::Calls, "networkx.graph.Graph");
    python.assert_edge(
        "use.build",
        EdgeKind::Calls,
        "networkx.graph.Graph.add_edge",
    );
    python.assert_edge("use.build", EdgeKind::Calls, "networkx.utils.pairwise");
    python.assert_edge("use", EdgeKind::Imports, "networkx.utils.pairwise");
}

#[test]
fn a_method_on_an_untyped_parameter_is_the_method_its_overrides_share_and_super_is_the_base() {
    // `G` is a parameter, not a module or class named `G`; of the four `add_edge`s the one all
    // the others override is the one a call through an unknown graph is declared by. Rebound
    // to a constructed value, the parameter has that value's type.
    let python = resolve(
        Language::Python,
        &[
            (
                "graphs.py",
                "class Graph:\n    def add_edge(self, u, v):\n        pass\n\n\
                 class DiGraph(Graph):\n    def add_edge(self, u, v):\n        super().add_edge(u, v)\n\n\
                 class MultiGraph(Graph):\n    def add_edge(self, u, v):\n        pass\n\n\
                 class MultiDiGraph(MultiGraph, DiGraph):\n    def add_edge(self, u, v):\n        super().add_edge(u, v)\n",
            ),
            (
                "use.py",
                "from graphs import DiGraph\n\ndef build(G):\n    G.add_edge(1, 2)\n\n\
                 def each(graphs, self):\n    for H in graphs:\n        H.add_edge(1, 2)\n    \
                 J = self.J\n    J.add_edge(1, 2)\n    \
                 with open_graph() as K:\n        K.add_edge(1, 2)\n    \
                 return [F.add_edge(1, 2) for F in graphs]\n\n\
                 def directed(G):\n    G = DiGraph(G)\n    G.add_edge(1, 2)\n",
            ),
        ],
    );
    assert_eq!(
        python.targets("use.build", EdgeKind::Calls),
        [("graphs.Graph.add_edge".to_string(), 0.6)]
    );
    // So is an assigned name, or a loop's, a comprehension's or a `with` statement's variable.
    assert_eq!(
        python.targets("use.each", EdgeKind::Calls),
        [
            ("external open_graph".to_string(), 1.0),
            ("graphs.Graph.add_edge".to_string(), 0.6)
        ]
    );
    python.assert_edge("use.directed", EdgeKind::Calls, "graphs.DiGraph.add_edge");
    python.assert_no_edge("use.directed", EdgeKind::Calls, "graphs.Graph.add_edge");
    // `super().add_edge()`: the first base class's, in the order the class lists them.
    python.assert_edge(
        "graphs.DiGraph.add_edge",
        EdgeKind::Calls,
        "graphs.Graph.add_edge",
    );
    python.assert_edge(
        "graphs.MultiDiGraph.add_edge",
        EdgeKind::Calls,
        "graphs.MultiGraph.add_edge",
    );
}

#[test]
fn a_glob_reaches_what_the_globbed_module_globs_in_turn() {
    // polars: `use crate::prelude::*` → `pub use crate::dsl::*` → `pub use expr::*` → `Expr`;
    // and `dsl/mod.rs`, whose only items are methods of `impl Expr`, is the module `dsl`, not
    // a module `dsl::Expr` that `use crate::dsl::Expr` would take for the struct.
    let r = resolve(
        Language::Rust,
        &[
            (
                "src/lib.rs",
                "pub mod dsl;\npub mod plans;\npub mod prelude;\npub mod types;\n",
            ),
            ("src/prelude.rs", "pub use crate::dsl::*;\n"),
            (
                "src/dsl/mod.rs",
                "pub use crate::types::*;\n\n\
                 impl Expr {\n    pub fn alias(self) -> Expr { self }\n}\n",
            ),
            ("src/types.rs", "pub struct Expr;\n"),
            (
                "src/plans/mod.rs",
                "mod scan;\nuse crate::prelude::*;\n\npub fn plan(e: Expr) -> Expr { e.alias() }\n",
            ),
            (
                "src/plans/scan.rs",
                "use crate::dsl::Expr;\n\npub fn scan(e: Expr) {}\n",
            ),
        ],
    );
    let expr = "crate::types::Expr";
    r.assert_edge("crate::plans::plan", EdgeKind::ReferencesType, expr);
    r.assert_edge("crate::dsl::Expr::alias", EdgeKind::ReferencesType, expr);
    r.assert_edge("src/plans/scan.rs", EdgeKind::Imports, expr);
    r.assert_edge("crate::plans::scan::scan", EdgeKind::ReferencesType, expr);
}

#[test]
fn glob_imports_in_a_cycle_end_the_search() {
    let python = resolve(
        Language::Python,
        &[
            ("a/__init__.py", "from b import *\n\ndef f():\n    pass\n"),
            ("b/__init__.py", "from a import *\n"),
            (
                "use.py",
                "import b\n\ndef g():\n    b.f()\n    b.missing()\n",
            ),
        ],
    );
    python.assert_edge("use.g", EdgeKind::Calls, "a.f");
    python.assert_edge("use.g", EdgeKind::Calls, "external .missing");
}

#[test]
fn an_ecmascript_import_through_barrel_files_reaches_the_definition() {
    let r = resolve(
        Language::TypeScript,
        &[
            ("src/models/user.ts", "export class User {\n  save(): void {}\n}\n"),
            ("src/models/order.ts", "export function placeOrder(): void {}\n"),
            (
                "src/models/index.ts",
                "export { User } from './user';\nexport * from './order';\n",
            ),
            // A barrel of barrels, renaming on the way; and a cycle back to it.
            (
                "src/index.ts",
                "export { User as Person, type User } from './models';\nexport * as models from './models';\nexport * from './index';\n",
            ),
            ("src/app.ts", "import { User, placeOrder } from './models';\nimport * as m from './models';\nimport { Person, models, missing } from '.';\n\nexport function run(): void {\n  const u = new User();\n  u.save();\n  placeOrder();\n  m.placeOrder();\n}\n\nexport function again(): void {\n  new Person();\n  models.placeOrder();\n  missing();\n}\n"),
        ],
    );
    r.assert_edge("src/app.run", EdgeKind::Calls, "src/models/user.User");
    r.assert_edge("src/app.run", EdgeKind::Calls, "src/models/user.User.save");
    r.assert_edge(
        "src/app.run",
        EdgeKind::Calls,
        "src/models/order.placeOrder",
    );
    r.assert_edge(
        "src/app.ts",
        EdgeKind::Imports,
        "src/models/order.placeOrder",
    );
    r.assert_edge("src/index.ts", EdgeKind::Imports, "src/models/index.ts");
    r.assert_edge("src/app.again", EdgeKind::Calls, "src/models/user.User");
    r.assert_edge(
        "src/app.again",
        EdgeKind::Calls,
        "src/models/order.placeOrder",
    );
    // A name no barrel exports leads to the barrel it was imported from.
    r.assert_edge("src/app.again", EdgeKind::Calls, "src/index.ts");
    assert_eq!(r.targets("src/app.again", EdgeKind::Calls).len(), 3);
}

#[test]
fn a_rust_crates_tests_reach_it_by_its_name_through_what_it_re_exports() {
    // tokio's tests: `tokio::…` is the crate itself, its feature-gated re-exports included;
    // `anyhow::…` and `serde::…` are dependencies even where their paths happen to be the
    // crate's too: too few of them, or written in the library's own source.
    let r = resolve(
        Language::Rust,
        &[
            ("src/lib.rs", "pub mod sync;\npub mod task;\npub use task::spawn;\npub use sync::Semaphore;\npub type Result<T> = std::result::Result<T, ()>;\npub trait Serialize {}\n"),
            ("src/task.rs", "pub fn spawn() {}\n\npub fn permit() { crate::Semaphore::new(); }\n"),
            ("src/ser.rs", "use serde::Serialize;\n"),
            ("tests/a.rs", "use tokio::sync::Semaphore;\n"),
            ("tests/b.rs", "use tokio::sync::Semaphore;\n"),
            ("tests/c.rs", "use tokio::sync::Semaphore;\n"),
            ("src/sync/mod.rs", "cfg_sync! {\n    mod semaphore;\n    pub use semaphore::Semaphore;\n}\n"),
            ("src/sync/semaphore.rs", "pub struct Semaphore;\nimpl Semaphore { pub fn new() -> Self { Semaphore } }\n"),
            (
                "tests/sync.rs",
                "use tokio::sync::Semaphore;\nuse anyhow::{Context, Result};\nuse serde::Serialize;\n\n\
                 fn permits() -> Result<()> { Semaphore::new(); tokio::spawn(); anyhow::bail!(\"no\") }\n",
            ),
        ],
    );
    let calls = r.targets("crate::permits", EdgeKind::Calls);
    assert!(
        calls.contains(&("crate::sync::semaphore::Semaphore::new".into(), 0.9))
            && calls.contains(&("crate::task::spawn".into(), 0.9)),
        "{calls:?}"
    );
    // The library's own re-export, not a test's import of it (both are the module `crate`).
    r.assert_edge(
        "crate::task::permit",
        EdgeKind::Calls,
        "crate::sync::semaphore::Semaphore::new",
    );
    let imports = r.targets("tests/sync.rs", EdgeKind::Imports);
    assert!(
        imports.contains(&("crate::sync::semaphore::Semaphore".into(), 0.9))
            && imports.contains(&("external anyhow::Result".into(), 1.0))
            && imports.contains(&("external serde::Serialize".into(), 1.0)),
        "{imports:?}"
    );
}

#[test]
fn a_workspace_crate_keeps_crate_paths_at_home_and_reaches_siblings_by_name() {
    // Two crates with the same module tree: `crate::error::…` is each one's own, and the
    // sibling is `kv_core::…`, exactly; the crate's tests name it `kv_server`.
    let error = "pub struct Error;\npub fn describe() {}\n";
    let r = resolve(
        Language::Rust,
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
            (
                "crates/kv-core/Cargo.toml",
                "[package]\nname = \"kv-core\"\n",
            ),
            (
                "crates/kv-core/src/lib.rs",
                "pub mod error;\npub mod prelude;\npub fn open() {}\n",
            ),
            ("crates/kv-core/src/error.rs", error),
            (
                "crates/kv-core/src/prelude.rs",
                "pub use crate::error::Error;\n",
            ),
            (
                "crates/server/Cargo.toml",
                "[package]\nname = \"kv-server\"\n",
            ),
            (
                "crates/server/src/lib.rs",
                "pub mod error;\nuse crate::error::Error;\nuse kv_core::open;\n\n\
                 pub fn serve() -> Error { open(); crate::error::describe(); Error }\n\
                 pub fn reads() -> kv_core::prelude::Error { kv_core::error::describe(); }\n",
            ),
            ("crates/server/src/error.rs", error),
            (
                "crates/server/tests/it.rs",
                "#[test]\nfn serves() { kv_server::serve(); }\n",
            ),
        ],
    );
    let at = |from: &str, kind: EdgeKind| -> Vec<(String, f64)> {
        let mut found: Vec<(String, f64)> = r
            .edges
            .iter()
            .filter(|e| e.kind == kind && r.name(&e.source) == from)
            .map(|e| {
                let path = r.symbols.iter().find(|s| s.id == e.target).map(|s| &s.path);
                (format!("{path:?} {}", r.name(&e.target)), e.confidence)
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    };
    let core = |file: &str, name: &str| format!("Some(\"crates/kv-core/src/{file}\") {name}");
    let server = |file: &str, name: &str| format!("Some(\"crates/server/src/{file}\") {name}");
    assert_eq!(
        at("crate::serve", EdgeKind::Calls),
        [
            (core("lib.rs", "crate::open"), 1.0),
            (server("error.rs", "crate::error::describe"), 1.0),
        ]
    );
    assert_eq!(
        at("crate::serve", EdgeKind::ReferencesType),
        [(server("error.rs", "crate::error::Error"), 1.0)]
    );
    assert_eq!(
        at("crate::reads", EdgeKind::Calls),
        [(core("error.rs", "crate::error::describe"), 1.0)]
    );
    // Through a module of `use` items only.
    assert_eq!(
        at("crate::reads", EdgeKind::ReferencesType),
        [(core("error.rs", "crate::error::Error"), 1.0)]
    );
    assert_eq!(
        at("crate::serves", EdgeKind::Calls),
        [(server("lib.rs", "crate::serve"), 1.0)]
    );
}

#[test]
fn a_bare_name_is_what_a_glob_import_brings_else_the_languages_own() {
    let r = resolve(
        Language::Rust,
        &[
            ("src/lib.rs", "pub mod error;\npub mod ops;\npub mod prelude;\n"),
            (
                "src/error.rs",
                "pub struct Failure;\nimpl std::str::FromStr for Failure {\n    type Err = ();\n    \
                 fn from_str(_: &str) -> Result<Self, ()> { Ok(Failure) }\n}\n",
            ),
            ("src/prelude.rs", "pub use crate::error::Failure;\n"),
            ("src/ops.rs", "use crate::prelude::*;\n\npub fn run() -> Failure { Err::<u8, ()>(()).ok(); Failure }\n"),
        ],
    );
    r.assert_edge(
        "crate::ops::run",
        EdgeKind::ReferencesType,
        "crate::error::Failure",
    );
    r.assert_edge("crate::ops::run", EdgeKind::Calls, "external Err");
    r.assert_no_edge(
        "crate::ops::run",
        EdgeKind::Calls,
        "crate::error::Failure::Err",
    );

    let r = resolve(
        Language::Python,
        &[
            ("shop/shapes.py", "class Circle:\n    pass\n"),
            ("shop/helpers.py", "def filter(xs):\n    return xs\n"),
            (
                "shop/draw.py",
                "from .shapes import *\n\ndef draw(xs):\n    return filter(None, [Circle()])\n",
            ),
        ],
    );
    r.assert_edge("shop.draw.draw", EdgeKind::Calls, "shop.shapes.Circle");
    r.assert_edge("shop.draw.draw", EdgeKind::Calls, "external filter");
    r.assert_no_edge("shop.draw.draw", EdgeKind::Calls, "shop.helpers.filter");
}

#[test]
fn a_monorepo_package_is_imported_by_its_package_json_name() {
    let r = resolve(
        Language::TypeScript,
        &[
            (
                "package.json",
                r#"{"private": true, "workspaces": ["packages/*"]}"#,
            ),
            (
                "packages/core/package.json",
                r#"{"name": "@kv/core", "main": "build/index.js"}"#,
            ),
            (
                "packages/core/src/index.ts",
                "export { Store } from './store';\n",
            ),
            ("packages/core/src/store.ts", "export class Store {}\n"),
            (
                "packages/core/src/util/time.ts",
                "export function now(): number { return 0; }\n",
            ),
            ("packages/react/package.json", r#"{"name": "@kv/react"}"#),
            (
                "packages/react/src/hooks.ts",
                "import { Store } from '@kv/core';\nimport { now } from '@kv/core/util/time';\n\
                 import { useState } from 'react';\n\n\
                 export function useStore(): Store { now(); useState(); return new Store(); }\n",
            ),
        ],
    );
    let hooks = "packages/react/src/hooks.ts";
    r.assert_edge(hooks, EdgeKind::Imports, "packages/core/src/store.Store");
    r.assert_edge(hooks, EdgeKind::Imports, "packages/core/src/util/time.now");
    r.assert_edge(hooks, EdgeKind::Imports, "external react");
    let use_store = "packages/react/src/hooks.useStore";
    r.assert_edge(
        use_store,
        EdgeKind::Calls,
        "packages/core/src/util/time.now",
    );
    r.assert_edge(
        use_store,
        EdgeKind::ReferencesType,
        "packages/core/src/store.Store",
    );
}

#[test]
fn self_and_super_in_an_inline_module_count_from_it() {
    let r = resolve(
        Language::Rust,
        &[
            ("src/lib.rs", "pub mod store;\n"),
            (
                "src/store.rs",
                "pub fn get() {}\n\nmod tests {\n    use super::get as fetch;\n\n    \
                 fn gets() { fetch(); self::helper(); }\n\n    fn helper() {}\n}\n",
            ),
        ],
    );
    r.assert_edge(
        "crate::store::tests::gets",
        EdgeKind::Calls,
        "crate::store::get",
    );
    r.assert_edge(
        "crate::store::tests::gets",
        EdgeKind::Calls,
        "crate::store::tests::helper",
    );
}
