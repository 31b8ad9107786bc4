/**
 * Tree-sitter grammar for OpenProse (.prose, v1 syntax).
 *
 * Layout decisions:
 * - Every statement ends with a (possibly zero-width) `_newline`; a statement
 *   that owns an indented body ends with `_indent … _dedent` and then its
 *   `_newline`. The external scanner emits these, so the grammar never has to
 *   special-case "the last line of a block".
 * - The grammar is deliberately permissive wherever the checker can say
 *   something more useful than "syntax error": unknown parallel modifiers,
 *   orphan elif/else/catch/finally, empty bodies, properties without values
 *   and unterminated strings all produce ordinary nodes.
 */

const PREC = {
  sequence: 1,
  or: 2,
  and: 3,
  not: 4,
  compare: 5,
  plus: 6,
  times: 7,
  unary: 8,
  member: 9,
  call: 10,
};

const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)), optional(','));
const commaSep = (rule) => optional(commaSep1(rule));

// The right-hand side of a binding: an expression ending its line, or a
// whole try/catch whose result is the value (`x = try: …`).
// A binding still being typed (`let x =`) parses with no value; the checker
// reports it, and the error stays on that line.
const boundValue = ($) => choice(
  seq(optional(field('value', $._expression)), $._newline),
  field('value', $.try_statement),
);

// Top-level statements, each followed by a separator where the next line
// starts a statement of its own: the scanner reads that line to place the
// groups' ends, and the separator keeps that look from being the statement's
// (an edit there would make the parser rebuild the statement before it).
const topLevelStatements = ($) => repeat1(seq($._statement, optional($._separator)));

module.exports = grammar({
  name: 'openprose',

  externals: $ => [
    $._newline,
    $._indent,
    $._dedent,
    $._string_content,
    $._triple_string_content,
    $._interpolation_start,
    $._string_unterminated,
    $._condition_text,
    $._triple_condition_text,
    $._unclosed_modifiers,
    // `->`.
    $._arrow,
    // Zero-width, after a `->` ending its line: the next line is its right-hand side.
    $._arrow_continues,
    // The indent that opens properties (or a value below its key). The scanner
    // declines it for a deeper line that starts a statement: that line is a
    // statement indented too far, reported where it is, not a broken property.
    $._property_indent,
    // Zero-width: a bracket still open when the next line starts a statement
    // or a property is closed here, so the error stays on its line.
    $._unclosed_bracket,
    // Zero-width, between and around groups of top-level statements (see `source_file`).
    $._separator,
    $._chunk_start,
    $._chunk_end,
    $._section_start,
    $._section_end,
    // Never emitted: their validity tells the scanner it is inside brackets.
    ']',
    ')',
    '}',
  ],

  extras: $ => [$.comment, /[ \t\f\r\n\uFEFF]/],

  word: $ => $.identifier,

  supertypes: $ => [$._statement, $._expression, $._simple_expression, $._primary_expression],

  conflicts: $ => [],

  rules: {
    // The top-level statements are grouped into hidden chunks, and the chunks
    // into hidden sections; the tree is the same as for a flat list of them.
    // The grouping is there for incremental reparsing. Tree-sitter never
    // reuses a node of a repetition whole (each is built in a parse state that
    // also holds the repetition's shift, which makes the node "fragile", and
    // a rebalanced one no longer records the state it starts in), nor a node
    // that starts or ends with one, so after an edit a flat list is re-shifted
    // and re-reduced statement by statement: time in proportion to the file.
    // A chunk or a section starts and ends with a zero-width token of the
    // scanner, so it is an ordinary node, reused whole. The scanner ends them
    // before a statement whose first line hashes to a multiple of 16 (a chunk)
    // or of 256 (a section as well): boundaries that depend on that line only,
    // so an edit moves none but its own.
    // The last chunk and section end with the file, not with a token: so the
    // end of the file may come after any statement or group, which error
    // recovery needs (it wraps what it could not parse up to the last point
    // where the file could have ended).
    source_file: $ => seq(repeat($._section), optional($._last_section)),

    _section: $ => seq($._section_start, repeat1($._chunk), $._section_end),

    _last_section: $ => seq($._section_start, repeat($._chunk), optional($._last_chunk)),

    _chunk: $ => seq($._chunk_start, topLevelStatements($), $._chunk_end),

    _last_chunk: $ => seq($._chunk_start, topLevelStatements($)),

    _statement: $ => choice(
      $.use_statement,
      $.import_statement,
      $.input_declaration,
      $.output_statement,
      $.agent_definition,
      $.block_definition,
      $.let_statement,
      $.const_statement,
      $.assignment,
      $.if_statement,
      $.elif_clause,
      $.else_clause,
      $.try_statement,
      $.catch_clause,
      $.finally_clause,
      $.throw_statement,
      $.assert_statement,
      $.choice_block,
      $.option_clause,
      $.expression_statement,
    ),

    block: $ => seq($._indent, repeat1($._statement), $._dedent),

    // ---------------------------------------------------------------- imports

    use_statement: $ => seq(
      'use',
      field('path', $.string),
      optional(seq('as', field('alias', $.identifier))),
      $._newline,
    ),

    import_statement: $ => seq(
      'import',
      field('name', $.string),
      'from',
      field('source', $.string),
      $._newline,
    ),

    input_declaration: $ => seq(
      'input',
      field('name', $.identifier),
      ':',
      optional(field('description', choice($.string, $.condition))),
      $._newline,
    ),

    output_statement: $ => seq(
      'output',
      optional(seq(field('name', $.identifier), '=')),
      boundValue($),
    ),

    // ------------------------------------------------------------ definitions

    agent_definition: $ => seq(
      'agent',
      field('name', $.identifier),
      optional(':'), // a missing `:` is reported by the checker, on this line
      optional(field('properties', $.property_block)),
      $._newline,
    ),

    block_definition: $ => seq(
      'block',
      field('name', $.identifier),
      optional(field('parameters', $.parameter_list)),
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
    ),

    parameter_list: $ => seq('(', commaSep($.identifier), ')'),

    // A bare string among the properties is a prompt (`session: agent` with
    // its prompt on the next line); the checker decides where that is allowed.
    property_block: $ => seq(
      $._property_indent,
      repeat1(choice($.property, $.prompt_line, $.word_line)),
      $._dedent,
    ),

    prompt_line: $ => seq(field('prompt', $.string), $._newline),

    // A word alone among properties (half-typed, or a key missing its `:`):
    // a node of its own, so the checker reports that line and nothing else.
    // (Under a key, a lone word is that key's value on the line below: `model:` / `opus`.)
    word_line: $ => prec(-1, seq(field('word', $.identifier), $._newline)),

    property: $ => seq(
      field('key', $.identifier),
      ':',
      choice(
        seq(
          optional(field('value', $._simple_expression)),
          optional(field('properties', alias($._nested_properties, $.property_block))),
        ),
        // The value on the line below its key (`model:` / `  opus`, `skills:` / `  - web`).
        seq(
          $._property_indent,
          choice(
            seq(field('value', $._simple_expression), $._newline),
            field('value', $.list_block),
          ),
          $._dedent,
        ),
      ),
      $._newline,
    ),

    // The key and its colon are one token, so that any other word after a
    // prompt (`session "a" foo`) is still the plain "unexpected text" error.
    property_inline: $ => seq(
      field('key', alias(token(prec(2, /[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*[ \t]*:/)), $.inline_key)),
      field('value', $._simple_expression),
    ),

    _nested_properties: $ => seq($._property_indent, repeat1(choice($.property, $.word_line)), $._dedent),

    // YAML-style `- item` lines: an array written one element a line.
    list_block: $ => repeat1(seq(alias($._list_dash, '-'), $._simple_expression, $._newline)),

    _list_dash: _ => token(prec(1, /-[ \t]+/)),

    // --------------------------------------------------------------- bindings

    let_statement: $ => seq(
      'let',
      field('name', choice($.identifier, $.object_pattern)),
      '=',
      boundValue($),
    ),

    const_statement: $ => seq(
      'const',
      field('name', choice($.identifier, $.object_pattern)),
      '=',
      boundValue($),
    ),

    assignment: $ => seq(
      field('name', $.identifier),
      '=',
      boundValue($),
    ),

    object_pattern: $ => seq('{', commaSep($.identifier), '}'),

    expression_statement: $ => seq($._expression, $._newline),

    // ----------------------------------------------------------- control flow

    if_statement: $ => prec.right(seq(
      'if',
      field('condition', $._simple_expression),
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
      repeat(field('alternative', $.elif_clause)),
      optional(field('alternative', $.else_clause)),
    )),

    elif_clause: $ => seq(
      'elif',
      field('condition', $._simple_expression),
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
    ),

    else_clause: $ => seq('else', optional(':'), optional(field('body', $.block)), $._newline),

    try_statement: $ => prec.right(seq(
      'try',
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
      optional(field('handler', $.catch_clause)),
      optional(field('finalizer', $.finally_clause)),
    )),

    catch_clause: $ => seq(
      'catch',
      optional(seq('as', field('error', $.identifier))),
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
    ),

    finally_clause: $ => seq('finally', optional(':'), optional(field('body', $.block)), $._newline),

    throw_statement: $ => seq('throw', optional(field('message', $.string)), $._newline),

    // `assert cond: "message"` or `assert cond:` with the message indented below:
    // when the condition does not hold, the message is thrown.
    assert_statement: $ => seq(
      'assert',
      field('condition', $._simple_expression),
      optional(seq(
        ':',
        optional(choice(
          field('message', $.string),
          seq($._indent, field('message', $.string), $._newline, $._dedent),
        )),
      )),
      $._newline,
    ),

    choice_block: $ => seq(
      'choice',
      field('criteria', $.condition),
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
    ),

    option_clause: $ => seq(
      'option',
      field('label', $.string),
      optional(':'),
      optional(field('body', $.block)),
      $._newline,
    ),

    // ------------------------------------------------------------ expressions

    _expression: $ => choice(
      $._simple_expression,
      $.session,
      $.resume,
      $.do_expression,
      $.parallel_block,
      $.parallel_for,
      $.repeat_loop,
      $.for_loop,
      $.loop,
      $.pipeline,
      $.sequence,
    ),

    _simple_expression: $ => choice(
      $._primary_expression,
      $.binary_expression,
      $.unary_expression,
    ),

    _primary_expression: $ => choice(
      $.identifier,
      $.number,
      $.string,
      $.true,
      $.false,
      $.null,
      $.array,
      $.object,
      $.member_expression,
      $.call,
      $.parenthesized_expression,
      $.condition,
    ),

    session: $ => seq(
      'session',
      optional(choice(
        // `session "Synthesize":` followed by properties is also written.
        seq(field('prompt', $.string), optional(choice(
          ':',
          // `session "Research" context: topic` -- a property written on the
          // prompt's line parses as one, so the checker can say where it goes.
          field('inline', $.property_inline),
        ))),
        seq(':', optional(field('agent', $.identifier))),
        seq(field('name', $.identifier), ':', field('agent', $.identifier)),
      )),
      optional(field('properties', $.property_block)),
    ),

    resume: $ => seq(
      'resume',
      ':',
      field('agent', $.identifier),
      optional(field('properties', $.property_block)),
    ),

    do_expression: $ => seq(
      'do',
      choice(
        seq(optional(':'), optional(field('body', $.block))),
        seq(field('block', $.identifier), optional(field('arguments', $.argument_list))),
      ),
    ),

    // A list still being typed (`parallel (first` at the end of a line) is
    // closed by a zero-width token, and the `:` may be missing: the statement
    // is whole, so the checker's error stays on that line.
    parallel_block: $ => seq(
      'parallel',
      optional(field('modifiers', $.modifier_list)),
      optional(':'),
      optional(field('body', $.block)),
    ),

    modifier_list: $ => seq('(', commaSep($.modifier), choice(')', $._unclosed_modifiers)),

    modifier: $ => choice(
      seq(field('key', $.identifier), ':', optional(field('value', $._modifier_value))),
      field('value', $._modifier_value),
    ),

    _modifier_value: $ => choice($.identifier, $.string, $.number, $.unary_expression),

    parallel_for: $ => seq(
      'parallel',
      optional(field('modifiers', $.modifier_list)),
      'for',
      field('item', $.identifier),
      optional(seq(',', field('index', $.identifier))),
      'in',
      field('collection', $._simple_expression),
      optional(field('modifiers', $.modifier_list)),
      optional(':'),
      optional(field('body', $.block)),
    ),

    for_loop: $ => seq(
      'for',
      field('item', $.identifier),
      optional(seq(',', field('index', $.identifier))),
      'in',
      field('collection', $._simple_expression),
      optional(':'),
      optional(field('body', $.block)),
    ),

    repeat_loop: $ => seq(
      'repeat',
      field('count', $._simple_expression),
      optional(seq('as', field('index', $.identifier))),
      optional(':'),
      optional(field('body', $.block)),
    ),

    loop: $ => seq(
      'loop',
      optional(seq(field('kind', choice('until', 'while')), field('condition', $.condition))),
      optional(field('modifiers', $.modifier_list)),
      optional(seq('as', field('index', $.identifier))),
      optional(':'),
      optional(field('body', $.block)),
    ),

    pipeline: $ => seq(
      field('input', $._primary_expression),
      repeat1(field('stage', $.pipe_stage)),
    ),

    pipe_stage: $ => seq(
      '|',
      field('operator', $.identifier),
      optional(field('parameters', $.parameter_list)),
      optional(':'),
      optional(field('body', $.block)),
    ),

    sequence: $ => prec.left(PREC.sequence, seq(
      field('left', $._expression),
      alias($._arrow, '->'),
      choice(
        seq($._arrow_continues, field('right', $._expression)),
        optional(field('right', $._expression)),
      ),
    )),

    binary_expression: $ => choice(
      ...[
        ['or', PREC.or],
        ['and', PREC.and],
        ['is', PREC.compare],
        [alias(token(prec(1, /is[ \t]+not/)), 'is not'), PREC.compare],
        ['==', PREC.compare],
        ['!=', PREC.compare],
        ['<', PREC.compare],
        ['<=', PREC.compare],
        ['>', PREC.compare],
        ['>=', PREC.compare],
        ['+', PREC.plus],
        ['-', PREC.plus],
        ['*', PREC.times],
        ['/', PREC.times],
      ].map(([operator, precedence]) => prec.left(precedence, seq(
        field('left', $._simple_expression),
        field('operator', operator),
        field('right', $._simple_expression),
      ))),
    ),

    unary_expression: $ => choice(
      prec(PREC.not, seq(field('operator', 'not'), field('operand', $._simple_expression))),
      prec(PREC.unary, seq(field('operator', '-'), field('operand', $._simple_expression))),
    ),

    member_expression: $ => prec(PREC.member, seq(
      field('object', $._primary_expression),
      '.',
      field('property', $.identifier),
    )),

    // A call's `(` touches the name: `items (first)` after `parallel for … in`
    // is a modifier list, never a call.
    call: $ => prec(PREC.call, seq(
      field('function', $.identifier),
      field('arguments', alias($._call_arguments, $.argument_list)),
    )),

    _call_arguments: $ => seq(
      alias(token.immediate('('), '('),
      commaSep(choice($.keyword_argument, $._simple_expression)),
      choice(')', $._unclosed_bracket),
    ),

    argument_list: $ => seq('(', commaSep(choice($.keyword_argument, $._simple_expression)), choice(')', $._unclosed_bracket)),

    keyword_argument: $ => seq(
      field('name', $.identifier),
      ':',
      field('value', $._simple_expression),
    ),

    parenthesized_expression: $ => seq('(', $._simple_expression, ')'),

    array: $ => seq('[', commaSep($._simple_expression), choice(']', $._unclosed_bracket)),

    object: $ => seq('{', commaSep(choice($.pair, $.identifier)), choice('}', $._unclosed_bracket)),

    pair: $ => seq(
      field('key', choice($.identifier, $.string)),
      ':',
      field('value', $._simple_expression),
    ),

    condition: $ => choice(
      seq('**', optional(alias($._condition_text, $.condition_text)), '**'),
      seq('***', optional(alias($._triple_condition_text, $.condition_text)), '***'),
    ),

    // ---------------------------------------------------------------- strings

    string: $ => choice(
      seq(
        '"',
        repeat(choice(alias($._string_content, $.string_content), $.escape_sequence, $.interpolation)),
        choice('"', alias($._string_unterminated, $.unterminated)),
      ),
      seq(
        '"""',
        repeat(choice(alias($._triple_string_content, $.string_content), $.escape_sequence, $.interpolation)),
        choice('"""', alias($._string_unterminated, $.unterminated)),
      ),
    ),

    escape_sequence: _ => token.immediate(seq('\\', /[^\r\n]/)),

    interpolation: $ => seq(
      $._interpolation_start,
      field('expression', choice($.identifier, $.interpolation_member)),
      '}',
    ),

    interpolation_member: $ => seq(
      field('object', choice($.identifier, $.interpolation_member)),
      '.',
      field('property', $.identifier),
    ),

    // ------------------------------------------------------------- primitives

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*/,

    number: _ => /\d+(\.\d+)?/,

    true: _ => 'true',
    false: _ => 'false',
    null: _ => 'null',

    comment: _ => token(seq('#', /[^\r\n]*/)),
  },
});
