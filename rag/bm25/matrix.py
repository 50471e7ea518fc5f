"""Score a bm25s index from stored token ids, vectorised.

Why not ``bm25s.BM25.index``: it loops in Python over documents (doc frequencies with a set per document,
then term frequencies per document): 62 s for 1M synthetic documents on this machine, before the token
lists are even built from storage. The same numbers come out of a few numpy passes over one flat array:
(document, token) pairs counted with ``np.unique``, document frequencies with ``np.bincount``. The scoring
formulas are bm25s's own functions (``_select_idf_scorer`` / ``_select_tfc_scorer``) and the result is
installed into a ``bm25s.BM25`` object, so retrieval, saving and memory-mapped loading stay bm25s's.
tests/bm25/test_matrix.py checks the result against ``bm25s.BM25.index`` on a real corpus.
"""

from __future__ import annotations

from typing import Any

#: bm25s appends this empty token so that a query with no known token still has a column to score.
EMPTY = ""


def score(flat, lens, vocab: dict[str, int]) -> Any:
    """A ``bm25s.BM25`` over documents whose token ids are ``flat`` split by ``lens`` (ids index ``vocab``)."""
    import bm25s
    import numpy as np
    from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

    model = bm25s.BM25()
    vocab = dict(vocab)
    vocab.setdefault(EMPTY, len(vocab))
    n_docs, n_vocab = len(lens), len(vocab)
    lens = np.asarray(lens, dtype=np.int64)
    avg_len = float(lens.mean()) if n_docs else 0.0
    # Each (token, document) pair once, with its count. One sort of a token-major key gives both the counts
    # and the compressed-sparse-column order (one column per token, documents ascending within it).
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
    keys, tf = np.unique(np.asarray(flat, dtype=np.int64) * max(n_docs, 1) + doc, return_counts=True)
    del doc
    tokens, docs = np.divmod(keys, max(n_docs, 1))
    del keys
    df = np.bincount(tokens, minlength=n_vocab)
    idf_of = _select_idf_scorer(model.idf_method or model.method)
    idf = np.zeros(n_vocab, dtype=model.dtype)
    for token in np.flatnonzero(df):  # one call per vocabulary entry, as bm25s does
        idf[token] = idf_of(int(df[token]), N=n_docs)
    tfc = _select_tfc_scorer(model.method)(tf_array=tf.astype(model.dtype), l_d=lens[docs], l_avg=avg_len,
                                           k1=model.k1, b=model.b, delta=model.delta)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    model.scores = {"data": (idf[tokens] * tfc).astype(model.dtype), "indices": docs.astype(model.int_dtype),
                    "indptr": indptr, "num_docs": n_docs}
    model.vocab_dict = vocab
    model.unique_token_ids_set = set(vocab.values())
    model.nonoccurrence_array = None  # only BM25L and BM25+ use one; bm25s's default (lucene) does not
    return model
