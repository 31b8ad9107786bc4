"""Direct tests of `openprose.values`: how run-time values become text, lists,
truth values and binding-file entries, and come back on `--resume`."""

from __future__ import annotations

import json

import pytest

from openprose.values import ErrorRecord, as_list, decode, encode, member, number, render, truthy

# ------------------------------------------------------------------ render


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text", "plain text"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        (-7, "-7"),
        (3.0, "3"),  # a whole float is shown without ".0"
        (-2.0, "-2"),
        (2.5, "2.5"),
    ],
)
def test_render_scalars(value: object, text: str) -> None:
    assert render(value) == text


def test_render_error_record_with_and_without_branch() -> None:
    assert render(ErrorRecord("boom", "b2")) == "[failed (branch b2)] boom"
    assert render(ErrorRecord("boom")) == "[failed] boom"


def test_render_collections_as_indented_json() -> None:
    value = {"name": "Zoë", "items": [1, None, True], "failed": ErrorRecord("x", "b")}
    text = render(value)
    assert json.loads(text) == {"name": "Zoë", "items": [1, None, True], "failed": {"error": "x", "branch": "b"}}
    assert "Zoë" in text  # not \u-escaped: a model reads this text
    assert "\n  " in text  # indented, for a reader


def test_render_list_of_text() -> None:
    assert json.loads(render(["a", "b"])) == ["a", "b"]


def test_error_record_as_dict() -> None:
    assert ErrorRecord("m", "b1").as_dict() == {"error": "m", "branch": "b1"}
    assert ErrorRecord("m").as_dict() == {"error": "m", "branch": None}


# ------------------------------------------------------- encode / decode


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        "[1, 2]",  # text that looks like JSON stays text
        '{"a": 1}',
        "null",
        "42",
        42,
        2.5,
        True,
        False,
        None,
        [1, "two", [3], {"four": 4}],
        {"nested": {"list": [None, False]}, "ünïcode": "ok"},
    ],
)
def test_encode_decode_round_trip(value: object) -> None:
    tag, text = encode(value)
    back = decode(tag, text)
    assert back == value
    assert type(back) is type(value)


def test_encode_tags_text_and_json() -> None:
    assert encode("hello") == ("text", "hello")
    assert encode(3) == ("json", "3")
    assert encode(None) == ("json", "null")
    tag, text = encode({"k": "é"})
    assert tag == "json" and "é" in text


def test_error_record_round_trips_as_its_record() -> None:
    tag, text = encode([ErrorRecord("lost", "b1"), "ok"])
    assert decode(tag, text) == [{"error": "lost", "branch": "b1"}, "ok"]


def test_decode_unknown_tag_is_text() -> None:
    assert decode("text", "[1]") == "[1]"
    assert decode("something-else", "raw") == "raw"


def test_a_float_that_is_whole_keeps_its_value() -> None:
    tag, text = encode(3.0)
    assert decode(tag, text) == 3.0


# ---------------------------------------------------------------- as_list


def test_as_list_of_a_list_is_the_same_list() -> None:
    items = [1, 2]
    assert as_list(items) is items


def test_as_list_none_is_empty() -> None:
    assert as_list(None) == []


def test_as_list_of_a_record_is_key_value_pairs() -> None:
    assert as_list({"a": 1, "b": [2]}) == [{"key": "a", "value": 1}, {"key": "b", "value": [2]}]


def test_as_list_of_a_number_counts_from_zero() -> None:
    assert as_list(3) == [0, 1, 2]
    assert as_list(2.9) == [0, 1]
    assert as_list(0) == []


def test_as_list_of_a_bool_is_its_text() -> None:
    assert as_list(True) == ["true"]


def test_as_list_reads_a_json_array() -> None:
    assert as_list('  ["a", {"b": 1}, 3]  ') == ["a", {"b": 1}, 3]


def test_as_list_reads_a_fenced_json_array_inside_prose() -> None:
    text = 'Here are the topics:\n```json\n["alpha", "beta"]\n```\nHope that helps.'
    assert as_list(text) == ["alpha", "beta"]
    assert as_list('```\n[1, 2]\n```') == [1, 2]


def test_as_list_splits_lines_and_removes_bullets_and_numbers() -> None:
    text = "- one\n* two\n• three\n1. four\n2) five\n\n   \nsix\n"
    assert as_list(text) == ["one", "two", "three", "four", "five", "six"]


def test_as_list_keeps_a_leading_decimal_number() -> None:
    # "1.5" is not list numbering: numbering needs a space after the dot.
    assert as_list("1.5 apples\n2.25 pears") == ["1.5 apples", "2.25 pears"]


def test_as_list_broken_json_falls_back_to_lines() -> None:
    assert as_list("[not json\nsecond") == ["[not json", "second"]


def test_as_list_json_that_is_not_an_array_is_lines() -> None:
    assert as_list('{"a": 1}') == ['{"a": 1}']


def test_as_list_of_empty_text_is_empty() -> None:
    assert as_list("") == []
    assert as_list("  \n\n ") == []


# ----------------------------------------------------------------- truthy


@pytest.mark.parametrize(
    "answer",
    ["yes", "Yes, keep it.", "y", "TRUE", "keep", "include", "1", "pass", "ok", "**Yes** because", "maybe so"],
)
def test_truthy_text_that_keeps(answer: str) -> None:
    assert truthy(answer) is True


@pytest.mark.parametrize(
    "answer",
    ["no", "No.", "n", "false", "drop it", "exclude", "0", "fail", "skip", "none", "None of them", "", "  ...  "],
)
def test_truthy_text_that_drops(answer: str) -> None:
    assert truthy(answer) is False


def test_truthy_only_the_first_word_decides() -> None:
    assert truthy("yes, not no") is True
    assert truthy("no, yes") is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        (ErrorRecord("x"), False),
        (0, False),
        (0.0, False),
        (2, True),
        (-1, True),
        ([], False),
        ([0], True),
        ({}, False),
        ({"a": 0}, True),
    ],
)
def test_truthy_non_text(value: object, expected: bool) -> None:
    assert truthy(value) is expected


# ----------------------------------------------------------------- number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (2.5, 2.5),
        ("42", 42.0),
        ("score: 7.5 / 10", 7.5),
        ("-3 degrees", -3.0),
        ("no digits", None),
        ("", None),
        (True, None),  # a bool is not a number here
        (False, None),
        (None, None),
        ([1], None),
    ],
)
def test_number(value: object, expected: float | None) -> None:
    result = number(value)
    assert result == expected
    if expected is not None:
        assert isinstance(result, (int, float)) and not isinstance(result, bool)


# ----------------------------------------------------------------- member


def test_member_of_a_record() -> None:
    assert member({"summary": "s", "n": 0}, "summary") == "s"
    assert member({"n": 0}, "n") == 0
    assert member({"n": 0}, "missing") is None


def test_member_of_an_error_record() -> None:
    failed = ErrorRecord("went wrong", "b3")
    assert member(failed, "error") == "went wrong"
    assert member(failed, "branch") == "b3"
    assert member(failed, "other") is None


def test_member_of_json_text() -> None:
    assert member('  {"summary": "short", "n": [1]}  ', "summary") == "short"
    assert member('{"n": [1]}', "n") == [1]


@pytest.mark.parametrize("value", ["plain text", "{not json", "[1, 2]", '["{"]', None, 3, [{"a": 1}]])
def test_member_of_anything_else_is_none(value: object) -> None:
    assert member(value, "a") is None


# ------------------------------------------------- bugs found while testing


@pytest.mark.parametrize("answer", ["Nope.", "nah", "Never", "Not relevant", "not a match"])
def test_truthy_common_negative_answers_drop(answer: str) -> None:
    # A filter session answering "Nope." or "Not relevant" used to keep the item:
    # only an unknown first word counts as "keep".
    assert truthy(answer) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,000 results", 1000.0),
        ("about 12,345,678 people", 12345678.0),
        ("-2,500.5 net", -2500.5),
        ("1,2,3", 1.0),  # not thousands: a list, whose first number is 1
        ("100,20", 100.0),
    ],
)
def test_number_reads_thousands_separators(text: str, expected: float) -> None:
    # "1,000" used to read as 1.
    assert number(text) == expected


def test_number_thousands_need_groups_of_three() -> None:
    assert number("1,2345") == 1.0
    assert number("12345,678") == 12345.0
