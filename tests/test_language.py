"""Question language detection (script and stopwords, offline) and what it changes in answers."""

from __future__ import annotations

import pytest

from rag.language import detect_language

SPANISH_Q = "¿Cómo equilibra Tower+ la calidad de la traducción con la capacidad de chat general?"


@pytest.mark.parametrize("text, code", [
    (SPANISH_Q, "es"),
    ("Comment Tower+ équilibre-t-il la qualité de la traduction et le chat ?", "fr"),
    ("Wie funktioniert CodeT5+ und welche Aufgaben unterstützt es?", "de"),
    ("Qual é o CodeT5+ e que tarefas suporta?", "pt"),
    ("CodeT5+ 是什么？", "zh"),
    ("Что такое CodeT5+?", "ru"),
    ("How does Tower+ balance translation quality with general chat ability?", "en"),
    ("which languages does it cover?", "en"),
    ("Tower+", "en"),
    ("", "en"),
])
def test_detect_language(text, code):
    assert detect_language(text) == code


def test_a_question_in_spanish_gets_an_english_answer_that_says_so(engine):
    answer = engine.ask(SPANISH_Q)
    assert answer.language == "es" and answer.mode == "extractive"
    assert "Spanish" in answer.notice and "abstracts are in English" in answer.notice
    assert engine.ask("How does Tower+ balance translation quality with general chat ability?").notice == ""


def test_a_capable_model_is_asked_to_answer_in_the_questions_language():
    from rag.answer.prompt import system_prompt

    assert "write the answer in Spanish" in system_prompt(3, "es")
    assert "write the answer in" not in system_prompt(3, "en")
