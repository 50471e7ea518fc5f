"""The search controls' values as engine arguments: every bad value is one readable BadQuestion."""

from __future__ import annotations

import pytest

from rag.errors import BadQuestion, RagError
from rag.llm import mode_help
from ui.controls import describe_filters, filters_from, mode_choices, valid_k, valid_mode


def test_year_controls_validate():
    assert filters_from("any", "", None) is None
    filters = filters_from("2024", 2025, ["002.txt"])
    assert (filters.date_from.isoformat(), filters.date_to.isoformat(), filters.sources) == ("2024-01-01", "2025-12-31",
                                                                                             ["002.txt"])
    with pytest.raises(RagError, match="date range is empty"):
        filters_from("2025", "2020", None)
    with pytest.raises(RagError, match="four-digit year"):
        filters_from("last year", None, None)


def test_filters_are_described_with_what_they_leave(engine):
    catalog = engine.catalog()
    text = describe_filters(filters_from("2025", "2025", ["001_6284347faf2a34e0.txt"]), catalog)
    assert text.startswith(f"Only papers dated 2025 were searched ({catalog['years']['2025']} papers)")
    assert f"the {catalog['papers'] - catalog['dated']} undated papers are left out" in text
    assert "the file Sep 9 listing" in text and text.endswith("search every paper.")
    assert describe_filters(None, catalog) == ""


@pytest.mark.parametrize("value, expected", [(5, 5), (5.0, 5), (" 7 ", 7), ("50", 50)])
def test_k_accepts_whole_numbers_in_range(value, expected):
    assert valid_k(value) == expected


@pytest.mark.parametrize("value", [0, 51, 2.5, "abc", True, None, [3]])
def test_k_rejects_anything_else_in_one_line(value):
    with pytest.raises(BadQuestion, match="k must be a whole number from 1 to 50"):
        valid_k(value)


def test_mode_must_be_one_the_engine_offers(engine):
    modes = engine.available_modes()
    assert valid_mode(modes[0], modes) == modes[0]
    with pytest.raises(BadQuestion, match="Unknown answer mode 'nonsense': choose one of"):
        valid_mode("nonsense", modes)
    labels = dict((mode, label) for label, mode in mode_choices(engine))
    assert list(labels) == modes
    assert all(mode_help()[m] in labels[m] for m in modes if m != "auto")
