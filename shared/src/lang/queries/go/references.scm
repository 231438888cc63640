; Raw references: see rust/references.scm for the captures.

(call_expression function: (identifier) @reference.call)
(call_expression function: (selector_expression operand: (_) @qualifier field: (field_identifier) @reference.call))
(call_expression function: (parenthesized_expression (identifier) @reference.call))
(composite_literal type: (type_identifier) @reference.call)

(import_spec path: (interpreted_string_literal) @reference.import)

(type_identifier) @reference.type
(qualified_type) @reference.type

; An interface embedding another interface.
(interface_type (type_elem (type_identifier) @reference.implements))
; A struct embedding another type.
(field_declaration !name type: (type_identifier) @reference.implements)
(field_declaration !name type: (pointer_type (type_identifier) @reference.implements))
(field_declaration !name type: (qualified_type) @reference.implements)
(field_declaration !name type: (pointer_type (qualified_type) @reference.implements))

; Bindings (`ReferenceKind::Binding`): a name with its declared type, or with the constructor or
; function whose (first) result it holds; a field with its type.
(parameter_declaration name: (identifier) @reference.binding type: (_) @qualifier)
(var_spec name: (identifier) @reference.binding type: (_) @qualifier)
(var_spec name: (identifier) @reference.binding value: (expression_list . (call_expression function: (_) @qualifier)))
(var_spec name: (identifier) @reference.binding value: (expression_list . (composite_literal type: (_) @qualifier)))
(var_spec name: (identifier) @reference.binding value: (expression_list . (unary_expression operand: (composite_literal type: (_) @qualifier))))
(short_var_declaration left: (expression_list . (identifier) @reference.binding) right: (expression_list . (call_expression function: (_) @qualifier)))
(short_var_declaration left: (expression_list . (identifier) @reference.binding) right: (expression_list . (composite_literal type: (_) @qualifier)))
(short_var_declaration left: (expression_list . (identifier) @reference.binding) right: (expression_list . (unary_expression operand: (composite_literal type: (_) @qualifier))))
(field_declaration name: (field_identifier) @reference.binding type: (_) @qualifier)
