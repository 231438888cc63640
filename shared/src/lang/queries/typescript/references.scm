; TypeScript and TSX references beyond ecma/references.scm.

(type_identifier) @reference.type
(nested_type_identifier) @reference.type

(extends_clause value: (_) @reference.implements)
(implements_clause (_) @reference.implements)
(extends_type_clause type: (_) @reference.implements)

; Bindings with declared types (see ecma/references.scm for the rest).
(required_parameter pattern: (identifier) @reference.binding type: (type_annotation (_) @qualifier))
(optional_parameter pattern: (identifier) @reference.binding type: (type_annotation (_) @qualifier))
(variable_declarator name: (identifier) @reference.binding type: (type_annotation (_) @qualifier))
(public_field_definition name: (property_identifier) @reference.binding type: (type_annotation (_) @qualifier))
(public_field_definition name: (property_identifier) @reference.binding value: (new_expression constructor: (_) @qualifier))
