"""The gallery: enrol, erase, search, cohort distances, sealed storage."""

import math

import numpy as np
import pytest

from custom_components.facegate.face.decision import decide
from custom_components.facegate.face.gallery import MAX_SAMPLES, Candidate, Gallery
from custom_components.facegate.face.index import TemplateIndex
from custom_components.facegate.face.models import ENGINE_DLIB, ENGINE_KEYS, ENGINE_MOBILEFACENET
from custom_components.facegate.face.protection import (
    ENCODING_DIM,
    TemplateError,
    TemplateProtector,
)

from . import brute_force_rule

SECRET = bytes(range(32))


def axis(i: int, length: float = 1.0) -> np.ndarray:
    vector = np.zeros(ENCODING_DIM)
    vector[i] = length
    return vector


BASE = np.full(ENCODING_DIM, 0.05)  # any common offset: only differences matter


@pytest.fixture
def gallery() -> Gallery:
    return Gallery(TemplateProtector(SECRET))


def test_add_and_query(gallery: Gallery) -> None:
    assert len(gallery) == 0
    assert gallery.best_matches(BASE) == []
    gallery.add_identity("anna", [BASE, BASE + axis(1, 0.1)])
    gallery.add_identity("ben", [BASE + axis(2, 0.8)])
    assert len(gallery) == 2
    assert "anna" in gallery
    assert "carl" not in gallery
    assert gallery.resident_ids == ("anna", "ben")
    assert gallery.sample_count("anna") == 2
    assert gallery.sample_count("carl") == 0


def test_best_matches_uses_the_nearest_sample(gallery: Gallery) -> None:
    gallery.add_identity("anna", [BASE, BASE + axis(1, 0.3)])
    gallery.add_identity("ben", [BASE + axis(2, 0.8), BASE + axis(2, 0.6)])
    gallery.add_identity("cleo", [BASE + axis(3, 0.7)])
    probe = BASE + axis(1, 0.25)
    matches = gallery.best_matches(probe, k=3)
    assert [m.resident_id for m in matches] == ["anna", "ben", "cleo"]
    assert matches[0].distance == pytest.approx(0.05, abs=1e-12)
    assert matches[1].distance == pytest.approx(math.hypot(0.25, 0.6), abs=1e-12)  # ben's nearer
    assert matches[2].distance == pytest.approx(math.hypot(0.25, 0.7), abs=1e-12)
    assert gallery.best_matches(probe) == matches[:2]  # k defaults to 2
    assert gallery.best_matches(probe, k=10) == matches
    assert isinstance(matches[0], Candidate)
    with pytest.raises(ValueError, match="k must"):
        gallery.best_matches(probe, k=0)


def test_templates_are_stored_protected(gallery: Gallery) -> None:
    raw = BASE + axis(5, 0.2)
    gallery.add_identity("anna", [raw])
    (stored,) = gallery._templates["anna"]
    assert not np.allclose(stored, raw)
    assert raw.tobytes() not in gallery.seal()


def test_add_identity_replaces_and_erases(gallery: Gallery) -> None:
    gallery.add_identity("anna", [BASE, BASE + axis(1, 0.1)])
    old = list(gallery._templates["anna"])
    gallery.add_identity("anna", [BASE + axis(4, 0.2)])
    assert gallery.sample_count("anna") == 1
    assert all(not template.any() for template in old)  # overwritten in place
    assert gallery.best_matches(BASE + axis(4, 0.2))[0].distance == pytest.approx(0.0, abs=1e-12)


def test_remove_identity_erases_at_once(gallery: Gallery) -> None:
    gallery.add_identity("anna", [BASE])
    gallery.add_identity("ben", [BASE + axis(2, 0.8)])
    stacked = gallery.prepare().matrix  # the stacked matrix holds copies
    anna = list(gallery._templates["anna"])
    copies = [template.copy() for template in anna]
    assert gallery.remove_identity("anna") is True
    assert "anna" not in gallery
    assert all(not template.any() for template in anna)
    assert not any(np.array_equal(row, copy) for row in stacked for copy in copies)
    assert stacked.any()  # ben is still there
    assert [m.resident_id for m in gallery.best_matches(BASE)] == ["ben"]
    assert gallery.remove_identity("anna") is False
    restored = Gallery.unseal(TemplateProtector(SECRET), gallery.seal())
    assert restored.resident_ids == ("ben",)


def test_clear(gallery: Gallery) -> None:
    gallery.add_identity("anna", [BASE])
    anna = list(gallery._templates["anna"])
    gallery.clear()
    assert len(gallery) == 0
    assert not anna[0].any()
    assert gallery.best_matches(BASE) == []


@pytest.mark.parametrize(
    ("resident_id", "samples", "message"),
    [
        ("", [BASE], "resident_id"),
        ("anna", [], "between 1 and"),
        ("anna", [BASE] * (MAX_SAMPLES + 1), "between 1 and"),
        ("anna", [np.zeros(3)], "shape"),
        ("anna", [np.full(ENCODING_DIM, np.nan)], "NaN"),
    ],
)
def test_add_identity_refuses_bad_input(
    gallery: Gallery, resident_id: str, samples: list[np.ndarray], message: str
) -> None:
    gallery.add_identity("kept", [BASE])
    with pytest.raises(ValueError, match=message):
        gallery.add_identity(resident_id, samples)
    assert gallery.resident_ids == ("kept",)


def test_bad_probe_is_refused(gallery: Gallery) -> None:
    with pytest.raises(ValueError, match="shape"):
        gallery.best_matches(np.zeros(5))


def test_neighbour_distance(gallery: Gallery) -> None:
    assert gallery.neighbour_distance("anna") is None
    gallery.add_identity("anna", [BASE, BASE + axis(1, 0.1)])
    assert gallery.neighbour_distance("anna") is None  # alone: no cohort
    gallery.add_identity("ben", [BASE + axis(2, 0.5), BASE + axis(2, 0.5) + axis(1, 0.1)])
    gallery.add_identity("cleo", [BASE + axis(3, 2.0)])
    # anna's samples: 0.5 to ben's nearest sample each -> mean 0.5
    assert gallery.neighbour_distance("anna") == pytest.approx(0.5, abs=1e-12)
    assert gallery.neighbour_distance("ben") == pytest.approx(0.5, abs=1e-12)
    # cleo: nearest is anna's BASE at 2.0
    assert gallery.neighbour_distance("cleo") == pytest.approx(2.0, abs=1e-12)
    # the mean over own samples, not the single closest pair
    gallery.add_identity("dan", [BASE + axis(4, 0.3), BASE + axis(4, 0.3) + axis(5, 3.0)])
    expected = (0.3 + math.hypot(0.3, 3.0)) / 2
    assert gallery.neighbour_distance("dan") == pytest.approx(expected, abs=1e-12)
    # dan is now anna's nearest neighbour: 0.3 from BASE, hypot(0.3, 0.1) from her other sample
    nearer = (0.3 + math.hypot(0.3, 0.1)) / 2
    assert gallery.neighbour_distance("anna") == pytest.approx(nearer, abs=1e-12)
    gallery.remove_identity("dan")
    assert gallery.neighbour_distance("anna") == pytest.approx(0.5, abs=1e-12)


def test_seal_round_trip(gallery: Gallery) -> None:
    gallery.add_identity("anna", [BASE, BASE + axis(1, 0.1)])
    gallery.add_identity("ben", [BASE + axis(2, 0.8)])
    blob = gallery.seal()
    restored = Gallery.unseal(TemplateProtector(SECRET), blob)
    assert restored.resident_ids == gallery.resident_ids
    probe = BASE + axis(1, 0.05)
    assert restored.best_matches(probe) == gallery.best_matches(probe)
    assert restored.neighbour_distance("anna") == gallery.neighbour_distance("anna")
    with pytest.raises(TemplateError, match="tampered"):
        Gallery.unseal(TemplateProtector(bytes(32)), blob)


def test_unseal_skips_empty_identities_and_caps_samples() -> None:
    protector = TemplateProtector(SECRET)
    many = [protector.protect(BASE + axis(1, i / 100)) for i in range(MAX_SAMPLES + 3)]
    blob = protector.seal({"anna": many, "nobody": []})
    restored = Gallery.unseal(protector, blob)
    assert restored.resident_ids == ("anna",)
    assert restored.sample_count("anna") == MAX_SAMPLES


def test_a_gallery_keeps_its_engine_through_sealing() -> None:
    """The engine key is sealed with the templates and comes back with them."""
    protector = TemplateProtector(SECRET)
    gallery = Gallery(protector, ENGINE_KEYS[ENGINE_MOBILEFACENET])
    gallery.add_identity("anna", [np.ones(128)])
    restored = Gallery.unseal(protector, gallery.seal())
    assert restored.engine == ENGINE_KEYS[ENGINE_MOBILEFACENET]
    assert restored.resident_ids == ("anna",)


def test_templates_sealed_before_engines_were_tagged_are_dlib_templates() -> None:
    """A blob from the previous version (no engine in it) is read as dlib's."""
    protector = TemplateProtector(SECRET)
    legacy = protector.seal({"anna": [protector.protect(np.ones(128))]})
    assert Gallery.unseal(protector, legacy).engine == ENGINE_KEYS[ENGINE_DLIB]


def clustered_encodings(
    rng: np.random.Generator, identities: int, spread: float = 0.15
) -> dict[str, list[np.ndarray]]:
    """Synthetic faces: identities in a few tight clusters, several samples each (1-5)."""
    centres = rng.normal(size=(max(2, identities // 6), ENCODING_DIM)) * 0.04
    return {
        f"r{i:03d}": [
            centres[i % len(centres)]
            + rng.normal(size=ENCODING_DIM) * spread / 11
            + rng.normal(size=ENCODING_DIM) * 0.01
            for _ in range(int(rng.integers(1, 6)))
        ]
        for i in range(identities)
    }


def assert_cohort_is_a_full_recompute(gallery: Gallery) -> None:
    expected = brute_force_rule.neighbours(gallery)
    for resident_id, value in expected.items():
        actual = gallery.neighbour_distance(resident_id)
        if value is None:
            assert actual is None
        else:
            assert actual == pytest.approx(value, rel=1e-9, abs=1e-7), resident_id
    rebuilt = TemplateIndex.build(sorted(gallery._templates.items()))
    for resident_id in expected:
        assert rebuilt.neighbour_distance(resident_id) == gallery.neighbour_distance(
            resident_id
        ) or rebuilt.neighbour_distance(resident_id) == pytest.approx(
            gallery.neighbour_distance(resident_id), rel=1e-9, abs=1e-7
        )  # abs: duplicated samples are 0 apart, give or take the rounding of a matrix product


def test_incremental_cohort_equals_a_full_recompute_through_enrolments_and_erasures(
    gallery: Gallery,
) -> None:
    """Enrol, re-enrol, erase in any order: the kept cohort is what a full pass computes."""
    rng = np.random.default_rng(15)
    faces = clustered_encodings(rng, 40)
    names = list(faces)
    gallery.prepare()  # from here on, every change is incremental
    for name in names[:30]:
        gallery.add_identity(name, faces[name])
    assert_cohort_is_a_full_recompute(gallery)
    for name in names[:10]:  # re-enrolment: the old samples leave, their neighbours move
        gallery.add_identity(name, faces[names[-1 - names.index(name)]])
    for name in names[10:25:2]:
        gallery.remove_identity(name)
    assert_cohort_is_a_full_recompute(gallery)
    for name in names[30:]:
        gallery.add_identity(name, faces[name])
    while len(gallery) > 1:
        gallery.remove_identity(gallery.resident_ids[len(gallery) // 2])
        if len(gallery) % 7 == 0:
            assert_cohort_is_a_full_recompute(gallery)
    (last,) = gallery.resident_ids
    assert gallery.neighbour_distance(last) is None  # alone: no cohort


def test_the_index_finds_what_a_full_sort_finds(gallery: Gallery) -> None:
    """Top two and decisions on many probes, also after erasures, against the full sort."""
    rng = np.random.default_rng(7)
    faces = clustered_encodings(rng, 60)
    for name, samples in faces.items():
        gallery.add_identity(name, samples)
    probes = [s + rng.normal(size=ENCODING_DIM) * 0.01 for ss in faces.values() for s in ss]
    probes += [rng.normal(size=ENCODING_DIM) * 0.05 for _ in range(50)]
    firsts = [samples[0] for samples in faces.values()]
    probes += [(a + b) / 2 for a, b in zip(firsts, firsts[10:], strict=False)]  # between two
    for _ in range(2):  # then again after erasures
        reasons = set()
        for probe in probes:
            expected = brute_force_rule.decide(gallery, probe)
            actual = decide(gallery, probe)
            assert (actual.resident_id, actual.reason) == expected
            reasons.add(expected[1])
            top = gallery.best_matches(probe, k=3)
            protected = gallery._protector.protect(probe)
            exact = sorted(
                (float(np.linalg.norm(np.stack(ts) - protected, axis=1).min()), r)
                for r, ts in gallery._templates.items()
            )[:3]
            assert [(c.distance, c.resident_id) for c in top] == exact
        assert reasons == {"match", "unknown", "ambiguous"}  # every branch was compared
        for name in list(faces)[::3]:
            gallery.remove_identity(name)
