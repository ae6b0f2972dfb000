"""``python -m aimatrix.bench`` runs the command line; the code is in :mod:`aimatrix.cli`."""
