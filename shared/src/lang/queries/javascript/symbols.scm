; JavaScript definitions beyond ecma/symbols.scm.

(method_definition name: (_) @name) @definition.method
(field_definition property: (_) @name value: [(arrow_function) (function_expression)]) @definition.method
