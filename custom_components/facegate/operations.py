"""What a person may do to a resident, shared by the actions and the panel's websocket commands.

Every function takes the caller's Context and checks it with permissions.py, so an action and
a websocket command decide the same way. None returns a stored secret; a new visitor code is
returned once, to its creator.
"""

import hashlib
import time
from collections.abc import Callable
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr

from . import face_watch
from .access.directory import Resident
from .access.errors import AccessError
from .face.liveness import frame_quality
from .face_photos import async_camera_samples, async_photo_files
from .face_service import Frame
from .permissions import async_check_may_manage, async_is_admin
from .residents import (
    async_check_user,
    async_create_visitor_code,
    async_record_consent,
    async_set_pin,
    has_face_consent,
)
from .runtime import FaceGateRuntime, loaded_runtimes
from .tags import ENROL_WINDOW


def find_resident(hass: HomeAssistant, resident_id: str) -> tuple[FaceGateRuntime, Resident]:
    """The site and resident of a resident id, from any loaded site."""
    for runtime in loaded_runtimes(hass):
        if resident := runtime.directory.residents.get(resident_id):
            return runtime, resident
    raise AccessError("unknown_resident")


async def async_managed_resident(
    hass: HomeAssistant, context: Context, resident_id: str
) -> tuple[FaceGateRuntime, Resident]:
    """The resident, if the caller may manage their household (admin or a member)."""
    runtime, resident = find_resident(hass, resident_id)
    await async_check_may_manage(hass, runtime, context, resident.household_id)
    return runtime, resident


async def async_own_or_admin_resident(
    hass: HomeAssistant, context: Context, resident_id: str
) -> tuple[FaceGateRuntime, Resident]:
    """The resident, if the caller is that resident or an admin.

    Consent to face recognition is personal: other members of the household cannot give it.
    """
    runtime, resident = find_resident(hass, resident_id)
    user_id = context.user_id
    if not (user_id and user_id == resident.user_id) and not await async_is_admin(hass, user_id):
        raise AccessError("not_allowed")
    return runtime, resident


async def _requester(hass: HomeAssistant, context: Context) -> str | None:
    """None for an admin (no budget), else the user whose budget a change uses."""
    return None if await async_is_admin(hass, context.user_id) else context.user_id


# Residents ------------------------------------------------------------------------------------


async def async_add_resident(
    hass: HomeAssistant,
    context: Context,
    household_id: str,
    name: str,
    user_id: str | None = None,
    show_name: bool = False,
) -> str:
    """Add a resident to a household the caller manages; linking a user is an admin's."""
    runtime = next((r for r in loaded_runtimes(hass) if household_id in r.household_names), None)
    if runtime is None:
        raise AccessError("unknown_household")
    await async_check_may_manage(hass, runtime, context, household_id)
    if user_id:
        await _async_check_link(hass, context, user_id)
    resident = runtime.directory.add_resident(household_id, name, user_id or None, show_name)
    await runtime.async_save()
    return resident.resident_id


async def async_link_resident(
    hass: HomeAssistant, context: Context, resident_id: str, user_id: str | None
) -> None:
    """Link a resident to a Home Assistant user, or unlink them (None): admins only.

    A link gives the personal rights: face consent, the data export, unlocking without a code.
    """
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    await _async_check_link(hass, context, user_id)
    runtime.directory.update_resident(resident.resident_id, user_id=user_id or "")
    await runtime.async_save()


async def _async_check_link(hass: HomeAssistant, context: Context, user_id: str | None) -> None:
    if not await async_is_admin(hass, context.user_id):
        raise AccessError("link_admin_only")
    await async_check_user(hass, user_id)


async def async_remove_resident(hass: HomeAssistant, context: Context, resident_id: str) -> None:
    """Remove a resident with every credential, their codes, consent history and face."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    runtime.directory.remove_resident(resident.resident_id)
    await runtime.async_save()
    await runtime.faces.async_erase(resident.resident_id)


async def async_users(hass: HomeAssistant, context: Context) -> list[dict[str, Any]]:
    """Admins: the people who can be linked to a resident (no system or inactive users)."""
    if not await async_is_admin(hass, context.user_id):
        raise AccessError("not_allowed")
    users = await hass.auth.async_get_users()
    return [
        {"user_id": u.id, "name": u.name} for u in users if not u.system_generated and u.is_active
    ]


# Credentials ----------------------------------------------------------------------------------


async def async_resident_set_pin(
    hass: HomeAssistant, context: Context, resident_id: str, pin: str, *, duress: bool
) -> None:
    """Set a resident's PIN or duress PIN."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    await async_set_pin(
        hass, runtime, resident, pin, duress=duress, requester=await _requester(hass, context)
    )


async def async_resident_remove_pin(
    hass: HomeAssistant, context: Context, resident_id: str, *, duress: bool
) -> None:
    """Remove a resident's PIN or duress PIN."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    runtime.directory.set_pin(resident.resident_id, None, duress=duress)
    await runtime.async_save()


async def async_resident_visitor_code(
    hass: HomeAssistant, context: Context, resident_id: str, valid_for_minutes: int, uses: int
) -> dict[str, Any]:
    """Create a visitor code for the resident's household: the code is returned only here."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    valid_until = time.time() + valid_for_minutes * 60
    code = await async_create_visitor_code(
        hass, runtime, resident, valid_until, uses, requester=await _requester(hass, context)
    )
    return {"code": code, "valid_until": valid_until, "uses": uses}


async def async_resident_revoke_visitor_code(
    hass: HomeAssistant, context: Context, resident_id: str, code_id: str
) -> None:
    """Revoke a visitor code the resident made, at once."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    code = runtime.directory.visitor_codes.get(code_id)
    if code is None or code.created_by != resident.resident_id:
        raise AccessError("unknown_visitor_code")  # nobody revokes another resident's codes
    del runtime.directory.visitor_codes[code_id]
    await runtime.async_save()


def card_ref(digest: str) -> str:
    """A handle for one of a resident's cards: tells neither the UID nor its stored digest."""
    return hashlib.sha256(digest.encode()).hexdigest()[:12]


async def async_resident_enrol_card(
    hass: HomeAssistant, context: Context, resident_id: str, reader: str
) -> tuple[FaceGateRuntime, str, float]:
    """Open the reader's enrolment window; the site, the resident id and the window's end.

    The next new card tapped at the reader becomes the resident's (tags.py).
    """
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    if not any(
        reader in door.reader_device_ids and resident.household_id in door.household_ids
        for door in runtime.doors.values()
    ):
        raise AccessError("unknown_reader")  # only at the doors of the resident's household
    waiting, now = runtime.card_enrolments.get(reader), time.time()
    if waiting and waiting[1] >= now and waiting[0] != resident.resident_id:
        raise AccessError("enrol_reader_busy")  # nobody takes over another's window
    runtime.card_enrolments[reader] = (resident.resident_id, now + ENROL_WINDOW)
    return runtime, resident.resident_id, now + ENROL_WINDOW


async def async_resident_remove_card(
    hass: HomeAssistant, context: Context, resident_id: str, ref: str
) -> None:
    """Take a card (named by its card_ref) from the resident."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    digest = next((d for d in resident.cards if card_ref(d) == ref), None)
    if digest is None:
        raise AccessError("unknown_card")
    runtime.directory.remove_card(resident.resident_id, digest)
    await runtime.async_save()


# Face -----------------------------------------------------------------------------------------


async def async_resident_set_consent(
    hass: HomeAssistant, context: Context, resident_id: str, consent: bool
) -> None:
    """Give (the resident or an admin) or withdraw (anyone of the household) face consent."""
    if not consent:  # withdrawing is always possible for the household
        runtime, resident = await async_managed_resident(hass, context, resident_id)
        await async_record_consent(hass, runtime, resident, context.user_id, given=False)
        await runtime.async_save()
        await runtime.faces.async_erase(resident.resident_id)  # at once, on disk too
        return
    runtime, resident = await async_own_or_admin_resident(hass, context, resident_id)
    await async_record_consent(hass, runtime, resident, context.user_id, given=True)
    await runtime.async_save()


async def async_resident_enrol_face(  # noqa: PLR0913 - the action's fields, and the guide
    hass: HomeAssistant,
    context: Context,
    resident_id: str,
    *,
    camera: str | None = None,
    photos: list[str] | None = None,
    samples: int = 3,
    guide: Callable[[str], None] | None = None,
) -> int:
    """Enrol the resident's face; the number of samples kept.

    `guide` hears, for each frame of a live enrolment, what the person should do next
    (enrol_guidance).
    """
    runtime, resident = await async_own_or_admin_resident(hass, context, resident_id)
    if resident.face_consent is None:
        raise AccessError("no_face_consent")
    # Photos and a camera without liveness are an administrator's action; a resident enrolling
    # themselves from a camera must show a live face, as at the door.
    admin = await async_is_admin(hass, context.user_id)
    if photos:
        if not admin:
            raise AccessError("enrol_photos_admin_only")
        images = await async_photo_files(hass, photos)
    elif camera:
        images = await (
            async_camera_samples(hass, camera, samples)
            if admin
            else face_watch.async_live_samples(
                hass,
                runtime,
                camera,
                samples,
                (lambda frame: guide(enrol_guidance(frame))) if guide else None,
            )
        )
    else:
        raise AccessError("photo_source_missing")
    return await runtime.faces.async_enrol(
        resident.resident_id, images, lambda: has_face_consent(runtime, resident)
    )


def enrol_guidance(frame: Frame | None) -> str:
    """What a person enrolling at a camera should do now, from one analysed frame.

    "no_face", "one_face_only", a quality problem of face/liveness.frame_quality (come closer,
    too dark, hold still, look at the camera), or "keep_looking": the face is good, liveness
    is being judged.
    """
    if frame is None or not frame.faces:
        return "no_face"
    if len(frame.faces) > 1:
        return "one_face_only"
    return frame_quality(frame.faces[0], frame.size) or "keep_looking"


async def async_resident_remove_face(
    hass: HomeAssistant, context: Context, resident_id: str
) -> None:
    """Erase a resident's face templates at once; their consent stays as it was."""
    runtime, resident = await async_managed_resident(hass, context, resident_id)
    await runtime.faces.async_erase(resident.resident_id)


# What FaceGate keeps --------------------------------------------------------------------------


def _summary(runtime: FaceGateRuntime, resident: Resident) -> dict[str, Any]:
    """What a resident has, never the secret itself."""
    consent = resident.face_consent
    return {
        "resident_id": resident.resident_id,
        "name": resident.name,
        "household": runtime.household_names.get(resident.household_id),
        "linked_user": resident.user_id,
        "show_name": resident.show_name,
        "has_pin": resident.pin is not None,
        "has_duress_pin": resident.duress_pin is not None,
        "cards": len(resident.cards),
        "card_refs": [card_ref(d) for d in resident.cards],
        "visitor_codes": [  # the ones this resident made that are still valid; never the code
            {"code_id": c.code_id, "valid_until": c.valid_until, "uses_left": c.uses_left}
            for c in runtime.directory.visitor_codes.values()
            if c.created_by == resident.resident_id and c.valid_until > time.time()
        ],
        "face_consent": (
            {"given_at": consent.given_at, "recorded_by": consent.recorded_by} if consent else None
        ),
        "face_samples": runtime.faces.gallery.sample_count(resident.resident_id),
    }


def _consent_history(runtime: FaceGateRuntime, resident: Resident) -> list[dict[str, Any]]:
    """Every change of the resident's consent, oldest first; by None: an administrator."""
    return [
        {"time": c.time, "given": c.given, "by": c.by}
        for c in runtime.consents.of(resident.resident_id)
    ]


def _history(runtime: FaceGateRuntime, resident: Resident) -> list[dict[str, Any]]:
    return [
        {
            "time": r.time,
            "door": runtime.doors[r.door_id].name if r.door_id in runtime.doors else None,
            "method": r.method,
            "outcome": r.outcome.value,
            "reason": r.reason,
            "count": r.count,
            # A scan in which the camera recognised the resident, whether or not it opened.
            "face_recognised": "face" in r.method.split("+"),
        }
        for r in runtime.audit.records
        if resident.resident_id in (r.resident_id, r.recognised_id)
    ]


async def async_resident_export(
    hass: HomeAssistant, context: Context, resident_id: str
) -> dict[str, Any]:
    """Everything FaceGate keeps about a resident, as metadata: never a hash or a template."""
    runtime, resident = await async_own_or_admin_resident(hass, context, resident_id)
    return {
        **_summary(runtime, resident),
        "access_history": _history(runtime, resident),
        "consent_history": _consent_history(runtime, resident),
    }


async def async_resident_ledger(
    hass: HomeAssistant, context: Context, resident_id: str
) -> dict[str, Any]:
    """The resident's privacy ledger: every decision about them, their consent, the retention."""
    runtime, resident = await async_own_or_admin_resident(hass, context, resident_id)
    consent = resident.face_consent
    return {
        "resident_id": resident.resident_id,
        "records": list(reversed(_history(runtime, resident))),  # newest first
        "consent_history": list(reversed(_consent_history(runtime, resident))),
        "consent": (
            {"given_at": consent.given_at, "recorded_by": consent.recorded_by} if consent else None
        ),
        "retention_days": runtime.audit.retention / 86400,
    }


async def async_resident_erase(hass: HomeAssistant, context: Context, resident_id: str) -> None:
    """Erase a resident's credentials and face at once: consent, templates, PINs and cards.

    The resident stays (an admin removes residents); the audit keeps its records, which hold
    no secret, until the retention ends.
    """
    runtime, resident = await async_own_or_admin_resident(hass, context, resident_id)
    directory = runtime.directory
    await async_record_consent(hass, runtime, resident, context.user_id, given=False)
    directory.set_pin(resident.resident_id, None)
    directory.set_pin(resident.resident_id, None, duress=True)
    for digest in list(resident.cards):
        directory.remove_card(resident.resident_id, digest)
    await runtime.async_save()
    await runtime.faces.async_erase(resident.resident_id)


def _readers(hass: HomeAssistant, runtime: FaceGateRuntime, household_id: str) -> list[Any]:
    """The card readers at the household's doors, for enrolling a card by tapping."""
    devices = dr.async_get(hass)
    readers = []
    for door in runtime.doors.values():
        if household_id in door.household_ids:
            for device_id in door.reader_device_ids:
                device = devices.async_get(device_id)
                name = device and (device.name_by_user or device.name)
                label = f"{door.name}: {name}" if name else door.name
                readers.append({"reader": device_id, "name": label})
    return readers


def _household_view(
    hass: HomeAssistant, runtime: FaceGateRuntime, household_id: str
) -> dict[str, Any]:
    household = runtime.directory.household(household_id)
    return {
        "household_id": household_id,
        "name": runtime.household_names.get(household_id),
        "modes": sorted(household.modes),
        "policy": household.policy.value,
        "doors": sorted(d.name for d in runtime.doors.values() if household_id in d.household_ids),
        "readers": _readers(hass, runtime, household_id),
    }


async def async_me(hass: HomeAssistant, context: Context) -> dict[str, Any]:
    """The calling user's residents and their households, and whether they are an admin."""
    residents = []
    for runtime in loaded_runtimes(hass):
        for resident in runtime.directory.residents_of_user(context.user_id or ""):
            residents.append(
                {
                    **_summary(runtime, resident),
                    "household": _household_view(hass, runtime, resident.household_id),
                }
            )
    return {"admin": await async_is_admin(hass, context.user_id), "residents": residents}


async def async_overview(hass: HomeAssistant, context: Context) -> dict[str, Any]:
    """Admins: every household and resident with what each has, never the secrets."""
    if not await async_is_admin(hass, context.user_id):
        raise AccessError("not_allowed")
    households = []
    for runtime in loaded_runtimes(hass):
        for household_id in runtime.household_names:
            households.append(
                {
                    **_household_view(hass, runtime, household_id),
                    "site": runtime.site_name,
                    "residents": [
                        _summary(runtime, r) for r in runtime.directory.residents_of([household_id])
                    ],
                }
            )
    return {"households": households}
