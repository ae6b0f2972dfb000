"""Workload tables: one record per conv / fully connected layer of the profiled models.

A :class:`Workload` saves and loads as JSON (``{"schema": ..., "layers": [...]}``)
and CSV (one row per layer, a header naming the fields). A file that does not
parse, or a record with a missing or malformed field, raises ``ValueError``
naming the file, the line (CSV) or record (JSON), and the field.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

SCHEMA = "aimatrix.workload/1"
TYPES = ("conv", "fc")


@dataclass(frozen=True)
class Layer:
    """One conv (or fc) layer as the monitor saw it. ``macs`` and ``warps`` cover the whole batch."""

    model: str
    name: str
    type: str  # "conv" or "fc"
    batch: int
    in_h: int
    in_w: int
    cin: int
    cout: int
    kh: int
    kw: int
    stride_h: int
    stride_w: int
    pad_h: int
    pad_w: int
    groups: int
    dil_h: int
    dil_w: int
    out_h: int
    out_w: int
    macs: int
    params: int
    warps: int
    warps_source: str = "estimate"  # "estimate" (analytic) or "measured" (GPU profiler)

    @property
    def kernel(self) -> tuple[int, int]:
        return (self.kh, self.kw)

    @property
    def stride(self) -> tuple[int, int]:
        return (self.stride_h, self.stride_w)

    @property
    def filter_type(self) -> str:
        """'3x3/1' style: kernel size and stride."""
        s = f"{self.stride_h}" if self.stride_h == self.stride_w else f"{self.stride_h}x{self.stride_w}"
        return f"{self.kh}x{self.kw}/{s}"

    def conv_shape(self) -> tuple:
        """What makes two convs the same, batch left out: channels, kernel, stride, padding, dilation, groups,
        input size."""
        return (self.cin, self.cout, self.kh, self.kw, self.stride_h, self.stride_w, self.pad_h, self.pad_w,
                self.dil_h, self.dil_w, self.groups, self.in_h, self.in_w)  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)


FIELDS = [f.name for f in fields(Layer)]
_INT_FIELDS = [f.name for f in fields(Layer) if f.type in ("int", int)]
_STR_FIELDS = [f.name for f in fields(Layer) if f.type in ("str", str)]
_OPTIONAL = {"warps_source": "estimate"}


def _layer_from(record: Any, where: str) -> Layer:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: a layer record must be an object, not {type(record).__name__}")
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name not in record or record[name] in (None, ""):
            if name in _OPTIONAL:
                values[name] = _OPTIONAL[name]
                continue
            raise ValueError(f"{where}: field {name!r} is missing")
        raw = record[name]
        if name in _INT_FIELDS:
            try:
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    raise ValueError
                v = int(raw)
                if isinstance(raw, str) and raw.strip() != str(v):
                    raise ValueError
            except (TypeError, ValueError):
                raise ValueError(f"{where}: field {name!r} = {raw!r} is not an integer") from None
            if v < 0:
                raise ValueError(f"{where}: field {name!r} = {v} must be >= 0")
            values[name] = v
        else:
            values[name] = str(raw)
    if values["type"] not in TYPES:
        raise ValueError(f"{where}: field 'type' = {values['type']!r} must be one of {', '.join(TYPES)}")
    for name in (
        "batch",
        "in_h",
        "in_w",
        "cin",
        "cout",
        "kh",
        "kw",
        "stride_h",
        "stride_w",
        "groups",
        "dil_h",
        "dil_w",
        "out_h",
        "out_w",
    ):
        if values[name] < 1:
            raise ValueError(f"{where}: field {name!r} = {values[name]} must be >= 1")
    return Layer(**values)


class LayerSums:
    """``models``, ``macs`` and ``warps`` of the layers ``_members()`` gives (a Workload's, a cluster Group's)."""

    def _members(self) -> Sequence[Layer]:
        raise NotImplementedError

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(x.model for x in self._members()))

    @property
    def macs(self) -> int:
        return sum(x.macs for x in self._members())

    @property
    def warps(self) -> int:
        return sum(x.warps for x in self._members())


class Workload(Sequence[Layer], LayerSums):
    """An ordered table of layers (a read-only sequence of :class:`Layer`)."""

    def __init__(self, layers: Iterable[Layer] = (), *, meta: dict | None = None) -> None:
        self._layers = tuple(layers)
        for x in self._layers:
            if not isinstance(x, Layer):
                raise TypeError(f"a Workload holds Layer records, not {type(x).__name__}")
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return Workload(self._layers[i], meta=self.meta)
        return self._layers[i]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __add__(self, other: "Workload") -> "Workload":
        return Workload(self._layers + tuple(other), meta={**self.meta, **getattr(other, "meta", {})})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workload) and self._layers == other._layers

    def __repr__(self) -> str:
        return f"<Workload {len(self)} layers of {', '.join(self.models) or 'no model'}: {self.macs / 1e9:.3f} GMACs>"

    def _members(self) -> Sequence[Layer]:
        return self._layers

    def convs(self) -> "Workload":
        return Workload([x for x in self._layers if x.type == "conv"], meta=self.meta)

    def model(self, name: str) -> "Workload":
        return Workload([x for x in self._layers if x.model == name], meta=self.meta)

    # -- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "meta": self.meta, "layers": [x.to_dict() for x in self._layers]}

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON (``.json``) or CSV (``.csv``), by the file's extension."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.suffix.lower() == ".csv":
            p.write_text(self.to_csv())
        elif p.suffix.lower() == ".json":
            p.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        else:
            raise ValueError(f"path={str(path)!r} is not allowed: a workload file ends in .json or .csv")
        return p

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for x in self._layers:
            w.writerow(x.to_dict())
        return buf.getvalue()

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<dict>") -> "Workload":
        if not isinstance(d, dict) or "layers" not in d:
            raise ValueError(f"{source}: not a workload (expected an object with 'layers')")
        if d.get("schema", SCHEMA) != SCHEMA:
            raise ValueError(f"{source}: schema {d.get('schema')!r} is not {SCHEMA!r}")
        if not isinstance(d["layers"], list):
            raise ValueError(f"{source}: 'layers' must be a list")
        return cls(
            [_layer_from(r, f"{source}: record {i}") for i, r in enumerate(d["layers"])], meta=d.get("meta") or {}
        )

    @classmethod
    def from_csv(cls, text: str, *, source: str = "<csv>") -> "Workload":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise ValueError(f"{source}: line 1: empty file, expected a header naming the fields")
        missing = [f for f in FIELDS if f not in reader.fieldnames and f not in _OPTIONAL]
        if missing:
            raise ValueError(f"{source}: line 1: header lacks field(s) {', '.join(map(repr, missing))}")
        layers = []
        for row in reader:
            if None in row:
                raise ValueError(f"{source}: line {reader.line_num}: more values than header fields")
            layers.append(_layer_from(row, f"{source}: line {reader.line_num}"))
        return cls(layers)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Workload":
        """Read a workload saved as JSON or CSV (by extension; JSON when the extension is unknown)."""
        p = Path(path)
        text = p.read_text()
        if p.suffix.lower() == ".csv":
            return cls.from_csv(text, source=str(p))
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: line {e.lineno}: not valid JSON ({e.msg})") from None
        return cls.from_dict(d, source=str(p))


def load(path: str | os.PathLike) -> Workload:
    """Read a workload table (JSON or CSV)."""
    return Workload.load(path)
