"""Loaded with ``-p tests.pytest_env`` before Django starts: test-only environment defaults.

The settings module reads the environment once, at import; these defaults make a plain
``pytest`` work without a hand-set SECRET_KEY, and use the fast password hasher.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-key-for-tests-only")
os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
os.environ.setdefault(
    "MEDIA_ROOT", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test-media")
)
os.environ.setdefault(
    "CACHE_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test-cache")
)
