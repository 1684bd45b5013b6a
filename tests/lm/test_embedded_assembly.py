"""Embedded models: parts found in installed packages, assembled once, verified, never half-written.

The fake models here are split over small packages made in a temporary directory and put on
sys.path, so that the real lookup (the import system, without importing) finds them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys

import pytest
from conftest import ROOT, one_clear_line, run_cli

from selftaught.lm import embedded
from selftaught.lm.embedded import (
    MODELS,
    EmbeddedModel,
    EmbeddedModelError,
    Part,
    model_path,
)
from selftaught.lm.spec import ModelSpecError, parse_model_spec

CHUNKS = [b"GGUF" + bytes(range(200)) * 3, os.urandom(513), b"tail of the model"]


def make_packages(root, name, chunks):
    """Packages NAME_part1.. each holding data/partNN.bin, and the model they add up to."""
    parts = []
    for k, chunk in enumerate(chunks, start=1):
        folder = root / f"{name}_part{k}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "data" / f"part{k:02d}.bin").write_bytes(chunk)
        digest = hashlib.sha256(chunk).hexdigest()
        parts.append(
            Part(f"{name}-part{k}", "1.0", f"{name}_part{k}", f"data/part{k:02d}.bin", len(chunk),
                 digest)
        )  # fmt: skip
    whole = b"".join(chunks)
    return EmbeddedModel(
        name=name,
        title="a fake model",
        file=f"{name}.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        licence="MIT",
        speed="n/a",
        install=f"pip install {name}-parts",
        parts=tuple(parts),
    )


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake three-part model, installed on sys.path and known by name; cache in tmp_path."""
    site = tmp_path / "site"
    site.mkdir()
    model = make_packages(site, "fakemodel", CHUNKS)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(MODELS, model.name, model)
    cache = tmp_path / "cache"
    monkeypatch.setenv(embedded.MODELS_ENV, str(cache))
    return model, site, cache


def leftovers(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_assembles_the_parts_in_order_once(fake):
    model, _, cache = fake
    path = model_path(model.name)
    assert path == cache / model.file
    assert path.read_bytes() == b"".join(CHUNKS)
    assert leftovers(cache) == [model.file, model.file + ".verified"]  # no temporary file
    first = path.stat().st_mtime_ns
    assert model_path(model.name) == path and path.stat().st_mtime_ns == first  # not rebuilt


def test_a_valid_cache_needs_no_packages(fake):
    model, site, _ = fake
    path = model_path(model.name)
    (site / "fakemodel_part2" / "data" / "part02.bin").unlink()
    assert model_path(model.name) == path


def test_missing_part_names_its_package(fake):
    model, site, cache = fake
    (site / "fakemodel_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(EmbeddedModelError, match=r"fakemodel-part2 is not installed.*pip install"):
        model_path(model.name)
    assert leftovers(cache) == []


def test_truncated_part_names_its_package_and_writes_nothing(fake):
    model, site, cache = fake
    part = site / "fakemodel_part3" / "data" / "part03.bin"
    part.write_bytes(CHUNKS[2][:-3])
    with pytest.raises(EmbeddedModelError, match=r"fakemodel-part3.*truncated.*reinstall") as exc:
        model_path(model.name)
    assert "\n" not in str(exc.value)
    assert leftovers(cache) == []


def test_corrupted_part_names_its_package_and_writes_nothing(fake):
    model, site, cache = fake
    part = site / "fakemodel_part2" / "data" / "part02.bin"
    part.write_bytes(bytes(len(CHUNKS[1])))  # right size, wrong bytes
    with pytest.raises(EmbeddedModelError, match=r"fakemodel-part2 does not match its sha256"):
        model_path(model.name)
    assert leftovers(cache) == []


def test_corrupted_cache_is_assembled_again(fake):
    model, _, _ = fake
    path = model_path(model.name)
    with open(path, "r+b") as handle:
        handle.seek(10)
        handle.write(b"\xff\xff")
    assert path.read_bytes() != b"".join(CHUNKS)
    assert model_path(model.name) == path
    assert path.read_bytes() == b"".join(CHUNKS)


def test_corrupted_cache_without_packages_is_one_line(fake):
    model, site, _ = fake
    path = model_path(model.name)
    path.write_bytes(b"not a model")
    (site / "fakemodel_part1" / "data" / "part01.bin").unlink()
    with pytest.raises(EmbeddedModelError, match=r"is corrupted and cannot be rebuilt.*part1"):
        model_path(model.name)


def test_full_disk_before_writing(fake, monkeypatch):
    model, _, cache = fake
    monkeypatch.setattr(
        embedded.shutil, "disk_usage", lambda _: type("U", (), {"free": model.size - 1})()
    )
    with pytest.raises(EmbeddedModelError, match=r"no room to assemble it in .*SELFTAUGHT_MODELS"):
        model_path(model.name)
    assert leftovers(cache) == []


def test_disk_filling_up_while_writing_leaves_nothing(fake, monkeypatch):
    model, _, cache = fake
    real = embedded._copy_part
    copied = []

    def fills_up(model_, part, file, write, whole):
        if copied:
            raise OSError(errno.ENOSPC, "No space left on device")
        copied.append(part)
        real(model_, part, file, write, whole)

    monkeypatch.setattr(embedded, "_copy_part", fills_up)
    with pytest.raises(EmbeddedModelError, match=r"no room to assemble it"):
        model_path(model.name)
    assert copied and leftovers(cache) == []


def test_unknown_embedded_name_is_a_spec_error():
    with pytest.raises(ModelSpecError, match=r"'qwen9'.*llamacpp:qwen2.5-coder-0.5b"):
        parse_model_spec("llamacpp:qwen9")
    spec = parse_model_spec("llamacpp:qwen2.5-coder-1.5b")
    assert (spec.kind, spec.model, spec.path) == ("llamacpp", "qwen2.5-coder-1.5b", None)
    assert parse_model_spec("llamacpp").model == embedded.DEFAULT_MODEL


def test_pins_add_up():
    """Every model's parts add up to its size; a wrong pin would fail every assembly."""
    for model in MODELS.values():
        assert sum(part.size for part in model.parts) == model.size, model.name
        assert len({part.package for part in model.parts}) == len(model.parts)
        assert all(len(part.sha256) == 64 for part in model.parts)


def test_cli_unknown_model_is_one_line():
    done = run_cli("run", "--model", "llamacpp:gpt-5", "--iterations", "0")
    one_clear_line(done, "gpt-5", "llamacpp:qwen2.5-coder-0.5b")


def test_cli_lists_the_embedded_models():
    done = run_cli("models", env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    for name in ("llamacpp:qwen2.5-coder-0.5b", "llamacpp:qwen2.5-coder-1.5b",
                 "llamacpp:smollm2-135m", "Apache-2.0", "469 MiB"):  # fmt: skip
        assert name in done.stdout


DRIVER = """
import sys
from pathlib import Path
sys.path[:0] = {tests!r}
from test_embedded_assembly import CHUNKS, make_packages
from selftaught.lm import embedded
from selftaught.cli import main
model = make_packages(Path({site!r}), "climodel", CHUNKS)
embedded.MODELS[model.name] = model
(Path({site!r}) / "climodel_part2" / "data" / "part02.bin").write_bytes(b"cut")
sys.path.insert(0, {site!r})
sys.argv = ["selftaught", "run", "--model", "llamacpp:climodel", "--iterations", "0",
            "--run-dir", {run_dir!r}]
main()
"""


def test_cli_truncated_part_is_one_line(tmp_path):
    """Through the real command: a truncated part is exit 2, one line naming the package."""
    site = tmp_path / "site"
    site.mkdir()
    script = DRIVER.format(
        tests=[str(ROOT / "tests" / "lm"), str(ROOT / "tests")],
        site=str(site),
        run_dir=str(tmp_path / "run"),
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, embedded.MODELS_ENV: str(tmp_path / "cache")},
        timeout=120,
    )
    one_clear_line(done, "climodel-part2", "truncated", "pip install")
    assert leftovers(tmp_path / "cache") == []
