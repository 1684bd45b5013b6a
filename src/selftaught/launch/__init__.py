"""The launch layer: what the two faces, the `selftaught` command (`cli/`) and the Python API
(`api/`), share, below both of them (docs/architecture.md, "The launch layer").

`options.py` declares every option once (name, type, default, help); `cli/options.py` makes a
command's parameters from it and `api/keywords.py` a function's keyword arguments. The rest is
what a launch does whichever face asked: the configuration from the options given
(`settings.py`), the run directory, the initial improver and the session (`sessions.py`), the
live display (`progress.py`) and which errors are the user's (`errors.py`). Nothing here
prints an error or exits: each face says a user error its own way.
"""
