; Definitions. `@definition.<kind>` marks the node, `@name` its name, `@visibility` its
; visibility modifier. Functions nested in a type-like container become methods.
; `@scope` marks a container that is not a symbol itself (an impl block): its `@name`
; qualifies the names inside it.

(function_item (visibility_modifier)? @visibility name: (identifier) @name) @definition.function
(function_signature_item (visibility_modifier)? @visibility name: (identifier) @name) @definition.function
(struct_item (visibility_modifier)? @visibility name: (type_identifier) @name) @definition.struct
(union_item (visibility_modifier)? @visibility name: (type_identifier) @name) @definition.struct
(enum_item (visibility_modifier)? @visibility name: (type_identifier) @name) @definition.enum
(trait_item (visibility_modifier)? @visibility name: (type_identifier) @name) @definition.trait
(type_item (visibility_modifier)? @visibility name: (type_identifier) @name) @definition.type_alias
(const_item (visibility_modifier)? @visibility name: (identifier) @name) @definition.constant
(static_item (visibility_modifier)? @visibility name: (identifier) @name) @definition.static
(mod_item (visibility_modifier)? @visibility name: (identifier) @name) @definition.module
(macro_definition name: (identifier) @name) @definition.macro

(impl_item type: (_) @name) @scope

; The crate or module doc: `//!` lines.
(source_file (line_comment (inner_doc_comment_marker)) @module_doc)

; Members of `impl Trait for T` are as visible as the trait.
(impl_item trait: (_) type: (_) @name) @scope.exposed

; Comments, and attributes that may sit between a doc comment and its item.
(line_comment) @comment
(block_comment) @comment
(attribute_item) @attribute
