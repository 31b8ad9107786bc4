; Folding for OpenProse: every indented body (statement blocks and property
; blocks), multi-line strings and multi-line `***` conditions. A body starts
; on its header's line, so folding it leaves the header visible.

[
  (block)
  (property_block)
] @fold

(string "\"\"\"") @fold

(condition "***") @fold

(array) @fold

(object) @fold
