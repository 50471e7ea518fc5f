"""``python -m rag.bench probe QUERIES.json``: the latency probe :func:`rag.bench.probes.run_probe` starts."""

import json
import sys
from pathlib import Path

from rag.bench.probes import probe

if len(sys.argv) == 3 and sys.argv[1] == "probe":
    print(json.dumps(probe(json.loads(Path(sys.argv[2]).read_text()))))
else:
    sys.exit("usage: python -m rag.bench probe QUERIES.json   (the benchmark itself is `rag bench`)")
