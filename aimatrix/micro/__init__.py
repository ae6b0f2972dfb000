"""Micro benchmarks: GEMM (and, later, convolution, memory bandwidth, launch latency)."""

from .gemm import gemm

__all__ = ["gemm"]
