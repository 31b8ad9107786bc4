; Language injections for OpenProse.
;
; Each pattern sets the language twice: `injection.language` for Neovim 0.9+,
; Helix and the tree-sitter CLI, and `language` for Neovim 0.7/0.8, whose
; injection code reads only that key.

; Triple-quoted prompts are usually Markdown. Interpolations split a string
; into several `string_content` nodes; each piece is injected on its own.
((string
  "\"\"\""
  (string_content) @injection.content)
  (#set! injection.language "markdown")
  (#set! language "markdown"))

; TODO/FIXME/NOTE markers in comments (the `comment` parser).
((comment) @injection.content
  (#set! injection.language "comment")
  (#set! language "comment"))
