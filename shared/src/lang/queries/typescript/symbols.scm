; Definitions: see rust/symbols.scm for the captures. When several patterns match one node,
; the first pattern's kind wins. Shared by TypeScript and TSX.

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(function_signature name: (identifier) @name) @definition.function
(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(method_definition (accessibility_modifier)? @visibility name: (_) @name) @definition.method
(method_signature (accessibility_modifier)? @visibility name: (_) @name) @definition.method
(abstract_method_signature (accessibility_modifier)? @visibility name: (_) @name) @definition.method
(public_field_definition (accessibility_modifier)? @visibility name: (_) @name
  value: [(arrow_function) (function_expression)]) @definition.method
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type_alias
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: (_) @name) @definition.module
(module name: (_) @name) @definition.module
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(program (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant))
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

; Comments, and decorators that may sit between a JSDoc block and its declaration.
(comment) @comment
(decorator) @attribute
