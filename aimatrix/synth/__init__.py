"""StatsNet synthetic benchmarks: profile models, cluster their layers, synthesize a small CNN, run it.

    >>> import aimatrix as am
    >>> wl = am.synth.profile(["alexnet", "vgg16", "googlenet"])   # conv/fc layers, MACs, warps
    >>> groups = am.synth.cluster(wl)                              # 224/112/56/28/14/7
    >>> model = am.synth.synthesize(groups)                        # native GA, 10-bit genes, 5000 x 50
    >>> model.groups[0].fitness_error, model.to_torch(), model.run(device="cuda")

The fidelity objective (issue 17) also matches each group's time, predicted from a per-device conv-time table
(``efficiency``: measured once per device by ``bench/synth_fidelity.py --measure``):

    >>> table = am.synth.ConvTimes.load("conv_times_nvidia_h100_80gb_hbm3.json")
    >>> model = am.synth.synthesize(groups, objective="fidelity", efficiency=table)
    >>> am.synth.fidelity(model, wl, device="cuda", dtype="bf16", batch=32)   # per group: synthetic vs real ms
    >>> model, table = am.synth.refine(groups, table, am.synth.efficiency.device_time("cuda"))  # closed loop

``am.model("statsnet")`` runs the shipped AlexNet + VGG16 + GoogLeNet synthesis as a zoo model.
"""

from __future__ import annotations

from . import database, efficiency
from .closed_loop import refine
from .cluster import FilterType, Group, cluster, format_table, save_groups
from .efficiency import ConvTimeModel, ConvTimes
from .model import DEFAULT_WARP_MODEL, WarpModel, conv_macs, conv_warps
from .pipeline import format_synth_table, run_synth
from .profile import profile
from .run import fidelity, run_model
from .synthesize import SyntheticGroup, SyntheticModel, synthesize
from .workload import Layer, Workload, load

__all__ = [
    "database",
    "efficiency",
    "ConvTimes",
    "ConvTimeModel",
    "profile",
    "cluster",
    "synthesize",
    "refine",
    "fidelity",
    "run_model",
    "run_synth",
    "load",
    "Layer",
    "Workload",
    "Group",
    "FilterType",
    "SyntheticGroup",
    "SyntheticModel",
    "WarpModel",
    "DEFAULT_WARP_MODEL",
    "conv_macs",
    "conv_warps",
    "format_table",
    "format_synth_table",
    "save_groups",
]
