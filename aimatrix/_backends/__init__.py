"""CUDA back ends, one sub-package per CUDA major version (cu12, cu13), each holding ``_cuda``."""

from pkgutil import extend_path

# As in aimatrix/__init__.py: from a checkout, also the installed package's back ends.
__path__ = extend_path(__path__, __name__)
