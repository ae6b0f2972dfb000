"""``python -m aimatrix.bench``: the command line (``aimatrix.cli``)."""

import sys

from ..cli import main

sys.exit(main())
