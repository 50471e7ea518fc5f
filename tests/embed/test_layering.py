"""The embedding layer sits below the answer layer: nothing in rag/embed/ imports rag.answer, not even lazily.

An import from embedding back up into answering is what made the two modules a circle before.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rag.embed


def test_embedding_imports_nothing_from_the_answer_layer():
    imported: set[str] = set()
    for path in Path(rag.embed.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {m for m in imported if m == "rag.answer" or m.startswith("rag.answer.")}
