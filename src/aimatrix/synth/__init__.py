"""StatsNet synthetic benchmarks: profile models, cluster their layers, synthesize a small CNN, run it.

    >>> import aimatrix as am
    >>> wl = am.synth.profile(["alexnet", "vgg16", "googlenet"])   # conv/fc layers, MACs, warps
    >>> groups = am.synth.cluster(wl)                              # 224/112/56/28/14/7
    >>> model = am.synth.synthesize(groups)                        # native GA, 10-bit genes, 5000 x 50
    >>> model.groups[0].fitness_error, model.to_torch(), model.run(device="cuda")
"""

from __future__ import annotations

from . import database
from .cluster import FilterType, Group, cluster, format_table, save_groups
from .model import DEFAULT_WARP_MODEL, WarpModel, conv_macs, conv_warps
from .profile import profile
from .run import fidelity, format_synth_table, run_model, run_synth
from .synthesize import SyntheticGroup, SyntheticModel, synthesize
from .workload import Layer, Workload, load

__all__ = [
    "database", "profile", "cluster", "synthesize", "fidelity", "run_model", "run_synth", "load",
    "Layer", "Workload", "Group", "FilterType", "SyntheticGroup", "SyntheticModel", "WarpModel",
    "DEFAULT_WARP_MODEL", "conv_macs", "conv_warps", "format_table", "format_synth_table", "save_groups",
]
