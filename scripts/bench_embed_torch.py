"""The reference side of `doctown bench embed`: sentence-transformers on the CPU.

Reads {model_dir, threads, batch_size, rounds, sets: [{tokens, texts}]} as JSON on stdin,
embeds each set (best of `rounds`, after a warm-up) with the same thread count, and prints
{lengths: [{tokens, seconds}], peak_rss_kib} as JSON.
"""

import json
import resource
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job["threads"])
    model = SentenceTransformer(job["model_dir"], device="cpu")
    model.max_seq_length = 256
    model.encode(["def warm_up(): pass"], batch_size=1)
    out = []
    for s in job["sets"]:
        best = float("inf")
        for _ in range(job["rounds"]):
            started = time.perf_counter()
            model.encode(s["texts"], batch_size=job["batch_size"], normalize_embeddings=True)
            best = min(best, time.perf_counter() - started)
        out.append({"tokens": s["tokens"], "seconds": best})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"lengths": out, "peak_rss_kib": peak}))


if __name__ == "__main__":
    main()
