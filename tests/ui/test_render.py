"""What the chat shows, without a browser: escaping, highlighting, cards, answer bubbles."""

from __future__ import annotations

from rag.types import Answer, Citation, Hit
from ui import render


def hit(pid: str, title: str, snippet: str = "A study of things.", **extra) -> Hit:
    return Hit(paper_id=pid, title=title, score=extra.pop("score", 0.03), snippet=snippet, **extra)


def test_query_terms_drop_stopwords_and_keep_names():
    assert render.query_terms("Which languages does Tower+ cover in 2025?") == ["languages", "tower+", "2025"]


def test_highlight_marks_terms_and_their_inflections_but_escapes_markup():
    out = render.highlight("Tower+ covers <b>language</b> pairs & more languages.", ["tower+", "languages"])
    assert out == ("<mark>Tower+</mark> covers &lt;b&gt;<mark>language</mark>&lt;/b&gt; pairs &amp; more "
                   "<mark>languages</mark>.")
    assert render.highlight("a <script>x</script>", []) == "a &lt;script&gt;x&lt;/script&gt;"


def test_excerpt_centres_on_the_sentence_with_the_query_terms():
    filler = " ".join(f"Sentence {i} is about nothing in particular." for i in range(30))
    text = f"{filler} Tower+ improves translation quality. {filler}"
    out = render.excerpt(text, ["tower+", "translation"], limit=200)
    assert "Tower+ improves translation quality." in out
    assert out.startswith("… ") and out.endswith(" …") and len(out) <= 204
    assert render.excerpt("Short text.", ["x"]) == "Short text."


def test_source_cards_show_facts_badges_links_and_escape_titles():
    answer = Answer(
        question="How does Tower+ translate?", text="It translates. [1]",
        citations=[Citation(title="Tower+", paper_id="a", number=1)],
        sources=[
            hit("a", "Tower+", "Tower+ translates well.", date="2025-06-20", authors=7, url="https://x.org/p?a=1&b=2",
                score=0.04),
            hit("b", "<img src=x onerror=alert(1)>", "Nothing relevant.", authors=1, score=0.01),
        ],
    )
    html = render.source_cards(answer)
    assert html.count('data-paper-id=') == 2 and "2 papers retrieved" in html and "1 cited in the answer" in html
    assert "cited [1]" in html and "not cited" in html
    assert "20 Jun 2025" in html and "7 authors" in html and "1 author<" not in html and "1 author" in html
    assert 'href="https://x.org/p?a=1&amp;b=2"' in html and 'rel="noopener"' in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert "<mark>Tower+</mark> <mark>translates</mark>" in html
    assert "score 0.0400" in html


def test_source_cards_without_hits_say_so():
    assert "No papers matched" in render.source_cards(Answer(question="q", text="", sources=[]))


def test_answer_markdown_lists_cited_titles_in_marker_order_with_notice():
    answer = Answer(
        question="q", text="B says so. [2] A agrees. [1]", mode="extractive", notice="LLM unreachable; showing quotes",
        citations=[Citation(title="Paper *B*", paper_id="b", number=2), Citation(title="Paper A", paper_id="a", number=1)],
        timings_ms={"total": 1234.0},
    )
    md = render.answer_markdown(answer)
    assert md.startswith("B says so. [2]"), "a notice never opens the answer"
    assert ">" not in md.split("<sub>")[0], "no block quote"
    assert md.index("[1] *Paper A*") < md.index("[2] *Paper \\*B\\**")
    assert md.endswith("<sub>extractive · 1.2 s · note: LLM unreachable; showing quotes</sub>")


def test_refusal_has_no_sources_block():
    md = render.answer_markdown(Answer(question="q", text="The indexed abstracts do not answer this question.", refused=True))
    assert "Sources" not in md


def test_errors_are_one_line():
    assert render.error_markdown("Chroma is down\nTraceback (most recent call last): ...") == "**Sorry:** Chroma is down"


def test_header_facts_and_empty_index_hint():
    stats = {"papers": 410, "chunks": 699, "sources": ["a.txt", "b.txt"], "embed_model": "all-MiniLM-L6-v2"}
    html = render.header(stats, "local")
    for fact in ("<b>410</b> papers", "<b>699</b> chunks", "<b>2</b> corpus files", "all-MiniLM-L6-v2", ">local<"):
        assert fact in html
    assert "rag ingest" in render.header({**stats, "papers": 0, "chunks": 0}, "extractive")
    assert "Chroma unreachable" in render.header(None, "extractive", "Chroma unreachable")
