"""``python -m rag.bench probe QUERIES.json [RETRIEVER]``: the latency probe :func:`rag.bench.probes.run_probe` starts."""

import json
import sys
from pathlib import Path

from rag.bench.probes import probe

if len(sys.argv) in (3, 4) and sys.argv[1] == "probe":
    print(json.dumps(probe(json.loads(Path(sys.argv[2]).read_text()), retriever=(sys.argv[3:] or ["hybrid"])[0])))
else:
    sys.exit("usage: python -m rag.bench probe QUERIES.json [hybrid|dense|bm25]   (the benchmark itself is `rag bench`)")
