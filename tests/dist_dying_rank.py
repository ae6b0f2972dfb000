"""A torchrun script for tests: rank 1 dies after joining; the others must fail fast, not hang."""

import os

from aimatrix.dist.collectives import collective, init

init("gloo", timeout_s=20)
if int(os.environ["RANK"]) == 1:
    os._exit(3)
collective("all_reduce", 1 << 20, samples=50)
