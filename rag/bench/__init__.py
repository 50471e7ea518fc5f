"""``rag bench``: the speed figures of docs/performance.md, measured in one run on this machine.

* The same-work anchor (``anchor``): ``rag ingest`` of the bundled corpus beside a plain
  sentence-transformers encode of the same texts and llama-index's default pipeline, and the ratios.
* Re-ingest of the unchanged corpus in a new process (what a user types a second time).
* Hybrid search latency and peak memory at each index size, each in a fresh process (``probes``);
  sizes other than the corpus are synthetic (``synthetic``), with their Chroma insert and BM25 build times.
* Cold start (``rag search "x"`` in a new process) and the peak memory of ``rag serve``.
* Every target printed as met or missed (``report``).

Figures, not tests: the machine may be shared, so the load average is printed beside them.
"""

from rag.bench.run import main, run
from rag.bench.synthetic import build_synthetic

__all__ = ["main", "run", "build_synthetic"]
