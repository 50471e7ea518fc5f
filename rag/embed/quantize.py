"""The int8 model for ingest batches: ONNX Runtime dynamic quantization of the fp32 export.

Why: embedding every chunk is nearly all of ``rag ingest``. On this project's 2-core AVX2 machine
(no VNNI) the int8 graph run in short batches on one-thread sessions took about half the CPU time of
torch at the default 64-text batches (measured in docs/performance.md). Its vectors are not the fp32
ones: the cosine to the fp32 vector of the same chunk is >= 0.98 on the bundled corpus (min 0.987,
mean 0.993 over its 699 chunks), which is why only ingest batches use it and queries and answer
sentences stay fp32 (see :mod:`rag.embed.embedder` and the index record in :mod:`rag.embed.record`).

Dynamic quantization scales the activations per run, so a chunk's int8 vector also depends slightly on
the other texts of its run. Runs are made deterministically from the pipeline's batches (length-sorted,
in order), so the same ingest gives the same vectors, serial or on Ray.

The settings were chosen on the cosine to fp32 alone (no evaluation questions involved):

* only ``MatMul`` nodes with a constant weight (``MatMulConstBOnly``): quantizing the attention's
  activation x activation products and the embedding ``Gather`` cost most of the accuracy
  (mean cosine 0.941) for no speed;
* ``per_channel`` int8 weights: one scale per output column (mean cosine 0.993 against 0.942 with one
  scale per tensor), at the same speed.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Cosine between an int8 and the fp32 vector of the same text that the tests hold the export to.
#: Measured on the bundled corpus: min 0.987, mean 0.993 over its 699 chunks (the tolerance leaves a little margin).
MIN_COSINE_TO_FP32 = 0.98
#: In the file name: a change of the quantization settings below makes a new file, never reuses an old one.
RECIPE = "int8-matmul-perchannel-v1"


def int8_export_path(fp32_file: Path) -> Path:
    """The int8 file lives beside the fp32 export it is made from, so it follows the weights' stamp."""
    return fp32_file.with_name(f"model.{RECIPE}.onnx")


def quantize_int8(fp32_file: Path, target: Path) -> Path:
    """Write the dynamically quantized int8 copy of ``fp32_file`` to ``target`` (atomic; ~3 s, once)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    quantize_dynamic(
        str(fp32_file), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    os.replace(tmp, target)  # concurrent quantizers each write their own tmp file; last rename wins
    return target
