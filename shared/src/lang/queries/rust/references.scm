; Raw references. `@reference.<kind>` is the target, `@qualifier` the path or implementing type
; (see `ReferenceKind`), `@qualifier.receiver` the value a method is called on.

(call_expression function: (identifier) @reference.call)
(call_expression function: (scoped_identifier path: (_) @qualifier name: (identifier) @reference.call))
(call_expression function: (field_expression value: (_) @qualifier.receiver field: (field_identifier) @reference.call))
(call_expression function: (generic_function function: (identifier) @reference.call))
(call_expression function: (generic_function function: (scoped_identifier path: (_) @qualifier name: (identifier) @reference.call)))
(call_expression function: (generic_function function: (field_expression value: (_) @qualifier.receiver field: (field_identifier) @reference.call)))
(macro_invocation macro: (identifier) @reference.call)
(macro_invocation macro: (scoped_identifier path: (_) @qualifier name: (identifier) @reference.call))
(struct_expression name: (type_identifier) @reference.call)

(use_declaration argument: (_) @reference.import)
(extern_crate_declaration name: (identifier) @reference.import)

(type_identifier) @reference.type
(scoped_type_identifier) @reference.type

(impl_item trait: (_) @reference.implements type: (_) @qualifier)

; Bindings (`ReferenceKind::Binding`): a name with its declared type, or with the constructor or
; function whose result it holds; a field with its type.
(parameter pattern: (identifier) @reference.binding type: (_) @qualifier)
(let_declaration pattern: (identifier) @reference.binding type: (_) @qualifier)
(let_declaration pattern: (identifier) @reference.binding value: (call_expression function: (_) @qualifier))
(let_declaration pattern: (identifier) @reference.binding value: (try_expression (call_expression function: (_) @qualifier)))
(let_declaration pattern: (identifier) @reference.binding value: (struct_expression name: (_) @qualifier))
(field_declaration name: (field_identifier) @reference.binding type: (_) @qualifier)
