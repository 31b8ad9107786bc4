; Indentation for OpenProse (nvim-treesitter conventions).
;
; Bodies are indented one level below their header. The headers that always
; end in `:` use `indent.immediate`, so the line after a freshly typed
; `for x in xs:` is indented before its body exists.

([
  (agent_definition)
  (block_definition)
  (if_statement)
  (try_statement)
  (choice_block)
  (option_clause)
  (parallel_block)
  (parallel_for)
  (for_loop)
  (repeat_loop)
  (loop)
  (pipe_stage)
] @indent.begin
  (#set! indent.immediate 1))

; `do:` (but not `do name(args)`)
((do_expression ":") @indent.begin
  (#set! indent.immediate 1))

; Orphan clauses (the parser keeps them as statements of their own).
((source_file
  [
    (elif_clause)
    (else_clause)
    (catch_clause)
    (finally_clause)
  ] @indent.begin)
  (#set! indent.immediate 1))

((block
  [
    (elif_clause)
    (else_clause)
    (catch_clause)
    (finally_clause)
  ] @indent.begin)
  (#set! indent.immediate 1))

; Sessions and properties with property blocks below them.
(session properties: (property_block)) @indent.begin

(resume properties: (property_block)) @indent.begin

(property properties: (property_block)) @indent.begin

; `permissions:` just typed, with nothing after the colon yet.
((property . key: (identifier) .) @indent.begin
  (#set! indent.immediate 1))

; `elif`/`else` line up with their `if`, `catch`/`finally` with their `try`.
(if_statement alternative: (_) @indent.branch)

(try_statement handler: (catch_clause) @indent.branch)

(try_statement finalizer: (finally_clause) @indent.branch)

; Brackets spanning lines.
[
  (array)
  (object)
  (argument_list)
  (parameter_list)
  (modifier_list)
] @indent.begin

[
  "]"
  "}"
  ")"
] @indent.branch

; Text of multi-line strings and conditions keeps the indentation it has.
[
  (string)
  (condition)
] @indent.auto

(comment) @indent.auto
