"""The core import needs neither torch nor a GPU."""

import subprocess
import sys


def test_import_does_not_load_frameworks(tmp_path):
    code = "import sys, aimatrix; bad = [m for m in ('torch', 'onnxruntime', 'tensorflow') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
