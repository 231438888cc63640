; Raw references: see rust/references.scm for the captures.

(call function: (identifier) @reference.call)
(call function: (attribute object: (_) @qualifier attribute: (identifier) @reference.call))

(import_statement name: (dotted_name) @reference.import)
; An aliased import whole (`networkx as nx`): the alias is the name it binds.
(import_statement name: (aliased_import) @reference.import)
(import_from_statement module_name: (_) @qualifier name: (dotted_name) @reference.import)
(import_from_statement module_name: (_) @qualifier name: (aliased_import) @reference.import)
(import_from_statement module_name: (_) @qualifier (wildcard_import) @reference.import)

(type (identifier) @reference.type)
(type (attribute) @reference.type)
(type (generic_type (identifier) @reference.type))
(type (subscript value: (identifier) @reference.type))
(generic_type (type_parameter (type (identifier) @reference.type)))

(class_definition superclasses: (argument_list (identifier) @reference.implements))
(class_definition superclasses: (argument_list (attribute) @reference.implements))

; Bindings (`ReferenceKind::Binding`): a name with its annotated type, or with the class or
; function whose result it holds; `self.x` likewise, a field of the class.
(typed_parameter (identifier) @reference.binding type: (type) @qualifier)
; An untyped parameter binds a value of unknown type: `G.add_edge()` on it is a method call,
; not a path through a module or class named `G`.
(parameters (identifier) @reference.binding)
(default_parameter name: (identifier) @reference.binding)
; So do loop and comprehension variables, a lambda's parameters, `with … as` names and any
; assignment (`G = self.G`; one from a call also has the typed binding below).
(assignment left: (identifier) @reference.binding)
(assignment left: (pattern_list (identifier) @reference.binding))
(for_statement left: (identifier) @reference.binding)
(for_statement left: (pattern_list (identifier) @reference.binding))
(for_in_clause left: (identifier) @reference.binding)
(for_in_clause left: (pattern_list (identifier) @reference.binding))
(lambda_parameters (identifier) @reference.binding)
(as_pattern_target (identifier) @reference.binding)
(typed_default_parameter name: (identifier) @reference.binding type: (type) @qualifier)
(assignment left: (identifier) @reference.binding type: (type) @qualifier)
(assignment left: (identifier) @reference.binding right: (call function: (_) @qualifier))
(assignment left: (attribute object: (identifier) @_self) @reference.binding type: (type) @qualifier
  (#eq? @_self "self"))
(assignment left: (attribute object: (identifier) @_self) @reference.binding right: (call function: (_) @qualifier)
  (#eq? @_self "self"))
