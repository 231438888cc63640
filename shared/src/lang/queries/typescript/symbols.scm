; TypeScript and TSX definitions beyond ecma/symbols.scm.

(function_signature name: (identifier) @name) @definition.function
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
; An ambient exported `const` (`export declare const URI: unique symbol`) is part of the API too.
(program (export_statement (ambient_declaration (lexical_declaration kind: "const"
  (variable_declarator name: (identifier) @name) @definition.constant))))
