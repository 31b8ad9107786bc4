/*
 * External scanner for OpenProse.
 *
 * OpenProse is indentation-sensitive like Python, and its strings and
 * `***` conditions may span lines with any indentation at all. Both need
 * context the generated lexer does not have, so this scanner owns:
 *
 *   - NEWLINE / INDENT / DEDENT, from a stack of indentation widths. Blank
 *     lines and comment-only lines never change indentation. A line that
 *     starts with `|` or `->` continues the previous expression (multi-line
 *     pipelines), so no NEWLINE is emitted before it.
 *   - string contents (single-line and triple-quoted), stopping at escapes,
 *     the closing quote(s) and at a `{name}` interpolation; a `{` that does
 *     not start a well-formed interpolation is ordinary text.
 *   - a zero-width "unterminated" marker when a single-line string meets the
 *     end of its line (or any string meets the end of the file), so the rest
 *     of the program still parses and the checker can report E001.
 *   - the text of `**…**` and `***…***` conditions.
 *   - `->`, and after a `->` that ends its line, a zero-width "continues"
 *     token instead of a NEWLINE when the next line is the arrow's
 *     right-hand side (`->` alone on a line between multi-line statements).
 *     A next line that starts a new statement leaves the arrow dangling.
 *   - inside a triple-quoted string, a backslash before a line end is text
 *     (shell continuations in prompts), not a broken escape.
 *   - zero-width tokens that group the top-level statements into hidden
 *     chunks and sections, which incremental reparsing reuses whole (see
 *     boundary_level and `source_file` in grammar.js); they change nothing in
 *     the tree's visible nodes.
 *
 * Every indentation token is zero-width: the scanner only looks ahead and the
 * generated lexer then consumes the whitespace and comments as extras.
 */

#include "tree_sitter/alloc.h"
#include "tree_sitter/array.h"
#include "tree_sitter/parser.h"

#include <stdint.h>
#include <string.h>

enum TokenType {
  NEWLINE,
  INDENT,
  DEDENT,
  STRING_CONTENT,
  TRIPLE_STRING_CONTENT,
  INTERPOLATION_START,
  STRING_UNTERMINATED,
  CONDITION_TEXT,
  TRIPLE_CONDITION_TEXT,
  UNCLOSED_MODIFIERS,
  ARROW,
  ARROW_CONTINUES,
  PROPERTY_INDENT,
  UNCLOSED_BRACKET,
  SEPARATOR,
  CHUNK_START,
  CHUNK_END,
  SECTION_START,
  SECTION_END,
  CLOSE_BRACKET,
  CLOSE_PAREN,
  CLOSE_BRACE,
};

/* An entry of the indent stack: the width, and whether the level holds properties. */
#define PROPERTY_LEVEL 0x8000u
#define WIDTH(entry) ((uint16_t)((entry) & ~PROPERTY_LEVEL))

typedef struct {
  Array(uint16_t) indents;
} Scanner;

static inline void advance(TSLexer *lexer) { lexer->advance(lexer, false); }
static inline void skip(TSLexer *lexer) { lexer->advance(lexer, true); }

static inline bool is_ident_start(int32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool is_ident_char(int32_t c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}

/*
 * Called just after a `{` has been consumed. Reads `name(-part)*(.name)*`
 * followed by `}` and reports whether that shape was found. It consumes only
 * identifier characters, dots and hyphens, so on failure the caller may
 * treat everything read as literal text.
 */
static bool rest_is_interpolation(TSLexer *lexer) {
  for (;;) {
    if (!is_ident_start(lexer->lookahead)) return false;
    while (is_ident_char(lexer->lookahead)) advance(lexer);
    while (lexer->lookahead == '-') {
      advance(lexer);
      if (!is_ident_char(lexer->lookahead)) return false;
      while (is_ident_char(lexer->lookahead)) advance(lexer);
    }
    if (lexer->lookahead == '.') {
      advance(lexer);
      continue;
    }
    return lexer->lookahead == '}';
  }
}

/* Literal text of a string, up to (not including) the next special part. */
static bool scan_string_text(TSLexer *lexer, bool triple, bool has_content) {
  if (triple && !has_content && lexer->lookahead == '"') {
    /*
     * A run of more than three quotes ends the string with its last three;
     * the ones before are text. Emit them one at a time: take this quote,
     * then peek at the rest of the run.
     */
    advance(lexer);
    lexer->mark_end(lexer);
    unsigned rest = 0;
    while (lexer->lookahead == '"' && rest < 3) {
      advance(lexer);
      rest++;
    }
    if (rest >= 3) {
      lexer->result_symbol = TRIPLE_STRING_CONTENT;
      return true;
    }
    if (rest == 2) return false; /* exactly `"""`: the closing delimiter */
    has_content = true;
  }
  for (;;) {
    lexer->mark_end(lexer);
    if (lexer->eof(lexer)) break;
    int32_t c = lexer->lookahead;
    if (c == '\\') {
      /*
       * `\` ending a line is text: in a triple-quoted string it is kept (shell
       * continuations), in a single-line one the string is then unterminated.
       * Any other escape is an escape_sequence token.
       */
      advance(lexer);
      if (!lexer->eof(lexer) && lexer->lookahead != '\n' && lexer->lookahead != '\r') break; /* mark_end sits before `\` */
      has_content = true;
      continue;
    }
    if (!triple && (c == '"' || c == '\n' || c == '\r')) break;
    if (triple && c == '"') {
      unsigned run = 0;
      while (lexer->lookahead == '"' && run < 3) {
        advance(lexer);
        run++;
      }
      if (run >= 3) break; /* mark_end sits before the run; see above */
      has_content = true;
      continue;
    }
    if (c == '{') {
      advance(lexer);
      if (rest_is_interpolation(lexer)) break; /* mark_end sits before `{` */
      has_content = true;
      continue;
    }
    advance(lexer);
    has_content = true;
  }
  if (!has_content) return false;
  lexer->result_symbol = triple ? TRIPLE_STRING_CONTENT : STRING_CONTENT;
  return true;
}

static bool scan_string_part(TSLexer *lexer, bool triple, const bool *valid_symbols) {
  bool at_line_end = lexer->eof(lexer) || (!triple && (lexer->lookahead == '\n' || lexer->lookahead == '\r'));
  if (at_line_end) {
    if (!valid_symbols[STRING_UNTERMINATED]) return false;
    lexer->mark_end(lexer);
    lexer->result_symbol = STRING_UNTERMINATED;
    return true;
  }
  if (lexer->lookahead == '{' && valid_symbols[INTERPOLATION_START]) {
    advance(lexer);
    lexer->mark_end(lexer);
    if (rest_is_interpolation(lexer)) {
      lexer->result_symbol = INTERPOLATION_START;
      return true;
    }
    /* Not an interpolation: the brace and what followed it are text. */
    return scan_string_text(lexer, triple, true);
  }
  return scan_string_text(lexer, triple, false);
}

/* Keywords that start a statement: a line starting with one never continues an arrow. */
static const char *const STATEMENT_KEYWORDS[] = {
  "let", "const", "output", "input", "agent", "block", "use", "import", "if", "elif", "else",
  "try", "catch", "finally", "throw", "choice", "option", "assert", NULL,
};

/* Keywords that start an expression statement: never a property key. */
static const char *const EXPRESSION_KEYWORDS[] = {
  "session", "resume", "parallel", "do", "repeat", "for", "loop", NULL,
};

/* Clauses that continue the construct before them. */
static const char *const CLAUSE_KEYWORDS[] = {"elif", "else", "catch", "finally", "option", NULL};

static bool is_keyword(const char *word, const char *const *keywords) {
  for (const char *const *keyword = keywords; *keyword; keyword++) {
    if (strcmp(word, *keyword) == 0) return true;
  }
  return false;
}

enum LineStart { LINE_OTHER, LINE_STATEMENT, LINE_EXPRESSION };

/*
 * Reads the first word of a line (consuming it: the caller has already marked
 * the token's end) and classifies the line: a statement keyword or `name =`
 * (an assignment) starts a statement; `session`, `parallel`, `do`... start an
 * expression statement; anything else (a property key, a string) is other.
 * Call it once per scan: it moves the lexer.
 */
static enum LineStart classify_line(TSLexer *lexer) {
  char word[16];
  unsigned length = 0;
  if (!is_ident_start(lexer->lookahead)) return LINE_OTHER;
  while (is_ident_char(lexer->lookahead) || lexer->lookahead == '-') {
    if (length < sizeof(word) - 1) word[length] = (char)lexer->lookahead;
    length++;
    advance(lexer);
  }
  if (length < sizeof(word)) {
    word[length] = 0;
    if (is_keyword(word, STATEMENT_KEYWORDS)) return LINE_STATEMENT;
    if (is_keyword(word, EXPRESSION_KEYWORDS)) return LINE_EXPRESSION;
  }
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t') advance(lexer);
  if (lexer->lookahead != '=') return LINE_OTHER;
  advance(lexer);
  return lexer->lookahead != '=' ? LINE_STATEMENT : LINE_OTHER;
}

/*
 * Whether a line indented between two open levels stays in the inner body.
 * Reads (without taking) the rest of the line and the next line of code:
 * the line stays when the next line is at least as deep as the inner body
 * (the mistaken line sits in the middle of it, or owns deeper lines), unless
 * the line opens a body or is followed by properties that are no deeper than
 * the inner body -- those lines are its own and would otherwise be misread
 * as the inner body's. A `#` ends the line's code, and the lines of a `"""`
 * string the line opens are skipped; single-line strings are not tracked,
 * which at worst picks the other of two equally local readings.
 */
static bool stays_in_inner_body(TSLexer *lexer, uint16_t inner) {
  int32_t last = 0;
  unsigned quotes = 0;   /* a run of `"` being read */
  bool in_triple = false; /* inside a `"""` string the line opened: its lines are not code */
  while (!lexer->eof(lexer) && (in_triple || lexer->lookahead != '\n')) {
    int32_t c = lexer->lookahead;
    if (c == '#' && !in_triple) {
      while (!lexer->eof(lexer) && lexer->lookahead != '\n') advance(lexer);
      break;
    }
    quotes = c == '"' ? quotes + 1 : 0;
    if (quotes == 3) {
      in_triple = !in_triple;
      quotes = 0;
    }
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') last = c;
    advance(lexer);
  }
  uint32_t next = 0;
  for (;;) {
    next = 0;
    while (!lexer->eof(lexer) && (lexer->lookahead == '\n' || lexer->lookahead == '\r' || lexer->lookahead == ' ' ||
                                  lexer->lookahead == '\t' || lexer->lookahead == '\f')) {
      if (lexer->lookahead == ' ') next++;
      else if (lexer->lookahead == '\t') next += 2;
      else next = 0;
      advance(lexer);
    }
    if (lexer->eof(lexer)) return false;
    if (lexer->lookahead != '#') break;
    while (!lexer->eof(lexer) && lexer->lookahead != '\n') advance(lexer);
  }
  char word[16];
  unsigned length = 0;
  while (is_ident_char(lexer->lookahead) || lexer->lookahead == '-') {
    if (length < sizeof(word) - 1) word[length] = (char)lexer->lookahead;
    length++;
    advance(lexer);
  }
  word[length < sizeof(word) ? length : 0] = 0;
  /* The clause that continues the construct (`else:` after an `if` body): stay, so it stays attached. */
  if (is_keyword(word, CLAUSE_KEYWORDS)) return true;
  if (next < inner) return false;
  if (last == ':' && next <= inner) return false;
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t') advance(lexer);
  bool property = length > 0 && !is_keyword(word, STATEMENT_KEYWORDS) && !is_keyword(word, EXPRESSION_KEYWORDS) &&
                  lexer->lookahead == ':';
  return !(property && next <= inner);
}

/* How many bytes of a line decide whether a chunk ends before it. */
#define BOUNDARY_PREFIX 32

static inline uint32_t fnv1a(uint32_t hash, int32_t c) { return (hash ^ (uint8_t)c) * 16777619u; }

/*
 * Whether this line starts a statement of its own: a statement or expression
 * keyword other than a clause (`else:`, `catch:`... continue the statement
 * before them), or `name =`. Reads only that much (consuming it: the caller
 * has marked the token's end), and hashes the word into *hash.
 */
static bool starts_own_statement(TSLexer *lexer, uint32_t *hash, unsigned *taken) {
  char word[16];
  unsigned length = 0;
  while (is_ident_char(lexer->lookahead) || lexer->lookahead == '-') {
    if (length < sizeof(word) - 1) word[length] = (char)lexer->lookahead;
    length++;
    *hash = fnv1a(*hash, lexer->lookahead);
    advance(lexer);
  }
  *taken = length;
  if (length == 0) return false;
  if (length < sizeof(word)) {
    word[length] = 0;
    if (is_keyword(word, CLAUSE_KEYWORDS)) return false;
    if (is_keyword(word, STATEMENT_KEYWORDS) || is_keyword(word, EXPRESSION_KEYWORDS)) return true;
  }
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t') advance(lexer);
  if (lexer->lookahead != '=') return false;
  advance(lexer);
  return lexer->lookahead != '=';
}

/*
 * Whether a chunk (1) or a section too (2) of top-level statements ends
 * before this line, read from the line alone (consuming it), so that the
 * boundaries are a function of the text and an edit moves none but its own
 * line's. The line must start a statement of its own; then a hash of its
 * first bytes decides: one such line in 16 on average ends a chunk, one in
 * 256 a section.
 */
static unsigned boundary_level(TSLexer *lexer) {
  uint32_t hash = 2166136261u;
  unsigned taken = 0;
  if (!starts_own_statement(lexer, &hash, &taken)) return 0;
  for (; taken < BOUNDARY_PREFIX && !lexer->eof(lexer) && lexer->lookahead != '\n' && lexer->lookahead != '\r';
       taken++) {
    hash = fnv1a(hash, lexer->lookahead);
    advance(lexer);
  }
  /* FNV's low bits are weak: mix before taking them. */
  hash ^= hash >> 16;
  hash *= 0x45d9f3bu;
  hash ^= hash >> 16;
  if ((hash & 0xff) == 0) return 2;
  return (hash & 0xf) == 0 ? 1 : 0;
}

/* Called with the `-` of `->` consumed and `>` as the lookahead. */
static bool finish_arrow(TSLexer *lexer) {
  advance(lexer);
  lexer->mark_end(lexer);
  lexer->result_symbol = ARROW;
  return true;
}

/* Text of `**…**` (one line) or `***…***` (any number of lines). */
static bool scan_condition_text(TSLexer *lexer, bool triple) {
  bool has_content = false;
  for (;;) {
    lexer->mark_end(lexer);
    if (lexer->eof(lexer)) break;
    int32_t c = lexer->lookahead;
    if (!triple && (c == '\n' || c == '\r')) break;
    if (c == '*') {
      unsigned stars = 0;
      while (lexer->lookahead == '*' && stars < 3) {
        advance(lexer);
        stars++;
      }
      if (stars >= (triple ? 3u : 2u)) break; /* mark_end before the stars */
      has_content = true;
      continue;
    }
    advance(lexer);
    has_content = true;
  }
  if (!has_content) return false;
  lexer->result_symbol = triple ? TRIPLE_CONDITION_TEXT : CONDITION_TEXT;
  return true;
}

bool tree_sitter_openprose_external_scanner_scan(void *payload, TSLexer *lexer, const bool *valid_symbols) {
  Scanner *scanner = (Scanner *)payload;

  /* During error recovery every symbol is valid; never start a string then. */
  bool error_recovery_mode = valid_symbols[STRING_CONTENT] && valid_symbols[INDENT];
  bool within_brackets = valid_symbols[CLOSE_BRACE] || valid_symbols[CLOSE_PAREN] || valid_symbols[CLOSE_BRACKET];

  if (!error_recovery_mode) {
    if (valid_symbols[STRING_CONTENT] || valid_symbols[TRIPLE_STRING_CONTENT]) {
      return scan_string_part(lexer, valid_symbols[TRIPLE_STRING_CONTENT], valid_symbols);
    }
    if (valid_symbols[TRIPLE_CONDITION_TEXT]) return scan_condition_text(lexer, true);
    if (valid_symbols[CONDITION_TEXT]) return scan_condition_text(lexer, false);
    if (valid_symbols[UNCLOSED_MODIFIERS]) {
      while (lexer->lookahead == ' ' || lexer->lookahead == '\t') skip(lexer);
      if (lexer->eof(lexer) || lexer->lookahead == '\n' || lexer->lookahead == '\r') {
        lexer->mark_end(lexer);
        lexer->result_symbol = UNCLOSED_MODIFIERS;
        return true;
      }
      return false;
    }
  }

  lexer->mark_end(lexer);

  bool found_end_of_line = false;
  uint32_t indent_length = 0;
  int32_t first_comment_indent_length = -1;

  for (;;) {
    int32_t c = lexer->lookahead;
    if (c == '\n') {
      found_end_of_line = true;
      indent_length = 0;
      skip(lexer);
    } else if (c == ' ') {
      indent_length++;
      skip(lexer);
    } else if (c == '\r' || c == '\f') {
      indent_length = 0;
      skip(lexer);
    } else if (c == '\t') {
      indent_length += 2; /* one level of the canonical 2-space indent; see indentation.py */
      skip(lexer);
    } else if (c == 0xFEFF) {
      skip(lexer);
    } else if (lexer->eof(lexer)) {
      indent_length = 0;
      found_end_of_line = true;
      break;
    } else if (c == '#') {
      /* A comment after code on the same line: let the lexer take it. */
      if (!found_end_of_line) return false;
      if (first_comment_indent_length == -1) first_comment_indent_length = (int32_t)indent_length;
      while (!lexer->eof(lexer) && lexer->lookahead != '\n') skip(lexer);
    } else {
      break;
    }
  }

  /*
   * Between and around top-level statements (grammar.js, source_file). These
   * tokens are valid between top-level statements, where no other token of
   * this scanner is: so where none of them is due, nothing is returned, as
   * the scanner was not called there before they existed (whatever the indent
   * stack says after an error). Should a state ever allow another token of
   * this scanner too, they are not emitted there, and that token is handled
   * as before. All of them sit right before code, after any comment, so that
   * a comment is in the group the code before it is in.
   *
   * After a statement, a SEPARATOR comes first before a line at column 0
   * that starts a statement of its own; then a chunk may end there, and a
   * section (boundary_level). Reading that line is lookahead of whatever
   * token is taken there, and an edit within it makes the parser take that
   * token anew: the SEPARATOR, which reads no further than the line's first
   * word, keeps that from reaching back to the statement before it.
   *
   * A chunk or a section starts wherever one may, as long as some code
   * follows: at the start of the file, or after the group before it. (Asking
   * the lexer for the column there would make every group column-dependent,
   * and an edit on the first line would then invalidate them all.)
   */
  bool groups = valid_symbols[SEPARATOR] || valid_symbols[CHUNK_START] || valid_symbols[CHUNK_END] ||
                valid_symbols[SECTION_START] || valid_symbols[SECTION_END];
  for (int token = NEWLINE; groups && token <= CLOSE_BRACE; token++) {
    if (token < SEPARATOR || token > SECTION_END) groups = !valid_symbols[token];
  }
  if (groups && !error_recovery_mode) {
    if (lexer->eof(lexer) || first_comment_indent_length != -1) return false;
    bool at_column_0 = indent_length == 0 && found_end_of_line && is_ident_start(lexer->lookahead);
    if (valid_symbols[SEPARATOR]) {
      uint32_t hash = 0;
      unsigned taken = 0;
      if (!at_column_0 || !starts_own_statement(lexer, &hash, &taken)) return false;
      lexer->result_symbol = SEPARATOR;
      return true;
    }
    if (valid_symbols[CHUNK_END] || valid_symbols[SECTION_END]) {
      unsigned level = at_column_0 ? boundary_level(lexer) : 0;
      if (valid_symbols[CHUNK_END] && level >= 1) {
        lexer->result_symbol = CHUNK_END;
        return true;
      }
      if (valid_symbols[SECTION_END] && level >= 2) {
        lexer->result_symbol = SECTION_END;
        return true;
      }
    }
    /* With a section's end, a chunk's start is valid too: no end here, so a chunk starts. */
    if (valid_symbols[CHUNK_START] || valid_symbols[SECTION_START]) {
      lexer->result_symbol = valid_symbols[SECTION_START] ? SECTION_START : CHUNK_START;
      return true;
    }
    return false;
  }

  if (!found_end_of_line) {
    if (lexer->lookahead == '-' && valid_symbols[ARROW]) {
      advance(lexer);
      if (lexer->lookahead == '>') return finish_arrow(lexer);
    }
    return false;
  }

  uint16_t top = scanner->indents.size > 0 ? *array_back(&scanner->indents) : 0;
  uint16_t current = WIDTH(top);

  /* `| map:` or `-> session …` on its own line continues the expression. */
  bool continuation = false;
  if (!lexer->eof(lexer)) {
    if (lexer->lookahead == '|') {
      continuation = true;
    } else if (lexer->lookahead == '-') {
      advance(lexer); /* the zero-width tokens below still end where mark_end left them */
      continuation = lexer->lookahead == '>';
    }
  }

  /* What the next line starts with, read at most once (reading it moves the lexer). */
  bool need_class = !continuation && !lexer->eof(lexer) && lexer->lookahead != '#' &&
                    ((valid_symbols[ARROW_CONTINUES] && indent_length >= current) ||
                     (valid_symbols[PROPERTY_INDENT] && indent_length > current) ||
                     (top & PROPERTY_LEVEL) || valid_symbols[UNCLOSED_BRACKET]);
  enum LineStart line = need_class ? classify_line(lexer) : LINE_OTHER;

  /*
   * Inside brackets a line break is whitespace, so a bracket left open would
   * swallow the lines after it. When the next line starts a statement (or,
   * in a `[…]` list, a property `name:`, which is never an entry of one), the
   * bracket is closed here instead, and the checker reports it on its line.
   */
  bool in_list = valid_symbols[CLOSE_BRACKET] && !valid_symbols[CLOSE_PAREN] && !valid_symbols[CLOSE_BRACE];
  if (valid_symbols[UNCLOSED_BRACKET] && !error_recovery_mode &&
      (lexer->eof(lexer) || line != LINE_OTHER || (in_list && lexer->lookahead == ':'))) {
    lexer->result_symbol = UNCLOSED_BRACKET;
    return true;
  }

  /*
   * Only right after a `->` is ARROW_CONTINUES valid: the next line continues
   * the expression unless it is a new statement. The token is zero-width; the
   * line break is then skipped as whitespace.
   */
  if (valid_symbols[ARROW_CONTINUES] && !error_recovery_mode && !continuation && !lexer->eof(lexer) &&
      lexer->lookahead != '#' && indent_length >= current && line != LINE_STATEMENT) {
    lexer->result_symbol = ARROW_CONTINUES;
    return true;
  }

  if (continuation && indent_length >= current) {
    if (valid_symbols[ARROW] && lexer->lookahead == '>') return finish_arrow(lexer);
    return false;
  }

  if (valid_symbols[INDENT] && !continuation && indent_length > current) {
    array_push(&scanner->indents, (uint16_t)indent_length);
    lexer->result_symbol = INDENT;
    return true;
  }

  /*
   * Properties (or a value below its key) may open here. A deeper line that
   * starts a statement is not one: it ends the line like a NEWLINE, so the
   * statement parses at the level it belongs to and the checker reports its
   * indentation on that line.
   */
  if (valid_symbols[PROPERTY_INDENT] && !continuation && indent_length > current && !error_recovery_mode) {
    if (line == LINE_OTHER) {
      array_push(&scanner->indents, (uint16_t)(indent_length | PROPERTY_LEVEL));
      lexer->result_symbol = PROPERTY_INDENT;
      return true;
    }
    if (valid_symbols[NEWLINE]) {
      lexer->result_symbol = NEWLINE;
      return true;
    }
    return false;
  }

  /*
   * A statement is never a property: at any indentation, it ends a level of
   * properties, and then parses at the level around it (where the model
   * reports its column if that is wrong).
   */
  if ((top & PROPERTY_LEVEL) && line != LINE_OTHER && valid_symbols[DEDENT] && !continuation &&
      scanner->indents.size > 1 && !error_recovery_mode && first_comment_indent_length < (int32_t)current) {
    array_pop(&scanner->indents);
    lexer->result_symbol = DEDENT;
    return true;
  }

  /*
   * A line between two open levels (a body at 4 inside one at 0, and a line at
   * 2) matches neither. In the middle of the inner body it stays there, so
   * the lines after it do too, and the model reports its column on that line
   * alone; at the end of it (or owning what follows) it ends the inner level
   * as usual (see stays_in_inner_body). A statement cannot be a property, so
   * one always ends a level of properties.
   */
  uint16_t below = scanner->indents.size > 1 ? WIDTH(scanner->indents.contents[scanner->indents.size - 2]) : 0;
  bool between_levels = !continuation && indent_length > below && indent_length < current;
  if (between_levels && (top & PROPERTY_LEVEL) && line != LINE_OTHER) between_levels = false;
  if (between_levels && !(top & PROPERTY_LEVEL) && !stays_in_inner_body(lexer, current)) between_levels = false;

  if ((valid_symbols[DEDENT] || (!valid_symbols[NEWLINE] && !within_brackets)) && indent_length < current &&
      !between_levels && scanner->indents.size > 1 && first_comment_indent_length < (int32_t)current) {
    array_pop(&scanner->indents);
    lexer->result_symbol = DEDENT;
    return true;
  }

  if (valid_symbols[NEWLINE] && !error_recovery_mode) {
    lexer->result_symbol = NEWLINE;
    return true;
  }

  return false;
}

void *tree_sitter_openprose_external_scanner_create(void) {
  Scanner *scanner = ts_calloc(1, sizeof(Scanner));
  array_init(&scanner->indents);
  array_push(&scanner->indents, 0);
  return scanner;
}

void tree_sitter_openprose_external_scanner_destroy(void *payload) {
  Scanner *scanner = (Scanner *)payload;
  array_delete(&scanner->indents);
  ts_free(scanner);
}

unsigned tree_sitter_openprose_external_scanner_serialize(void *payload, char *buffer) {
  Scanner *scanner = (Scanner *)payload;
  unsigned size = 0;
  /* The bottom entry is always 0 and is not stored. */
  for (uint32_t i = 1; i < scanner->indents.size && size + sizeof(uint16_t) <= TREE_SITTER_SERIALIZATION_BUFFER_SIZE;
       i++) {
    uint16_t value = scanner->indents.contents[i];
    memcpy(buffer + size, &value, sizeof(uint16_t));
    size += sizeof(uint16_t);
  }
  return size;
}

void tree_sitter_openprose_external_scanner_deserialize(void *payload, const char *buffer, unsigned length) {
  Scanner *scanner = (Scanner *)payload;
  array_delete(&scanner->indents);
  array_init(&scanner->indents);
  array_push(&scanner->indents, 0);
  for (unsigned offset = 0; offset + sizeof(uint16_t) <= length; offset += sizeof(uint16_t)) {
    uint16_t value;
    memcpy(&value, buffer + offset, sizeof(uint16_t));
    array_push(&scanner->indents, value);
  }
}
