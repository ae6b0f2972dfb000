import os
import sys
from pathlib import Path

import pytest

# Test helper modules (_models_common, _conv_shapes, _sample_runs) import by name; the package under
# test is always the installed one (import-mode=importlib keeps the source tree off sys.path).
sys.path.insert(0, str(Path(__file__).parent))

from aimatrix import _native

# Helper modules that assert (shared checks) report their failures as test modules do.
pytest.register_assert_rewrite("_conv_shapes")


def pytest_collection_modifyitems(config, items):
    # `slow` tests (minutes on 2 cores) run when asked for: `-m slow` (or an expression naming it) or AIMATRIX_SLOW=1.
    if "slow" not in (config.option.markexpr or "") and not os.environ.get("AIMATRIX_SLOW"):
        skip_slow = pytest.mark.skip(reason="slow: run with -m slow or AIMATRIX_SLOW=1")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip_slow)
    if _native.cuda_available():
        return
    skip = pytest.mark.skip(reason=f"no CUDA GPU: {_native.cuda_unavailable_reason()}")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


# Timing options that keep CPU tests quick: correctness is what they check.
FAST = dict(max_time=0.05, min_time=0.0, min_samples=3, warmup=0.0)


@pytest.fixture
def fast():
    return dict(FAST)
