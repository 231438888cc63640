; JavaScript references beyond ecma/references.scm.

(class_heritage (identifier) @reference.implements)
(class_heritage (member_expression) @reference.implements)

; A class field with the class whose instance it holds.
(field_definition property: (property_identifier) @reference.binding value: (new_expression constructor: (_) @qualifier))
