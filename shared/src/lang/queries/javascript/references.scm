; JavaScript references beyond ecma/references.scm.

(class_heritage (identifier) @reference.implements)
(class_heritage (member_expression) @reference.implements)
