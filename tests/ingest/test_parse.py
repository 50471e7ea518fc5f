from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import CorpusError
from rag.ingest.parse import detect_layout, load_corpus, parse_file
from rag.text import clean_text, normalize_title

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"


def _file(prefix: str) -> Path:
    return next(CORPUS.glob(f"{prefix}_*.txt"))


@pytest.mark.parametrize(
    ("prefix", "layout", "count"),
    [("000", "inline", 59), ("001", "blocks", 84), ("002", "blocks", 41), ("003", "inline", 189), ("004", "inline", 119)],
)
def test_bundled_layouts_parse_to_known_counts(prefix, layout, count):
    path = _file(prefix)
    assert detect_layout(path.read_text()) == layout
    papers = parse_file(path)
    assert len(papers) == count
    assert all(p.title and len(p.abstract) > 100 for p in papers)


def test_bundled_corpus_dedupes_to_410_unique_papers():
    papers, records = load_corpus([CORPUS])
    assert records == 492
    assert len(papers) == 410
    assert sum(len(p.sources) > 1 for p in papers) == 64


def test_inline_layout_first_title_is_glued_after_subscribe():
    first = parse_file(_file("000"))[0]
    assert first.title.startswith("Beyond Cosine Decay")
    assert "Subscribe" not in first.title


def test_block_layout_without_final_newline_keeps_last_abstract():
    path = _file("001")
    assert not path.read_bytes().endswith(b"\n")
    last = parse_file(path)[-1]
    assert last.abstract.endswith("github.com/salesforce/CodeT5 .")


def test_trailer_gives_authors_date_and_upvotes():
    papers = {p.title: p for p in parse_file(_file("002"))}
    first = papers["Multistain Pretraining for Slide Representation Learning in Pathology"]
    assert (first.authors, first.date, first.upvotes) == (10, date(2024, 8, 5), None)
    assert any(p.upvotes for p in papers.values()), "a date line with an upvote count exists"
    last = list(papers.values())[-1]
    assert (last.authors, last.date, last.upvotes) == (5, date(2024, 10, 14), 1)


def test_edge_cases_latex_digit_titles_and_cut_abstracts():
    papers, _ = load_corpus([CORPUS])
    by_title = {p.title: p for p in papers}
    assert "2 OLMo 2 Furious" in by_title
    assert "360Zhinao Technical Report" in by_title
    assert not any("\\%" in p.abstract or '\\"' in p.abstract for p in papers)
    assert any("TÜLU" in p.abstract for p in papers)
    assert any(p.abstract.endswith(",...") for p in papers)


def test_duplicates_keep_every_source_file():
    papers, _ = load_corpus([CORPUS])
    olmo = next(p for p in papers if p.title == "2 OLMo 2 Furious")
    assert sorted(s[:3] for s in olmo.sources) == ["000", "001"]


def test_layout_is_detected_from_content_not_name(write):
    inline = write("whatever.dat", "Header\nHeader 2\nSubscribeA Title\nAn abstract about things.\nB Title\nMore text.\n")
    assert [p.title for p in parse_file(inline)] == ["A Title", "B Title"]


def test_jsonl_and_csv(write):
    rows = [{"title": "Alpha", "abstract": "First abstract.", "authors": ["a", "b"], "date": "2024-02-03",
             "url": "https://x/1", "id": "1", "extra": 5},
            {"title": "Beta", "abstract": "Second abstract."}]
    jl = write("p.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    got = parse_file(jl)
    assert [p.title for p in got] == ["Alpha", "Beta"]
    assert (got[0].authors, got[0].date, got[0].url) == (2, date(2024, 2, 3), "https://x/1")
    csv_path = write("p.csv", 'title,abstract,date\nGamma,"An abstract, with a comma.",2023\n')
    (paper,) = parse_file(csv_path)
    assert paper.abstract == "An abstract, with a comma." and paper.date == date(2023, 1, 1)


def test_records_with_arxiv_ids_keep_a_link_to_the_paper(write):
    rows = [{"title": "A", "abstract": "x.", "arxiv_id": "2506.17080v2"},
            {"title": "B", "abstract": "y.", "id": "arXiv:2401.00001"},
            {"title": "C", "abstract": "z.", "arxiv": "hep-th/9901001"},
            {"title": "D", "abstract": "w.", "id": "42"},
            {"title": "E", "abstract": "v.", "url": "https://example.org/e", "arxiv_id": "2506.17080"}]
    got = parse_file(write("arxiv.jsonl", "\n".join(json.dumps(r) for r in rows)))
    assert [p.url for p in got] == ["https://arxiv.org/abs/2506.17080v2", "https://arxiv.org/abs/2401.00001",
                                    "https://arxiv.org/abs/hep-th/9901001", "", "https://example.org/e"]
    csv_path = write("arxiv.csv", "title,abstract,arxiv_id\nF,An abstract.,2310.12345\n")
    assert parse_file(csv_path)[0].url == "https://arxiv.org/abs/2310.12345"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", "", "file is empty"),
        ("blank.txt", "  \n\n", "file is empty"),
        ("bin.txt", b"\x00\x01\x02binary", "binary"),
        ("latin1.txt", "Subscribe Caf\xe9\n".encode("latin-1"), "not valid UTF-8"),
        ("bad.jsonl", '{"title": "A", "abstract": "ok"}\n{broken\n', "bad.jsonl:2: malformed JSON"),
        ("notitle.jsonl", '{"abstract": "x"}\n', "notitle.jsonl:1: record has no 'title'"),
        ("nocol.csv", "name,abstract\nA,b\n", "CSV has no 'title' column"),
    ],
)
def test_bad_input_names_file_and_line(write, name, content, message):
    path = write(name, content)
    with pytest.raises(CorpusError) as err:
        parse_file(path)
    assert message in str(err.value)
    assert name in str(err.value)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        load_corpus([tmp_path / "nope"])


def test_title_normalization_folds_case_punctuation_and_latex():
    assert normalize_title('T\\"ULU 3:  Pushing') == normalize_title("tülu 3 pushing")
    assert clean_text("71\\% of {D}en{o}ising") == "71% of Denoising"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=200)), max_size=5))
def test_jsonl_parser_never_crashes_with_anything_but_corpus_error(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("h") / "x.jsonl"
    path.write_text("\n".join(json.dumps({"title": t, "abstract": a}) for t, a in records), encoding="utf-8")
    try:
        papers = parse_file(path)
    except CorpusError:
        return
    assert all(p.title and p.abstract for p in papers)
