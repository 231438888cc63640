"""The model for the CUDA bundle (scripts/build-cuda.sh): all-MiniLM-L6-v2 with the rows of its
token-embedding table that the parity texts never use set to zero, so the whole check fits one
call to a GPU host (64 MiB carried; the table alone is 47 MB of the model's 91 MB, and zero rows
compress to nothing).

A row is only ever read for a token the text holds, so every parity text embeds to the same bits
as with the full model; other texts keep their length, so speed figures are unchanged, but not
their vectors. Every other tensor, the tokenizer and the configuration are copied as they are.

Usage: python cuda_bundle_model.py MODEL_DIR REFERENCE_JSON OUT_DIR
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
from tokenizers import Tokenizer

TABLE = "embeddings.word_embeddings.weight"
# tests/parity.rs: the batch-invariance test's texts are the snippets with this line appended.
VARIANTS = 256


def parity_texts(reference):
    snippets = [s["text"] for s in json.loads(reference.read_text())["snippets"]]
    variants = [f"{snippets[i % len(snippets)]}\n// variant {i}" for i in range(VARIANTS)]
    return snippets + variants


def main():
    model, reference, out = (Path(a) for a in sys.argv[1:4])
    out.mkdir(parents=True, exist_ok=True)
    for f in model.rglob("*"):
        if f.is_file() and f.name != "model.safetensors":
            target = out / f.relative_to(model)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)

    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    tokenizer.no_truncation()
    used = {i for e in tokenizer.encode_batch(parity_texts(reference)) for i in e.ids}
    used |= set(tokenizer.get_added_tokens_decoder())  # [PAD], [CLS], [SEP], [UNK], [MASK]

    with safe_open(str(model / "model.safetensors"), "np") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    table = tensors[TABLE]
    keep = np.zeros(table.shape[0], dtype=bool)
    keep[sorted(used)] = True
    table[~keep] = 0
    save_file(tensors, str(out / "model.safetensors"), metadata=metadata)
    print(f"{out}: kept {keep.sum()} of {table.shape[0]} token rows (the parity texts' tokens)")


if __name__ == "__main__":
    main()
