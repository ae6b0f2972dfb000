"""Beyond one GPU: collectives over torch.distributed (NCCL or gloo), the launcher that starts one process per device, and fleet runs."""

from .collectives import BUS_FACTOR, OPS, bus_bandwidth, collective, sweep_sizes

__all__ = ["collective", "OPS", "BUS_FACTOR", "bus_bandwidth", "sweep_sizes"]
