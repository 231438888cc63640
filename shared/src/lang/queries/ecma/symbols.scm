; Definitions shared by JavaScript, TypeScript and TSX (their grammars share these nodes); each
; language's own symbols.scm follows this file. See rust/symbols.scm for the captures. When
; several patterns match one node and name, the first pattern's kind wins.

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
; A class expression is a class: by its own name (`return class SchemaClass { … }`), else by
; the variable it initialises (`const Mixin = class extends Base { … }`); its methods are methods.
(class name: (_) @name) @definition.class
(variable_declarator name: (identifier) @name value: (class)) @definition.class
(program (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant))
  (#match? @name "^[A-Z][A-Z0-9_]*$"))
; An exported top-level `const` of any name is part of its module's API (`export const sleep =
; internal.sleep`, `export const map = dual(2, …)`).
(program (export_statement (lexical_declaration kind: "const"
  (variable_declarator name: (identifier) @name) @definition.constant)))

; Comments, and decorators that may sit between a JSDoc block and its declaration.
(comment) @comment
(decorator) @attribute
