; TypeScript and TSX references beyond ecma/references.scm.

(type_identifier) @reference.type
(nested_type_identifier) @reference.type

(extends_clause value: (_) @reference.implements)
(implements_clause (_) @reference.implements)
(extends_type_clause type: (_) @reference.implements)
