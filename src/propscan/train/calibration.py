"""Confidence calibration of the span model: an isotonic map from raw span confidence to the
share of spans whose technique was right, and the expected calibration error that checks it.

Needs scikit-learn (train extra) for the fit; the error is plain numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_isotonic", "expected_calibration_error"]


def fit_isotonic(raw: list[float], correct: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """The knots (x, y) of a monotone map from ``raw`` confidences to the chance of being
    ``correct`` (identity for fewer than two points), as
    ``SpanModel.calib_x`` and ``calib_y`` store it."""
    from sklearn.isotonic import IsotonicRegression

    if len(raw) < 2:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(np.asarray(raw), np.asarray(correct, dtype=float))
    return (np.asarray(iso.X_thresholds_, np.float64), np.asarray(iso.y_thresholds_, np.float64))


def expected_calibration_error(confidence: list[float], correct: list[bool],
                               bins: int = 10) -> dict[str, Any]:
    """ECE over equal-width confidence bins, and the reliability table behind it."""
    conf = np.asarray(confidence, float)
    ok = np.asarray(correct, float)
    table, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = (conf >= lo) & ((conf < hi) if b < bins - 1 else (conf <= hi))
        if not sel.any():
            continue
        gap = abs(ok[sel].mean() - conf[sel].mean())
        ece += gap * sel.sum() / max(len(conf), 1)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(sel.sum()),
                      "mean_confidence": round(float(conf[sel].mean()), 4),
                      "share_correct": round(float(ok[sel].mean()), 4)})
    return {"ece": float(ece), "n": len(conf), "bins": table}
