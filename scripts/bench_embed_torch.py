"""The reference side of `doctown bench embed`: sentence-transformers on the CPU.

Reads JSON lines on stdin: first {model_dir, threads, batch_size}, then one {texts} per round,
each answered at once with {seconds} on stdout, so the caller can alternate its own rounds with
these; at the end of input it prints {peak_rss_kib}.
"""

import json
import resource
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def reply(value):
    print(json.dumps(value), flush=True)


def main():
    job = json.loads(sys.stdin.readline())
    torch.set_num_threads(job["threads"])
    model = SentenceTransformer(job["model_dir"], device="cpu")
    model.max_seq_length = 256
    model.encode(["def warm_up(): pass"], batch_size=1)
    reply({"ready": True})
    for line in sys.stdin:
        texts = json.loads(line)["texts"]
        started = time.perf_counter()
        model.encode(texts, batch_size=job["batch_size"], normalize_embeddings=True)
        reply({"seconds": time.perf_counter() - started})
    reply({"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


if __name__ == "__main__":
    main()
