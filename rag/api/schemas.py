"""The API's request and response shapes (pydantic), and the answer-mode names a client may ask for.

The published OpenAPI schema is generated from these models, so they are the contract with clients.
The mode names come from the LLM backend registry (:mod:`rag.llm.registry`), like every other mode list.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from rag.config import LLMMode
from rag.llm import mode_help, mode_names
from rag.types import Filters

#: The model id OpenAI clients use; ``paperchat-<mode>`` picks an answer mode (see ``/v1/models``).
MODEL_ID = "paperchat"
#: The answer modes a request may name (``AskRequest.llm``, ``paperchat-<mode>``).
AnswerMode = LLMMode


def mode_for(model: str) -> tuple[str, str | None]:
    """(model id to echo, answer mode): ``paperchat-local`` forces local mode; other names use the default."""
    if model.startswith(MODEL_ID + "-"):
        mode = model[len(MODEL_ID) + 1:]
        if mode in mode_names():
            return model, mode
    return MODEL_ID, None


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error shape, so OpenAI SDKs show ``message`` as the exception text."""

    error: ErrorDetail


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


Year = Field(None, ge=1, le=9999, description="Inclusive year bound on the paper's date.")


class FilterFields(BaseModel):
    # Strict: JSON true is not the year 1, nor 1 a true (pydantic's lax mode would take both)
    year_from: StrictInt | None = Year
    year_to: StrictInt | None = Year
    sources: list[str] = Field(default_factory=list, description="Corpus file names to restrict to.")

    def filters(self) -> Filters | None:
        filters = Filters.years(self.year_from, self.year_to, self.sources)
        return None if filters.is_empty() else filters


class ChatRequest(FilterFields):
    """OpenAI's chat request; sampling options are accepted and ignored, paperchat options are extra."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: StrictBool = False
    k: StrictInt | None = Field(None, ge=1, le=50, description="Papers handed to the answerer (paperchat extension).")


class SearchRequest(FilterFields):
    query: str
    k: StrictInt = Field(10, ge=1, le=50)


class AskRequest(FilterFields):
    question: str
    k: StrictInt | None = Field(None, ge=1, le=50)
    llm: AnswerMode | None = Field(None, description="Answer mode (default RAG_LLM): " + "; ".join(
        f"{mode} = {words}" for mode, words in mode_help().items()) + ".")


class IngestRequest(BaseModel):
    """Papers to add: uploaded ``records`` and/or server ``paths`` inside RAG_INGEST_ROOT."""

    records: list[dict[str, Any]] = Field(default_factory=list, max_length=100_000, description=(
        "Papers as JSON objects: title, abstract, and optionally authors, date, upvotes, url."))
    source: str = Field("upload.jsonl", max_length=200, description="Source label stored with uploaded records.")
    paths: list[str] = Field(default_factory=list, max_length=1000, description=(
        "Files or folders on the server, relative to RAG_INGEST_ROOT or absolute inside it."))
    prune: StrictBool = Field(False, description="Remove papers whose sources are all named by this request but which "
                                           "it no longer contains.")


class EmbeddingRequest(BaseModel):
    """OpenAI's embeddings request. ``input`` is checked by hand so a bad one gets a one-line 400."""

    model_config = ConfigDict(extra="allow")
    input: Any = Field(..., description="A string or a list of strings (token arrays are not supported).")
    model: str = Field(..., description="The served model, e.g. all-MiniLM-L6-v2 (see GET /v1/models).")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = Field(None, ge=1)
    user: str | None = None


class EmbeddingItem(BaseModel):
    object: str = "embedding"
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 of little-endian float32 (encoding_format).")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: str = "list"
    data: list[EmbeddingItem]
    model: str
    usage: EmbeddingUsage


class SearchHit(BaseModel):
    title: str
    paper_id: str
    score: float
    snippet: str
    dense: float
    bm25: float
    date: str
    authors: int | None
    upvotes: int | None
    url: str
    sources: list[str]


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


class CitationOut(BaseModel):
    """A cited paper; the same shape as ``Citation.to_dict`` everywhere (CLI, Python, UI)."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "n": 1, "title": "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs",
        "paper_id": "3f1c…", "url": "https://arxiv.org/search/?searchtype=title&query=Tower%2B", "date": "2025-06-20",
        "authors": 7}})
    n: int = Field(description="The [n] marker in the answer text (1..m in order of first use).")
    title: str
    paper_id: str
    url: str = Field(description="The paper's own URL when the corpus gives one, else an arXiv title search.")
    date: str | None = Field(None, description="ISO date, when known.")
    authors: int | None = Field(None, description="Number of authors, when known.")


class Usage(BaseModel):
    """Tokens counted with tiktoken (cl100k_base): the client's messages and the returned content."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class SourceOut(BaseModel):
    title: str
    paper_id: str
    score: float
    snippet: str


class AskResponse(BaseModel):
    question: str
    answer: str
    citations: list[CitationOut]
    sources: list[SourceOut]
    refused: bool
    mode: str
    model: str
    notice: str
    language: str = "en"
    timings_ms: dict[str, float]
    standalone_question: str = ""
    usage: Usage


class IngestResponse(BaseModel):
    added: int
    updated: int
    unchanged: int
    removed: int
    papers: int
    chunks: int
    seconds: float
    errors: list[str]


class Health(BaseModel):
    status: str
    papers: int
    chunks: int
    sources: list[str]
    index: str
    embed_model: str
    answer_mode: str


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str = "paperchat"


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: str = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[CitationOut] = Field(description="The cited papers, in the order of their [n] markers.")
    refused: bool = False
    notice: str = ""
    standalone_question: str = Field("", description="What was searched for: the question made standalone "
                                                       "from the conversation (paperchat extension).")
    usage: Usage
