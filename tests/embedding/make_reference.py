"""Reference vectors for the embedding parity test, computed by sentence-transformers.

Picks ~50 code snippets from the repository's own test fixtures (deterministically: sorted
files, slices of growing length, so the set spans a few tokens to past the 256-token limit)
plus a few edge cases, embeds them with sentence-transformers on the CPU, and writes
gpu-service/tests/data/reference.json: {model, max_seq_length, snippets: [{text, vector}]}.

Run: python tests/embedding/make_reference.py MODEL_DIR
(in an environment with sentence-transformers; MODEL_DIR is the all-MiniLM-L6-v2 folder, as
scripts/setup.sh lays it into the Hugging Face cache).
"""

import json
import pathlib
import sys

from sentence_transformers import SentenceTransformer

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "gpu-service" / "tests" / "data" / "reference.json"
EXTENSIONS = {".rs", ".py", ".go", ".js", ".ts", ".tsx"}
LINE_COUNTS = [1, 2, 3, 5, 8, 12, 20, 30, 45, 70]


def snippets():
    files = sorted(
        p for p in (ROOT / "tests" / "fixtures").rglob("*")
        if p.suffix in EXTENSIONS and p.is_file()
    )
    out = []
    for i, path in enumerate(files):
        lines = path.read_text(encoding="utf-8").splitlines()
        for j in (i, i + 5):
            n = LINE_COUNTS[j % len(LINE_COUNTS)]
            start = (j * 7) % (len(lines) - n) if len(lines) > n else 0
            text = "\n".join(lines[start:start + n]).strip()
            if text and text not in out:
                out.append(text)
    out = out[:45]
    out += [
        "",
        "x",
        "naïve café — 日本語のテキスト 😀 Ünïcödé",
        "fn " + "very_long_identifier_" * 200 + "() {}",
        "def f():\n\treturn {'a': [1, 2, 3]}  # tabs and\r\nCRLF",
    ]
    return out


def main():
    model_dir = sys.argv[1]
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = 256
    texts = snippets()
    vectors = model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": model.max_seq_length,
        "snippets": [
            {"text": t, "vector": [float(f"{x:.8g}") for x in v.tolist()]}
            for t, v in zip(texts, vectors)
        ],
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} reference vectors to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
