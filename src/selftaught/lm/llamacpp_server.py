"""llama.cpp's OpenAI-compatible server, with the model's weights kept as stored.

`python -m selftaught.lm.llamacpp_server ARGS` takes the arguments of
`python -m llama_cpp.server` and runs it. The one difference: the weights are not repacked
into llama.cpp's extra CPU buffer types. On CPUs with AVX-512 and AMX (seen on these 2-core
machines), llama-cpp-python 0.3.36's server, which repacks by default, dies with a segmentation
fault on its first completion; the in-process backend never repacked (`unrepacked_weights`,
which also keeps samples the same at any batch size), so this gives the server the same
weights and the same behaviour.

The file also runs by path (`python .../llamacpp_server.py ARGS`) under a Python that has
llama-cpp-python but not selftaught, as benchmarks/peers does in the server's own venv.
"""

from __future__ import annotations

import importlib.util
import sys
from contextlib import AbstractContextManager
from pathlib import Path

HERE = Path(__file__).resolve().parent


def unrepacked_weights() -> AbstractContextManager[None]:
    """llamacpp_batch's context manager, from the package or, without it, from the file beside."""
    try:
        from selftaught.lm.llamacpp_batch import unrepacked_weights as swap
    except ImportError:
        spec = importlib.util.spec_from_file_location("llamacpp_batch", HERE / "llamacpp_batch.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["llamacpp_batch"] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
        swap = module.unrepacked_weights
    return swap()


def main() -> None:
    if sys.path and Path(sys.path[0]).resolve() == HERE:
        sys.path.pop(0)  # run by path: lm/'s module names must not shadow the server's imports
    from llama_cpp.server.__main__ import main as serve

    # The server loads its models inside main(), so the swap covers every model it loads.
    with unrepacked_weights():
        serve()


if __name__ == "__main__":
    main()
