; Syntax highlighting for OpenProse.
;
; Capture names follow the nvim-treesitter conventions (which Helix themes
; mostly share). Two engines read this file and they resolve a node captured
; by more than one pattern differently: Neovim lets the LAST pattern win (at
; equal priority), tree-sitter-highlight (Helix, the CLI) lets the FIRST one
; win. So specific patterns come first and the catch-all `@variable` comes
; last with a lower priority; tests/test_queries.py checks that both engines
; pick the same capture for every node. Only `#eq?` and `#set!` are used,
; which Neovim 0.7 knows too.

; ---------------------------------------------------------------- keywords

[
  "use"
  "import"
  "from"
] @keyword.import

(use_statement "as" @keyword.import)

"block" @keyword.function

"agent" @keyword.type

[
  "let"
  "const"
  "input"
  "output"
  "session"
  "resume"
  "do"
  "parallel"
] @keyword

[
  "for"
  "in"
  "repeat"
  "loop"
  "until"
  "while"
] @keyword.repeat

(repeat_loop "as" @keyword.repeat)
(loop "as" @keyword.repeat)

[
  "if"
  "elif"
  "else"
  "choice"
  "option"
] @keyword.conditional

[
  "try"
  "catch"
  "finally"
  "throw"
  "assert"
] @keyword.exception

(catch_clause "as" @keyword.exception)

[
  "and"
  "or"
  "not"
  "is"
  "is not"
] @keyword.operator

; -------------------------------------------------------------- definitions

(agent_definition name: (identifier) @type.definition)

(block_definition name: (identifier) @function)

(parameter_list (identifier) @variable.parameter)

(input_declaration name: (identifier) @variable.parameter)

(use_statement alias: (identifier) @module)

; ----------------------------------------------------------------- sessions

(session agent: (identifier) @type)
(resume agent: (identifier) @type)

(property key: (identifier) @property)

; `session "…" context: x` on one line (reported, but still a property)
(property_inline key: (inline_key) @property)

; `- item` lines under a key
(list_block "-" @punctuation.delimiter)

; The model names of `model:` are a fixed vocabulary.
(property
  key: (identifier) @_key
  value: (identifier) @constant.builtin
  (#eq? @_key "model"))

; ------------------------------------------------------- calls and pipelines

(do_expression block: (identifier) @function.call)

(call function: (identifier) @function.call)

(keyword_argument name: (identifier) @variable.parameter)

; map, filter, reduce, pmap
(pipe_stage operator: (identifier) @function.builtin)

; ------------------------------------------------- parallel / loop modifiers

; `parallel (first)`: a bare strategy name
(modifier . value: (identifier) @keyword.modifier .)

; `parallel (on-fail: "continue", count: 2)`, `loop (max: 5)`
(modifier key: (identifier) @attribute)

; ---------------------------------------------------------------- accessors

(member_expression property: (identifier) @variable.member)

(pair key: (identifier) @property)

; ------------------------------------------------------------------ strings

(string) @string

(escape_sequence) @string.escape

; The opening `{` is part of the interpolation node only (the scanner emits
; it as a hidden token), so the whole node is marked and its name drawn over it.
(interpolation) @punctuation.special

(interpolation expression: (identifier) @variable)

(interpolation_member object: (identifier) @variable)

(interpolation_member property: (identifier) @variable.member)

(interpolation_member "." @punctuation.delimiter)

; `option "Label":`
(option_clause label: (string (string_content) @label))

; `use "owner/program"`, `import "skill" from "github:…"`
(use_statement path: (string (string_content) @string.special.path))

(import_statement source: (string (string_content) @string.special.url))

; -------------------------------------------------------------- conditions

(condition) @string.special

(condition
  [
    "**"
    "***"
  ] @punctuation.special)

; --------------------------------------------------------------- literals

(number) @number

[
  (true)
  (false)
] @boolean

(null) @constant.builtin

(comment) @comment

; -------------------------------------------------------------- operators

[
  "="
  "=="
  "!="
  "<"
  "<="
  ">"
  ">="
  "+"
  "-"
  "*"
  "/"
  "->"
  "|"
] @operator

; ------------------------------------------------------------ punctuation

[
  "("
  ")"
  "["
  "]"
] @punctuation.bracket

(object
  [
    "{"
    "}"
  ] @punctuation.bracket)

(object_pattern
  [
    "{"
    "}"
  ] @punctuation.bracket)

(interpolation "}" @punctuation.special)

[
  ","
  ":"
] @punctuation.delimiter

(member_expression "." @punctuation.delimiter)

; ------------------------------------------------------------- spelling

(comment) @spell

(string_content) @spell

(condition_text) @spell

; --------------------------------------------------------------- fallback

((identifier) @variable
  (#set! priority 99))
