"""The probe's float32 pass with a partial selection answers exactly as the float64 brute force."""

import itertools

import numpy as np
import pytest

from custom_components.facegate.face.gallery import MAX_SAMPLES
from custom_components.facegate.face.index import TemplateIndex
from custom_components.facegate.face.protection import ENCODING_DIM


def brute_force(
    identities: dict[str, np.ndarray], probe: np.ndarray, k: int
) -> list[tuple[str, float]]:
    """Every identity's nearest sample in float64, sorted by (distance, resident_id)."""
    exact = sorted(
        (float(np.linalg.norm(rows - probe, axis=1).min()), name)
        for name, rows in identities.items()
    )
    return [(name, distance) for distance, name in exact[:k]]


def build(identities: dict[str, np.ndarray], *, incremental: bool) -> TemplateIndex:
    if not incremental:
        return TemplateIndex.build([(name, list(rows)) for name, rows in identities.items()])
    index = TemplateIndex()
    for name, rows in identities.items():
        index.add(name, list(rows))
    return index


def random_identities(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """Unit-ish vectors in a few clusters, 1 to MAX_SAMPLES samples each."""
    centres = rng.normal(size=(8, ENCODING_DIM)) * 0.05
    return {
        f"r{i:04d}": centres[i % 8]
        + rng.normal(size=(int(rng.integers(1, MAX_SAMPLES + 1)), ENCODING_DIM)) * 0.03
        for i in range(count)
    }


@pytest.mark.parametrize("incremental", [False, True])
def test_random_probes_equal_the_brute_force(incremental: bool) -> None:
    rng = np.random.default_rng(3)
    identities = random_identities(rng, 300)
    index = build(identities, incremental=incremental)
    samples = [rows[0] for rows in identities.values()]
    probes = [s + rng.normal(size=ENCODING_DIM) * 0.005 for s in samples[:60]]
    probes += [(a + b) / 2 for a, b in itertools.pairwise(samples[:41])]
    probes += list(rng.normal(size=(20, ENCODING_DIM)) * 0.05)
    for probe in probes:
        for k in (1, 2, 3):
            assert index.nearest(probe, k) == brute_force(identities, probe, k)


def test_only_a_few_rows_are_measured_exactly() -> None:
    """The partial selection: far fewer rows than the gallery reach the float64 step."""
    rng = np.random.default_rng(4)
    identities = random_identities(rng, 2000)
    index = build(identities, incremental=False)
    rows = sum(len(r) for r in identities.values())
    probe = next(iter(identities.values()))[0] + rng.normal(size=ENCODING_DIM) * 0.005
    measured = len(index._candidate_rows(probe, 2))
    assert MAX_SAMPLES + 1 <= measured < rows // 100


def near_ties(rng: np.random.Generator, probe: np.ndarray) -> dict[str, np.ndarray]:
    """Identities whose nearest samples differ from each other by less than float32 can see.

    Each lies at 0.5 + j * 1e-11 from the probe (j shuffled), some exactly at 0.5 (true ties,
    ordered by resident_id), with MAX_SAMPLES samples each so that the cut-off falls among them.
    """
    identities = {}
    offsets = rng.permutation(np.repeat(np.arange(12), 3)) * 1e-11
    for i, offset in enumerate(offsets):
        directions = rng.normal(size=(MAX_SAMPLES, ENCODING_DIM))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        lengths = np.full(MAX_SAMPLES, 0.5 + offset)
        lengths[1:] += rng.uniform(0, 2e-7, size=MAX_SAMPLES - 1)  # the rest just behind
        identities[f"t{(i * 7) % len(offsets):02d}"] = probe + directions * lengths[:, None]
    return identities


@pytest.mark.parametrize("seed", range(5))
def test_near_ties_below_float32_resolution_equal_the_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    probe = rng.normal(size=ENCODING_DIM) * 0.05
    identities = near_ties(rng, probe)
    identities.update(random_identities(rng, 50))  # and farther ones
    index = build(identities, incremental=bool(seed % 2))
    for k in (1, 2, 3, 5):
        assert index.nearest(probe, k) == brute_force(identities, probe, k)


def test_erasures_and_compaction_keep_the_answers_exact() -> None:
    rng = np.random.default_rng(5)
    identities = random_identities(rng, 120)
    index = build(identities, incremental=True)
    probes = [rows[-1] + rng.normal(size=ENCODING_DIM) * 0.005 for rows in identities.values()]
    rows = index._size
    for position, name in enumerate(list(identities)):
        if position % 3:  # two thirds erased: the free rows are squeezed out on the way
            index.remove(name)
            del identities[name]
    assert index._size < rows  # compacted
    late = rng.normal(size=(3, ENCODING_DIM)) * 0.05
    index.add("late", list(late))
    identities["late"] = late
    for probe in probes:
        assert index.nearest(probe, 2) == brute_force(identities, probe, 2)
