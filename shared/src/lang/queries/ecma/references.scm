; Raw references shared by JavaScript, TypeScript and TSX; each language's own references.scm
; follows this file. See rust/references.scm for the captures.

(call_expression function: (identifier) @reference.call)
(call_expression function: (member_expression object: (_) @qualifier property: (_) @reference.call))
(new_expression constructor: (identifier) @reference.call)
(new_expression constructor: (member_expression object: (_) @qualifier property: (_) @reference.call))

; Imports and re-exports name what they take from a module as written: `A`, `A as B`,
; `type A`, `* as ns` (the module itself), `*` (`export * from`: every name it exports).
(import_statement (import_clause (named_imports (import_specifier) @reference.import)) source: (string) @qualifier)
(import_statement (import_clause (identifier) @reference.import) source: (string) @qualifier)
(import_statement (import_clause (namespace_import) @reference.import) source: (string) @qualifier)
(import_statement source: (string) @reference.import)
(export_statement (export_clause (export_specifier) @reference.import) source: (string) @qualifier)
(export_statement (namespace_export) @reference.import source: (string) @qualifier)
(export_statement "*" @reference.import source: (string) @qualifier)
(export_statement source: (string) @reference.import)
(call_expression function: (identifier) @_require arguments: (arguments . (string) @reference.import)
  (#eq? @_require "require"))
; CommonJS names what it takes as a declaration does: `const A = require('./a')` as
; `import A from './a'`, `const { A, B: C } = require('./a')` as `import { A, B as C } from './a'`,
; `var A = require('./a').A` as `import { A } from './a'`.
(variable_declarator name: (identifier) @reference.import
  value: (call_expression function: (identifier) @_require arguments: (arguments . (string) @qualifier))
  (#eq? @_require "require"))
(variable_declarator name: (identifier) @reference.import
  value: (member_expression
    object: (call_expression function: (identifier) @_require arguments: (arguments . (string) @qualifier))
    property: (property_identifier) @_taken)
  (#eq? @_require "require") (#eq? @reference.import @_taken))
(variable_declarator
  name: (object_pattern [(shorthand_property_identifier_pattern) (pair_pattern)] @reference.import)
  value: (call_expression function: (identifier) @_require arguments: (arguments . (string) @qualifier))
  (#eq? @_require "require"))

; Bindings (`ReferenceKind::Binding`): a name with the class or function whose result it holds;
; `this.x` likewise, a field of the class.
(variable_declarator name: (identifier) @reference.binding value: (new_expression constructor: (_) @qualifier))
(variable_declarator name: (identifier) @reference.binding value: (call_expression function: (_) @qualifier))
(assignment_expression left: (member_expression object: (this)) @reference.binding right: (new_expression constructor: (_) @qualifier))
