"""Numeric arrays from the host to a child, as base64 inside the JSON job.

Encoding 20 LPN instances as JSON lists of ints costs more than running them, and every
candidate is evaluated on the same instances, so numeric arguments travel as
`{"__ndarray__": base64, "dtype": "int64", "shape": [...]}` instead. Only the trusted
direction uses this (host -> child); what a child sends is plain JSON, always.

`pack_args` is applied in the host: numpy arguments, and with `array_args` list arguments
that numpy turns into a numeric array (exactly what the child would have done with them),
are packed; everything else stays as it is. `unpack_arg` in the child gives a writable array.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy

_NUMERIC = "biuf"  # bool, signed, unsigned, float: safe to send as raw bytes
_KEY = "__ndarray__"


def pack(array: numpy.ndarray) -> dict[str, Any] | list[Any]:
    if array.dtype.kind not in _NUMERIC:
        return array.tolist()
    wire = _narrowest(array)
    data = numpy.ascontiguousarray(array, dtype=wire)
    return {
        _KEY: base64.b64encode(data.tobytes()).decode("ascii"),
        "wire": wire.str,
        "dtype": array.dtype.str,
        "shape": list(data.shape),
    }


def _narrowest(array: numpy.ndarray) -> numpy.dtype:
    """Integers travel in the smallest type that holds them (0/1 bits: 1 byte, not 8)."""
    if array.dtype.kind not in "iu" or array.size == 0 or array.dtype.itemsize == 1:
        return array.dtype
    low, high = int(array.min()), int(array.max())
    for candidate in (numpy.int8, numpy.uint8, numpy.int16, numpy.int32):
        info = numpy.iinfo(candidate)
        if info.min <= low and high <= info.max:
            return numpy.dtype(candidate)
    return array.dtype


def pack_args(args: list[Any], array_args: bool) -> list[Any]:
    """One instance's arguments, ready for the job message."""
    packed = []
    for arg in args:
        if isinstance(arg, numpy.ndarray):
            arg = pack(arg)
        elif array_args and isinstance(arg, list):
            try:
                array = numpy.asarray(arg)
            except ValueError:  # ragged: the child passes it on as a list
                array = None
            if array is not None and array.dtype.kind in _NUMERIC and array.ndim > 0:
                arg = pack(array)
        packed.append(arg)
    return packed


def is_packed(arg: Any) -> bool:
    return isinstance(arg, dict) and _KEY in arg


def unpack_arg(arg: dict[str, Any]) -> numpy.ndarray:
    """A writable array with the dtype and shape the host had."""
    wire, dtype = numpy.dtype(arg.get("wire", arg["dtype"])), numpy.dtype(arg["dtype"])
    array = numpy.frombuffer(base64.b64decode(arg[_KEY]), dtype=wire).reshape(arg["shape"])
    return array.astype(dtype)  # a copy: writable even when the types match
