; Scopes, definitions and references for OpenProse.
;
; A program has one flat namespace of bindings; the constructs that bind
; names of their own for their body (loop variables, block and reduce
; parameters, caught errors) open a scope.

; ------------------------------------------------------------------- scopes

(source_file) @local.scope

[
  (block_definition)
  (for_loop)
  (parallel_for)
  (repeat_loop)
  (loop)
  (pipe_stage)
  (catch_clause)
] @local.scope

; -------------------------------------------------------------- definitions

(let_statement name: (identifier) @local.definition.var)
(let_statement name: (object_pattern (identifier) @local.definition.var))

(const_statement name: (identifier) @local.definition.constant)
(const_statement name: (object_pattern (identifier) @local.definition.constant))

(assignment name: (identifier) @local.definition.var)

(output_statement name: (identifier) @local.definition.var)

(session name: (identifier) @local.definition.var)

(input_declaration name: (identifier) @local.definition.parameter)

(use_statement alias: (identifier) @local.definition.import)

(agent_definition name: (identifier) @local.definition.type)

; A block's name belongs to the enclosing scope, its parameters to the block.
(block_definition
  name: (identifier) @local.definition.function
  (#set! definition.function.scope "parent"))

(block_definition parameters: (parameter_list (identifier) @local.definition.parameter))

; `reduce(acc, item):`
(pipe_stage parameters: (parameter_list (identifier) @local.definition.parameter))

(for_loop item: (identifier) @local.definition.var)
(for_loop index: (identifier) @local.definition.var)

(parallel_for item: (identifier) @local.definition.var)
(parallel_for index: (identifier) @local.definition.var)

(repeat_loop index: (identifier) @local.definition.var)

(loop index: (identifier) @local.definition.var)

(catch_clause error: (identifier) @local.definition.var)

; --------------------------------------------------------------- references
; Identifiers in expression positions. Property keys, modifier keys, pipe
; operators and keyword-argument names are not references.

(expression_statement (identifier) @local.reference)

(let_statement value: (identifier) @local.reference)
(const_statement value: (identifier) @local.reference)
(assignment value: (identifier) @local.reference)
(output_statement value: (identifier) @local.reference)

(property value: (identifier) @local.reference)

(array (identifier) @local.reference)

(object (identifier) @local.reference)

(pair value: (identifier) @local.reference)

(argument_list (identifier) @local.reference)

(keyword_argument value: (identifier) @local.reference)

(parenthesized_expression (identifier) @local.reference)

(member_expression object: (identifier) @local.reference)

(binary_expression left: (identifier) @local.reference)
(binary_expression right: (identifier) @local.reference)

(unary_expression operand: (identifier) @local.reference)

(sequence left: (identifier) @local.reference)
(sequence right: (identifier) @local.reference)

(pipeline input: (identifier) @local.reference)

(if_statement condition: (identifier) @local.reference)
(elif_clause condition: (identifier) @local.reference)

(for_loop collection: (identifier) @local.reference)
(parallel_for collection: (identifier) @local.reference)

(repeat_loop count: (identifier) @local.reference)

; `count: n` (a keyed modifier's value; a bare `first` is a keyword)
(modifier
  key: (identifier)
  value: (identifier) @local.reference)

(session agent: (identifier) @local.reference)
(resume agent: (identifier) @local.reference)

(do_expression block: (identifier) @local.reference)

(call function: (identifier) @local.reference)

(interpolation expression: (identifier) @local.reference)
(interpolation_member object: (identifier) @local.reference)
