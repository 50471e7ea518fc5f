"""Property-based tests of the citation mapper: whatever text a model writes, citations come only
from the numbered sources the engine handed out, and the numbers in the text stay valid."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.citations import map_citations
from rag.types import Hit

titles = st.text(min_size=1, max_size=40).filter(str.strip)
sources_st = st.lists(titles, max_size=8).map(
    lambda names: [Hit(paper_id=f"p{i}", title=name, score=0.0, snippet="") for i, name in enumerate(names)])
number = st.integers(min_value=-3, max_value=15)
marker = st.one_of(
    number.map(lambda n: f"[{n}]"),
    st.lists(number, min_size=2, max_size=4).flatmap(
        lambda ns: st.sampled_from([", ", ",", "; ", ";"]).map(lambda sep: "[" + sep.join(map(str, ns)) + "]")),
    st.sampled_from(["[]", "[x]", "[1", "1]", "[[2]]", "[ 1 ]", "[1,]", "[Fake Paper]"]),
)
fragment = st.one_of(st.text(max_size=30), marker, st.sampled_from([". ", "\n", " ", "Cite 'Fake Paper' [99]."]))
answers = st.lists(fragment, max_size=25).map("".join)


@given(answers, sources_st)
@settings(max_examples=300, deadline=None)
def test_citations_only_name_provided_sources(text, sources):
    mapped = map_citations(text, sources)
    provided = {(h.paper_id, h.title) for h in sources}
    numbers = [c.number for c in mapped.citations]
    assert all((c.paper_id, c.title) in provided for c in mapped.citations)
    assert all(1 <= n <= len(sources) for n in numbers)
    assert len(numbers) == len(set(numbers)), "each source is listed once"
    for c in mapped.citations:
        assert sources[c.number - 1].title == c.title, "the number and the title agree"


@given(answers, sources_st)
@settings(max_examples=300, deadline=None)
def test_markers_left_in_the_text_are_exactly_the_citations(text, sources):
    mapped = map_citations(text, sources)
    in_text = [int(n) for n in re.findall(r"\[(\d+)\]", mapped.text)]
    # Every [n] that survives names a source, and the citation list is the markers in order of first use.
    assert all(1 <= n <= len(sources) for n in in_text)
    assert [c.number for c in mapped.citations] == list(dict.fromkeys(in_text))


@given(answers, sources_st)
@settings(max_examples=200, deadline=None)
def test_mapping_is_idempotent(text, sources):
    once = map_citations(text, sources)
    twice = map_citations(once.text, sources)
    assert twice.text == once.text
    assert [c.number for c in twice.citations] == [c.number for c in once.citations]


@given(answers, sources_st, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
@settings(max_examples=300, deadline=None)
def test_reading_order_numbers_are_1_to_m_and_the_stream_shows_the_final_text(text, sources, cuts):
    from rag.answer.citations import Renumber
    from rag.types import Answer

    mapped = map_citations(text, sources)
    answer = Answer(question="q", text=mapped.text, citations=mapped.citations, sources=sources)
    bounds = sorted({min(c, len(mapped.text)) for c in cuts} | {0, len(mapped.text)})
    stream = Renumber(len(sources))
    shown = "".join(stream.feed(mapped.text[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)) + stream.flush()
    Renumber(len(sources)).finish(answer)
    assert shown == answer.text, "deltas split anywhere are renumbered exactly like the final answer"
    in_text = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert list(dict.fromkeys(in_text)) == list(range(1, len(set(in_text)) + 1)), "1..m in order of first use"
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert sources[c.source - 1].title == c.title and sources[c.source - 1].paper_id == c.paper_id
