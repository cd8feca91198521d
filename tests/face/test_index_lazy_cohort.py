"""Loading a gallery computes no cohort (O(N^2) at 100,000 templates); it comes when asked for."""

import numpy as np

from custom_components.facegate.face.decision import decide
from custom_components.facegate.face.gallery import Gallery
from custom_components.facegate.face.protection import TemplateProtector

from .test_gallery import SECRET, assert_cohort_is_a_full_recompute, clustered_encodings


def loaded_gallery(faces: dict[str, list[np.ndarray]]) -> Gallery:
    """A gallery as it comes back from storage: sealed, unsealed, indexed."""
    protector = TemplateProtector(SECRET)
    stored = Gallery(protector)
    for name, samples in faces.items():
        stored.add_identity(name, samples)
    gallery = Gallery.unseal(protector, stored.seal())
    gallery.prepare()  # what FaceService does on loading
    return gallery


def test_loading_measures_no_cohort_until_a_probe_needs_one() -> None:
    faces = clustered_encodings(np.random.default_rng(4), 30)
    gallery = loaded_gallery(faces)
    index = gallery.prepare()
    assert not index._known.any()  # nothing measured: no O(N^2) pass

    match = decide(gallery, faces["r005"][0])

    assert match.resident_id == "r005"
    measured = {index._names[int(slot)] for slot in index._owner[index._known]}
    assert measured == {"r005"}  # O(k N): the matched identity only


def test_enrolments_and_erasures_after_loading_keep_the_cohort_exact() -> None:
    """Rows not measured yet must not take a new identity's distance as their nearest one."""
    rng = np.random.default_rng(9)
    faces = clustered_encodings(rng, 40)
    names = list(faces)
    gallery = loaded_gallery({name: faces[name] for name in names[:25]})
    gallery.neighbour_distance(names[3])  # one identity measured, the others not yet
    for name in names[25:]:
        gallery.add_identity(name, faces[name])
    for name in names[5:15:3]:
        gallery.remove_identity(name)
    gallery.add_identity(names[0], faces[names[-1]])  # re-enrolled next to someone else

    assert_cohort_is_a_full_recompute(gallery)
