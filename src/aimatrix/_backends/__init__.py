"""CUDA back ends, one sub-package per CUDA major version (cu12, cu13), each holding ``_cuda``."""
