"""Model definitions, one small file per family. Each exposes ``build(size, **kw)``."""
