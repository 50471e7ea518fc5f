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


def tower_answer(**extra) -> Answer:
    return Answer(
        question="How does Tower+ translate?", text="It translates. [1]", mode="extractive",
        citations=[Citation(title="Tower+", paper_id="a", number=1, url="https://x.org/p?a=1&b=2", date="2025-06-20",
                            authors=7, source=1)],
        sources=[
            hit("a", "Tower+", "Tower+ translates well.", date="2025-06-20", authors=7, url="https://x.org/p?a=1&b=2",
                score=0.04, abstract="Tower+ translates well. It also chats. " * 30),
            hit("b", "<img src=x onerror=alert(1)>", "Nothing relevant.", authors=1, score=0.01),
        ],
        timings_ms={"total": 1234.0}, **extra,
    )


def test_cards_show_facts_badges_links_full_abstract_copy_and_escape_titles():
    html = render.sources_panel([render.turn_from(tower_answer())])
    assert html.count('<article class="pc-card') == 2 and "2 papers retrieved" in html and "1 cited" in html
    assert "cited [1]" in html and "not cited" in html and 'id="pc-card-0-1"' in html and 'data-n="1"' in html
    assert "20 Jun 2025" in html and "7 authors" in html and "1 author<" not in html and "1 author" in html
    assert 'href="https://x.org/p?a=1&amp;b=2"' in html and 'rel="noopener noreferrer"' in html
    assert 'href="https://arxiv.org/search/?searchtype=title&amp;query=%3Cimg' in html, "no own URL: title search"
    assert "<img" not in html and "&lt;img src=x" in html
    assert "<mark>Tower+</mark> <mark>translates</mark>" in html
    assert "<details class=\"pc-more\"><summary>Full abstract</summary>" in html and html.count("It also chats.") == 30
    assert 'data-cite="Tower+ (2025). https://x.org/p?a=1&amp;b=2"' in html
    assert "score 0.0400" in html and "extractive · 1.2 s" in html


def test_each_turn_has_its_own_card_group_and_only_the_last_is_shown():
    turns = [render.turn_from(tower_answer()), render.turn_from(tower_answer())]
    html = render.sources_panel(turns)
    assert 'class="pc-turn" id="pc-turn-0"' in html and 'class="pc-turn pc-current" id="pc-turn-1"' in html


def test_sources_panel_without_hits_says_so():
    turn = render.turn_from(Answer(question="q", text="", sources=[]))
    assert "No papers matched" in render.sources_panel([turn])
    assert "Ask a question" in render.sources_panel([])


def test_message_text_is_plain_with_notes_and_sources_in_marker_order():
    answer = Answer(
        question="q", text="B says so. [1] A agrees. [2]", mode="extractive", notice="LLM unreachable; showing quotes",
        citations=[Citation(title="Paper A", paper_id="a", number=2), Citation(title="Paper *B*", paper_id="b", number=1)],
    )
    text = render.message_text(render.turn_from(answer))
    assert text.startswith("Note: LLM unreachable")
    assert text.index("- [1] Paper \\*B\\*") < text.index("- [2] Paper A")
    assert "<" not in text and "**" not in text and ">" not in text, "the copy button copies clean text"


def test_refused_filtered_question_explains_the_filter_first():
    turn = render.turn_from(Answer(question="q", text="The indexed abstracts do not answer this question.",
                                   refused=True), filter_note="Only papers dated 2021 were searched (3 papers).")
    text = render.message_text(turn)
    assert text.startswith("Filter: Only papers dated 2021") and "Sources" not in text
    assert '<div class="pc-filter-warn" role="note"><b>Filter active.</b> Only papers dated 2021' in render.sources_panel([turn])
    assert render.live_text(turn).startswith("Filter: Only papers dated 2021")


def test_live_text_is_plain_sentences():
    live = render.live_text(render.turn_from(tower_answer()))
    assert live == "Answer: It translates. Cites 1 paper: 1, Tower+."


def test_chat_messages_pair_questions_and_answers():
    messages = render.chat_messages([render.turn_from(tower_answer())])
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "How does Tower+ translate?" and "- [1] Tower+" in messages[1]["content"]


def test_errors_are_one_line():
    assert render.error_markdown("Chroma is down\nTraceback (most recent call last): ...") == "Sorry: Chroma is down"


def test_header_facts_and_empty_index_hint():
    stats = {"papers": 410, "chunks": 699, "sources": ["a.txt", "b.txt"], "embed_model": "all-MiniLM-L6-v2"}
    html = render.header(stats, "local")
    for fact in ("<b>410</b> papers", "<b>699</b> chunks", "<b>2</b> corpus files", "all-MiniLM-L6-v2", ">local<"):
        assert fact in html
    assert "rag ingest" in render.header({**stats, "papers": 0, "chunks": 0}, "extractive")
    assert "Chroma unreachable" in render.header(None, "extractive", "Chroma unreachable")


def test_searched_for_line_only_when_the_follow_up_was_rewritten():
    follow = Answer(question="what does it report?", text="It reports scaling. [1]",
                    standalone_question="what does <TorchTitan> report?")
    md = render.message_text(render.turn_from(follow))
    assert "searched for: what does \\<TorchTitan\\> report?" in md, "shown, and escaped"
    same = Answer(question="What is TorchTitan?", text="A system. [1]", standalone_question="What is TorchTitan?")
    assert "searched for" not in render.message_text(render.turn_from(same))
