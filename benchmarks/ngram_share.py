"""How often a completion copies its prompt: the case for drafting tokens from prompt n-grams.
Writes benchmarks/ngram_share.json.

    python benchmarks/ngram_share.py RUN_DIR [RUN_DIR ...] [--n 3,4,8]

Reads the cached replies of real runs (every lm_samples row, with its lm_calls request) through
the store, keeps those of the model the first run names (`--model` to choose), tokenises each
request's prompt as the engine does (the model's chat template, `ChatPrompt.render`) and each
reply with the model's own tokenizer (loaded without weights through `load_llama`), and counts,
for n in `--n`, the completion tokens t_j whose preceding n-1 tokens (within the reply) occur
in the prompt followed by t_j: the tokens that prompt-lookup drafting with an (n-1)-token key
could have proposed. `also_own_text` counts the same with the reply's own earlier tokens
searched too. `mean_run` is the mean length of a maximal run of such tokens: what one verify
step could accept at best, were every draft the right one.

`--verify-check K` (loads the weights) asks whether drafting could keep the engine's samples:
a draft is verified by decoding it as several tokens of one sequence in one batch, so the
logits of a verify batch must equal, bit for bit, those of the same tokens decoded one per step
(the engine's way). It decodes the most sent prompt, then K greedy tokens one per step, and
again for each draft length d in 0..K-1 the same tokens in batches of d + 1 (d = 0, one per
step again, is the control), and compares the logits rows (`verify_identical_by_draft_length`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from engine import load
from machine import machine

from selftaught.lm.llamacpp_batch import ChatPrompt
from selftaught.store import RunReader

OUT = Path(__file__).resolve().parent / "ngram_share.json"


def replies(run_dirs: list[Path]) -> list[dict[str, Any]]:
    """(model, system, user, response) of every cached sample of the runs."""
    found = []
    for run_dir in run_dirs:
        with RunReader.open(run_dir) as reader:
            requests = {
                row["request_key"]: json.loads(row["request"])
                for row in reader.rows("lm_calls", "request_key", "request")
            }
            for row in reader.rows("lm_samples", "request_key", "response"):
                request = requests.get(row["request_key"])
                if request is not None:
                    found.append({**request, "response": row["response"], "run": str(run_dir)})
    return found


def continued(prompt: list[int], reply: list[int], n: int, own: bool) -> list[bool]:
    """For each reply token: does its (n-1)-token context occur in the prompt (and, with `own`,
    earlier in the reply) followed by it?"""
    follows: dict[tuple[int, ...], set[int]] = defaultdict(set)
    for i in range(len(prompt) - n + 1):
        follows[tuple(prompt[i : i + n - 1])].add(prompt[i + n - 1])
    hits = []
    for j in range(len(reply)):
        key = tuple(reply[j - n + 1 : j]) if j >= n - 1 else None
        hits.append(key is not None and reply[j] in follows.get(key, ()))
        if own and j >= n - 1:
            follows[key].add(reply[j])  # type: ignore[index]
    return hits


def runs_of(hits: list[bool]) -> list[int]:
    out, length = [], 0
    for hit in [*hits, False]:
        if hit:
            length += 1
        elif length:
            out.append(length)
            length = 0
    return out


def measure(samples: list[dict[str, Any]], llm: Any, sizes: list[int]) -> dict[str, Any]:
    chat = ChatPrompt.of(llm)
    assert chat is not None, "the model file has no chat template"
    prompts: dict[tuple[str, str], list[int]] = {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lengths: dict[str, list[int]] = defaultdict(list)
    total = 0
    for sample in samples:
        key = (sample["system"], sample["user"])
        if key not in prompts:
            prompts[key] = chat.render(*key)[0]
        reply = llm.tokenize(sample["response"].encode("utf-8"), add_bos=False, special=False)
        total += len(reply)
        for n in sizes:
            for own in (False, True):
                hits = continued(prompts[key], reply, n, own)
                name = f"n={n}" + (" also_own_text" if own else "")
                counts[name][0] += sum(hits)
                lengths[name].extend(runs_of(hits))
    return {
        "samples": len(samples),
        "distinct_prompts": len(prompts),
        "completion_tokens": total,
        "by_n": {
            name: {
                "continuing_tokens": hit,
                "share": round(hit / total, 3) if total else None,
                "mean_run": round(sum(lengths[name]) / len(lengths[name]), 2)
                if lengths[name]
                else None,
            }
            for name, (hit, _) in counts.items()
        },
    }


def verify_check(llm: Any, prompt: list[int], k: int, threads: int) -> dict[int, dict[str, Any]]:
    """For draft lengths d = 0..k-1: are the logits of k tokens decoded d + 1 at a time equal to
    those decoded one at a time, as the engine's context decodes them? (d = 0, one at a time
    again, is the control: it must be.)"""
    import llama_cpp
    import numpy as np
    from llama_cpp import _internals

    from selftaught.lm.engine import PROMPT_CHUNK

    params = llama_cpp.llama_context_default_params()
    params.n_ctx = len(prompt) + k + 8
    params.n_batch = params.n_ubatch = PROMPT_CHUNK
    params.n_seq_max, params.kv_unified = 1, False
    params.n_threads = params.n_threads_batch = threads
    params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    context = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
    batch = _internals.LlamaBatch(n_tokens=PROMPT_CHUNK, embd=0, n_seq_max=1, verbose=False)
    vocab = llm.n_vocab()

    def decode(tokens: list[int], start: int) -> np.ndarray:
        """Decode tokens at positions start.. of sequence 0; their logits rows."""
        batch.batch.n_tokens = len(tokens)
        for i, token in enumerate(tokens):
            batch.batch.token[i], batch.batch.pos[i] = token, start + i
            batch.batch.n_seq_id[i], batch.batch.seq_id[i][0] = 1, 0
            batch.batch.logits[i] = True
        assert llama_cpp.llama_decode(context.ctx, batch.batch) == 0
        rows = llama_cpp.llama_get_logits(context.ctx)
        return np.ctypeslib.as_array(rows, shape=(len(tokens), vocab)).copy()

    def fresh() -> None:
        llama_cpp.llama_memory_seq_rm(context.memory, 0, -1, -1)
        for start in range(0, len(prompt) - 1, PROMPT_CHUNK):  # as the engine: the last token
            decode(prompt[start : min(start + PROMPT_CHUNK, len(prompt) - 1)], start)  # steps

    fresh()
    fed, single = [prompt[-1]], []
    for i in range(k):
        single.append(decode([fed[-1]], len(prompt) - 1 + i)[0])
        fed.append(int(single[-1].argmax()))
    same = {}
    for d in range(k):
        fresh()
        rows = []
        for start in range(0, k, d + 1):
            rows.extend(decode(fed[start : min(start + d + 1, k)], len(prompt) - 1 + start))
        pairs = list(zip(rows, single, strict=True))
        same[d] = {
            "identical": all(np.array_equal(a, b) for a, b in pairs),
            "max_abs_logit_difference": float(max(np.abs(a - b).max() for a, b in pairs)),
            "same_greedy_tokens": all(a.argmax() == b.argmax() for a, b in pairs),
        }
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--n", default="3,4,8")
    parser.add_argument("--model", help="the model identity's file name (default: the first's)")
    parser.add_argument("--gguf", type=Path, help="the model file (default: the embedded one's)")
    parser.add_argument("--verify-check", type=int, default=0, metavar="K")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from selftaught.lm.embedded import models_dir
    from selftaught.lm.llamacpp import load_llama

    samples = replies(args.runs)
    file_of = {s["model"]: s["model"].split(":", 1)[1].split("@", 1)[0] for s in samples}
    wanted = args.model or next((f for f in file_of.values() if f.endswith(".gguf")), None)
    if wanted is None:
        raise SystemExit("no llamacpp replies in these runs; give runs of an embedded model")
    samples = [s for s in samples if file_of[s["model"]] == wanted]
    path = args.gguf or models_dir() / wanted
    if not path.is_file():
        raise SystemExit(f"{path} not found; give the model file with --gguf PATH")
    llm = load_llama(path, 512, 1, vocab_only=True)
    result: dict[str, Any] = {"machine": machine(), "load_average_start": load()}
    result.update(model=wanted, runs=sorted({s["run"] for s in samples}))
    result.update(measure(samples, llm, [int(x) for x in args.n.split(",")]))
    if args.verify_check:
        from collections import Counter

        top = Counter((s["system"], s["user"]) for s in samples).most_common(1)[0][0]
        full = load_llama(path, 512, args.threads)
        prompt = ChatPrompt.of(full).render(*top)[0]  # type: ignore[union-attr]
        same = verify_check(full, prompt, args.verify_check, args.threads)
        result["verify_identical_by_draft_length"] = same
    result["load_average_end"] = load()
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print(file=sys.stdout)


if __name__ == "__main__":
    main()
