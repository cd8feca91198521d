"""The gallery search and cohort as they were computed before the index: everything, per probe.

The reference for tests: a full sort of every identity's nearest-sample distance, and the full
O(N^2) cohort, straight from the protected templates.
"""

import math

import numpy as np
import numpy.typing as npt

from custom_components.facegate.face.decision import DecisionSettings, settings_for
from custom_components.facegate.face.gallery import Gallery


def neighbours(gallery: Gallery) -> dict[str, float | None]:
    """Each identity's mean distance from its samples to the nearest other identity's sample."""
    templates = gallery._templates
    if len(templates) < 2:
        return dict.fromkeys(templates)
    result: dict[str, float | None] = {}
    for resident_id, samples in templates.items():
        others = np.stack(
            [t for other, ts in templates.items() if other != resident_id for t in ts]
        )
        nearest = [float(np.linalg.norm(others - sample, axis=1).min()) for sample in samples]
        result[resident_id] = float(np.mean(nearest))
    return result


def decide(
    gallery: Gallery, probe: npt.ArrayLike, settings: DecisionSettings | None = None
) -> tuple[str | None, str]:
    """(resident_id, reason) by the rule of decision.py, computed the slow way."""
    settings = settings or settings_for(gallery.engine)
    protected = gallery._protector.protect(probe)
    order = sorted(gallery._templates)
    if not order:
        return None, "unknown"
    distances = [
        float(np.linalg.norm(np.stack(gallery._templates[r]) - protected, axis=1).min())
        for r in order
    ]
    ranked = np.argsort(distances, kind="stable")
    best = order[ranked[0]]
    margin = distances[ranked[1]] - distances[ranked[0]] if len(order) > 1 else math.inf
    neighbour = neighbours(gallery)[best]
    threshold = settings.max_distance
    if neighbour is not None:
        threshold = min(threshold, settings.neighbour_ratio * neighbour)
    if distances[ranked[0]] > threshold:
        return None, "unknown"
    if margin < settings.min_margin:
        return None, "ambiguous"
    return best, "match"
