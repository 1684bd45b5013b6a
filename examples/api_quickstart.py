"""The shortest STOP run from Python: the embedded model, the quick preset, one iteration.

    python examples/api_quickstart.py                      # the embedded model, a few minutes
    python examples/api_quickstart.py --model openai:MODEL --base-url http://127.0.0.1:8080/v1

See docs/api.md for the whole API.
"""

from __future__ import annotations

import argparse

import selftaught


def main(argv: list[str] | None = None) -> selftaught.Run:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llamacpp", help="a model spec (default: embedded)")
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible server")
    parser.add_argument("--run-dir", default=None, help="where the run is recorded")
    parser.add_argument("--max-tokens", type=int, default=None, help="tokens per response")
    parser.add_argument("--iterations", type=int, default=1, help="STOP iterations T")
    args = parser.parse_args(argv)

    run = selftaught.run(
        task="lpn",  # learning parity with noise, the paper's self-improvement task
        model=args.model,
        base_url=args.base_url,
        iterations=args.iterations,
        repetitions=1,
        max_tokens=args.max_tokens,
        run_dir=args.run_dir,
    )
    for it in run.iterations:
        adopted = {None: "initial", True: "adopted", False: "refused"}[it.adopted]
        print(f"t={it.t}: meta-utility val {it.meta_utility_val:.3f}, "
              f"test {it.meta_utility_test:.3f} ({adopted})")  # fmt: skip
    print(f"recorded in {run.run_dir}; report: {run.report()}")
    return run


if __name__ == "__main__":
    main()
