"""Layer benchmarks: ``layer(name, **shape)`` and ``run_layers(...)``; ``catalog()`` lists the
shapes the macro models use. Needs PyTorch (the ``aimatrix[torch]`` extra)."""

from __future__ import annotations

from .catalog import catalog
from .layer_case import LAYER_BACKENDS, layer, run_layers
from .ops import LAYERS, NAMES

__all__ = ["layer", "run_layers", "catalog", "LAYERS", "NAMES", "LAYER_BACKENDS"]
