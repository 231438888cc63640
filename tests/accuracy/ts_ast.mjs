// Lists the definitions TypeScript's own parser sees in every .ts/.tsx/.js/.jsx/.mjs/.cjs file
// under a directory, as JSON [{path, kind, name, line}], for Doctown's accuracy test.
// Kinds follow Doctown's: function, method, class, interface, type_alias, enum, module, constant.
// Usage: node ts_ast.mjs DIR
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';

const ts = createRequire(import.meta.url)('typescript');
const SKIP_DIRS = new Set(['node_modules', 'vendor', '.git', 'dist']);
const KINDS = { '.ts': ts.ScriptKind.TS, '.mts': ts.ScriptKind.TS, '.cts': ts.ScriptKind.TS, '.tsx': ts.ScriptKind.TSX,
  '.js': ts.ScriptKind.JS, '.jsx': ts.ScriptKind.JSX, '.mjs': ts.ScriptKind.JS, '.cjs': ts.ScriptKind.JS };

const root = process.argv[2];
const out = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(full);
      continue;
    }
    const ext = name.slice(name.lastIndexOf('.'));
    if (!(ext in KINDS) || name.endsWith('.min.js')) continue;
    const sf = ts.createSourceFile(full, readFileSync(full, 'utf8'), ts.ScriptTarget.Latest, true, KINDS[ext]);
    if (sf.parseDiagnostics.length > 0) continue; // compared only where both parsers agree the file is valid
    visit(sf, sf, relative(root, full).split(sep).join('/'));
  }
})(root);
process.stdout.write(JSON.stringify(out));

/** The line where tree-sitter's node for `node` starts: after decorators, at `export`/keywords. */
function line(sf, node) {
  const decorators = ts.canHaveDecorators(node) ? ts.getDecorators(node) : undefined;
  let pos = node.getStart(sf);
  if (decorators?.length) pos = ts.skipTrivia(sf.text, decorators[decorators.length - 1].end);
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

function plainName(node) {
  return node.name && (ts.isIdentifier(node.name) || ts.isPrivateIdentifier(node.name) || ts.isStringLiteral(node.name))
    ? node.name.text : undefined;
}

/** A top-level `const` the module exports, or a top-level `const`/`let` named in UPPER_CASE. */
function isModuleConstant(node) {
  if (!ts.isVariableDeclaration(node) || !ts.isIdentifier(node.name)) return false;
  const list = node.parent, statement = list?.parent;
  if (!statement || !ts.isVariableStatement(statement) || !ts.isSourceFile(statement.parent)) return false;
  if (!(list.flags & (ts.NodeFlags.Const | ts.NodeFlags.Let))) return false;
  const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  return (exported && (list.flags & ts.NodeFlags.Const) !== 0) || /^[A-Z][A-Z0-9_]*$/.test(node.name.text);
}

function visit(sf, node, path) {
  const add = (kind, name, at = node) => name !== undefined && out.push({ path, kind, name, line: line(sf, at) });
  const parent = node.parent;
  const inType = parent && (ts.isClassLike(parent) || ts.isInterfaceDeclaration(parent) || ts.isTypeLiteralNode(parent));
  if (ts.isFunctionDeclaration(node)) add('function', plainName(node));
  else if (ts.isClassDeclaration(node)) add('class', plainName(node));
  else if (ts.isInterfaceDeclaration(node)) add('interface', plainName(node));
  else if (ts.isTypeAliasDeclaration(node)) add('type_alias', plainName(node));
  else if (ts.isEnumDeclaration(node)) add('enum', plainName(node));
  else if (ts.isModuleDeclaration(node) && ts.isIdentifier(node.name) && !(node.flags & ts.NodeFlags.GlobalAugmentation)) add('module', node.name.text);
  else if (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) add(inType ? 'method' : 'function', plainName(node));
  else if (ts.isMethodSignature(node) && inType && !ts.isTypeLiteralNode(parent)) add('method', plainName(node));
  else if (ts.isConstructorDeclaration(node) && node.body) add('method', 'constructor');
  else if (ts.isPropertyDeclaration(node) && node.initializer && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) add('method', plainName(node));
  else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer
    && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) add('function', node.name.text, node.name);
  else if (isModuleConstant(node)) add('constant', node.name.text, node.name);
  ts.forEachChild(node, (child) => visit(sf, child, path));
}
