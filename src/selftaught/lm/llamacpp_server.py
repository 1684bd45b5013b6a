"""llama.cpp's OpenAI-compatible server, with the model's weights kept as stored.

`python -m selftaught.lm.llamacpp_server ARGS` takes the arguments of
`python -m llama_cpp.server` and runs it. The one difference: the weights are not repacked
into llama.cpp's extra CPU buffer types. On CPUs with AVX-512 and AMX (seen on these 2-core
machines), llama-cpp-python 0.3.36's server, which repacks by default, dies with a segmentation
fault on its first completion; the in-process backend never repacked (`unrepacked_weights`,
which also keeps samples the same at any batch size), so this gives the server the same
weights and the same behaviour.
"""

from __future__ import annotations

from selftaught.lm.llamacpp_batch import unrepacked_weights


def main() -> None:
    from llama_cpp.server.__main__ import main as serve

    # The server loads its models inside main(), so the swap covers every model it loads.
    with unrepacked_weights():
        serve()


if __name__ == "__main__":
    main()
