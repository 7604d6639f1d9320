"""Contract: every error propscan raises on purpose is declared in errors.py, with an exit code,
an HTTP status and a code, and the README documents every exit code (datasette-style checks)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import propscan
from propscan import errors
from tests.conftest import REPO

_SKIP = ("propscan.train",)  # training modules pull in torch; they declare no error class


def _modules() -> list:
    names = [m.name for m in pkgutil.walk_packages(propscan.__path__, "propscan.")
             if not m.name.startswith(_SKIP) and not m.name.endswith("__main__")]
    return [importlib.import_module(name) for name in names]


def test_every_error_class_lives_in_errors_py() -> None:
    outside = [f"{module.__name__}.{name}" for module in _modules()
               for name, obj in vars(module).items()
               if inspect.isclass(obj) and issubclass(obj, errors.PropscanError)
               and obj.__module__ != "propscan.errors"]
    assert outside == []


def test_every_error_class_has_a_status_code_and_documented_exit_code() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = {int(code) for code in re.findall(r"^\| (\d+)(?:, \d+)? \|", readme, re.M)}
    classes = [obj for obj in vars(errors).values()
               if inspect.isclass(obj) and issubclass(obj, errors.PropscanError)]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two error classes share a code"
    for cls in classes:
        assert 400 <= cls.http_status < 600 and cls.code and cls.__doc__
        assert cls.exit_code in documented, f"{cls.__name__}: exit {cls.exit_code} not in README"
