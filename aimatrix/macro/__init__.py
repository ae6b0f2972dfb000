"""Macro (whole-model) benchmarks: the model zoo and its framework backends.

``model(name, batch=..., dtype=..., backend=...)`` runs one case;
``run_macro(...)`` sweeps and records failures; ``zoo`` builds the models.
Importing this package needs PyTorch (the ``aimatrix[torch]`` extra).
"""

from __future__ import annotations

from . import backends, zoo
from .backends import NAMES as BACKENDS
from .model_case import SCENARIOS, model
from .sweep import run_macro
from .zoo import names as models

__all__ = ["model", "run_macro", "models", "zoo", "backends", "BACKENDS", "SCENARIOS"]
