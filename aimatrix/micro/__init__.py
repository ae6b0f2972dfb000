"""Micro benchmarks: GEMM, convolution, memory bandwidth, launch latency, and size catalogues."""

from .catalog import catalog
from .conv import conv, conv_chain
from .gemm import gemm
from .launch import launch
from .membw import membw

__all__ = ["gemm", "conv", "conv_chain", "membw", "launch", "catalog"]
