"""The science package stays free of Django, and every result stores as strict JSON."""

import ast
import json
from pathlib import Path

import numpy as np

import analysis.science
from analysis.science import ccd, cycling, density, hardness, stripping
from tests.analysis.science.synthetic import ccd_test

PACKAGE = Path(analysis.science.__file__).parent


def test_no_django_import_anywhere():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(
                n.split(".")[0] in {"django", "rest_framework", "lims"} for n in names
            ), path


def test_results_serialise_to_strict_json():
    t, i, v = ccd_test(n_steps=3)
    results = [
        density.summarize([4.9]),  # std is NaN -> null
        hardness.summarize([100.0, 110.0], reference=[90.0, 95.0]),
        stripping.analyze(np.arange(10.0), np.ones(10), np.linspace(0, 2, 10), 0.5, 1.0),
        ccd.detect(t, i, v),
        cycling.analyze(t, i, v, area_cm2=1.0),
    ]
    for result in results:
        data = result.to_dict()
        assert json.loads(json.dumps(data, allow_nan=False)) == data
