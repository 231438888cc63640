; Definitions: see rust/symbols.scm for the captures. `@doc` is a docstring.

(function_definition name: (identifier) @name) @definition.function
(function_definition body: (block . (expression_statement (string) @doc))) @definition.function
(class_definition name: (identifier) @name) @definition.class
(class_definition body: (block . (expression_statement (string) @doc))) @definition.class

; Module-level UPPER_CASE assignments are constants by convention (PEP 8).
(module (expression_statement (assignment left: (identifier) @name)) @definition.constant
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))
(module (expression_statement (assignment left: (identifier) @name type: (type) @_t)) @definition.type_alias
  (#eq? @_t "TypeAlias"))
(type_alias_statement left: (type (identifier) @name)) @definition.type_alias

; The module docstring.
(module . (expression_statement (string) @module_doc))
