"""Who lives where: households with their modes, residents with their credentials, visitors.

Holds only hashes and digests. Methods that need a PIN's hash take it already computed, so
that the slow hashing runs in an executor while this object is only touched from one thread.
"""

import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .credentials import PinHash
from .errors import AccessError
from .modes import Mode, Policy, validate_modes

MAX_NAME_LENGTH = 64
MAX_VISITOR_CODES = 10  # active codes per household: each is a way in, and costs a lookup
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})  # control characters, lone surrogates


@dataclass(slots=True)
class Household:
    """A household's current choice of modes (changed by its residents) and policy."""

    modes: frozenset[Mode]
    policy: Policy = Policy.ANY


@dataclass(frozen=True, slots=True)
class Consent:
    """A resident's recorded agreement to face recognition."""

    given_at: float
    recorded_by: str | None  # the HA user who recorded it


@dataclass(slots=True)
class Resident:
    """A person of a household; credentials only as hashes and keyed digests."""

    resident_id: str
    household_id: str
    name: str
    user_id: str | None = None
    show_name: bool = False
    pin: PinHash | None = None
    duress_pin: PinHash | None = None
    cards: list[str] = field(default_factory=list)
    face_consent: Consent | None = None


@dataclass(slots=True)
class VisitorCode:
    """A code a resident made for a visitor: limited in time and number of uses."""

    code_id: str
    household_id: str
    created_by: str
    pin: PinHash
    valid_until: float
    uses_left: int


@dataclass(frozen=True, slots=True)
class PinCandidate:
    """A stored PIN hash and whose it is, for matching outside the event loop."""

    kind: str  # "pin", "duress" or "visitor"
    owner_id: str  # resident id, or visitor code id
    pin: PinHash


class Directory:
    """The households, residents and visitor codes of one site."""

    def __init__(self) -> None:
        self.households: dict[str, Household] = {}
        self.residents: dict[str, Resident] = {}
        self.visitor_codes: dict[str, VisitorCode] = {}

    # Households -----------------------------------------------------------------------------

    def sync_household(
        self, household_id: str, initial_modes: Iterable[Mode], policy: Policy
    ) -> None:
        """Register a configured household or apply its new policy; stored modes win.

        Raises AccessError, changing nothing, when the modes don't suit the policy.
        """
        household = self.households.get(household_id)
        modes = validate_modes(household.modes if household else initial_modes, policy)
        if household:
            household.policy = policy
        else:
            self.households[household_id] = Household(modes, policy)

    def household(self, household_id: str) -> Household:
        """The household, or AccessError("unknown_household")."""
        if household_id not in self.households:
            raise AccessError("unknown_household")
        return self.households[household_id]

    def set_mode(self, household_id: str, mode: Mode, enabled: bool) -> frozenset[Mode]:
        """Switch one mode; refuses what would leave no mode, face alone, or too few for policy."""
        household = self.household(household_id)
        wanted = household.modes | {mode} if enabled else household.modes - {mode}
        household.modes = validate_modes(wanted, household.policy)
        return household.modes

    def remove_household(self, household_id: str) -> None:
        """Forget a household with its residents and visitor codes."""
        self.households.pop(household_id, None)
        for resident in self.residents_of([household_id]):
            del self.residents[resident.resident_id]
        self.visitor_codes = {
            k: v for k, v in self.visitor_codes.items() if v.household_id != household_id
        }

    # Residents ------------------------------------------------------------------------------

    def add_resident(
        self, household_id: str, name: str, user_id: str | None = None, show_name: bool = False
    ) -> Resident:
        """Create a resident with no credential yet."""
        self.household(household_id)
        resident = Resident(
            secrets.token_hex(8), household_id, _valid_name(name), user_id, show_name
        )
        self.residents[resident.resident_id] = resident
        return resident

    def resident(self, resident_id: str) -> Resident:
        """The resident, or AccessError("unknown_resident")."""
        if resident_id not in self.residents:
            raise AccessError("unknown_resident")
        return self.residents[resident_id]

    def update_resident(
        self,
        resident_id: str,
        *,
        name: str | None = None,
        show_name: bool | None = None,
        user_id: str | None = None,
    ) -> Resident:
        """Change what a resident shows; None leaves a field as it is."""
        resident = self.resident(resident_id)
        if name is not None:
            resident.name = _valid_name(name)
        if show_name is not None:
            resident.show_name = show_name
        if user_id is not None:
            resident.user_id = user_id or None
        return resident

    def remove_resident(self, resident_id: str) -> None:
        """Delete a resident and every credential and consent they had, and their visitor codes.

        A code is its creator's word for a guest: it goes with them.
        """
        self.resident(resident_id)
        del self.residents[resident_id]
        self.visitor_codes = {
            k: v for k, v in self.visitor_codes.items() if v.created_by != resident_id
        }

    def residents_of(self, household_ids: Iterable[str]) -> list[Resident]:
        """Residents of these households."""
        wanted = set(household_ids)
        return [r for r in self.residents.values() if r.household_id in wanted]

    def residents_of_user(self, user_id: str) -> list[Resident]:
        """Residents linked to this Home Assistant user."""
        return [r for r in self.residents.values() if r.user_id == user_id]

    # Credentials ----------------------------------------------------------------------------

    def pin_candidates(self, household_ids: Iterable[str] | None = None) -> list[PinCandidate]:
        """Every stored PIN hash (of these households, or of the whole site)."""
        households = None if household_ids is None else set(household_ids)
        residents = self.residents.values() if households is None else self.residents_of(households)
        found = [PinCandidate("pin", r.resident_id, r.pin) for r in residents if r.pin]
        found += [
            PinCandidate("duress", r.resident_id, r.duress_pin) for r in residents if r.duress_pin
        ]
        found += [
            PinCandidate("visitor", code.code_id, code.pin)
            for code in self.visitor_codes.values()
            if households is None or code.household_id in households
        ]
        return found

    def set_pin(self, resident_id: str, pin: PinHash | None, *, duress: bool = False) -> None:
        """Store (or with None, remove) a resident's PIN or duress PIN hash."""
        resident = self.resident(resident_id)
        if duress:
            resident.duress_pin = pin
        else:
            resident.pin = pin

    def add_pin_lookup(self, candidate: PinCandidate, lookup: str) -> None:
        """Give a hash stored without a lookup digest its digest, once its PIN matched it.

        Nothing changes if the credential was replaced or removed in the meantime.
        """
        upgraded = replace(candidate.pin, lookup=lookup)
        if candidate.kind == "visitor":
            code = self.visitor_codes.get(candidate.owner_id)
            if code and code.pin is candidate.pin:
                code.pin = upgraded
            return
        resident = self.residents.get(candidate.owner_id)
        if resident and resident.pin is candidate.pin:
            resident.pin = upgraded
        elif resident and resident.duress_pin is candidate.pin:
            resident.duress_pin = upgraded

    def add_card(self, resident_id: str, digest: str) -> None:
        """Give a resident a card; a card belongs to one resident only."""
        resident = self.resident(resident_id)
        if self.card_owner(digest):
            raise AccessError("card_in_use")
        resident.cards.append(digest)

    def remove_card(self, resident_id: str, digest: str) -> None:
        """Take a card from a resident."""
        resident = self.resident(resident_id)
        if digest not in resident.cards:
            raise AccessError("unknown_card")
        resident.cards.remove(digest)

    def card_owner(self, digest: str) -> Resident | None:
        """The resident holding this card digest."""
        return next((r for r in self.residents.values() if digest in r.cards), None)

    def set_face_consent(self, resident_id: str, consent: Consent | None) -> None:
        """Record consent to face recognition, or withdraw it (None)."""
        self.resident(resident_id).face_consent = consent

    # Visitor codes --------------------------------------------------------------------------

    def add_visitor_code(
        self, resident_id: str, pin: PinHash, valid_until: float, uses: int
    ) -> VisitorCode:
        """A visitor code for the resident's household, within its cap of active codes.

        Callers drop expired codes first (drop_expired_visitor_codes), so the cap counts
        only active ones.
        """
        resident = self.resident(resident_id)
        if uses < 1:
            raise AccessError("invalid_uses")
        active = [c for c in self.visitor_codes.values() if c.household_id == resident.household_id]
        if len(active) >= MAX_VISITOR_CODES:
            raise AccessError("too_many_visitor_codes")
        code = VisitorCode(
            secrets.token_hex(8), resident.household_id, resident_id, pin, valid_until, uses
        )
        self.visitor_codes[code.code_id] = code
        return code

    def use_visitor_code(self, code_id: str) -> VisitorCode:
        """Count one use; the code disappears after its last."""
        code = self.visitor_codes[code_id]
        code.uses_left -= 1
        if code.uses_left <= 0:
            del self.visitor_codes[code_id]
        return code

    def drop_expired_visitor_codes(self, now: float) -> None:
        """Forget codes whose time is over."""
        self.visitor_codes = {k: v for k, v in self.visitor_codes.items() if v.valid_until > now}

    # Persistence ----------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the store."""
        return {
            "households": {
                hid: {"modes": sorted(h.modes), "policy": h.policy.value}
                for hid, h in self.households.items()
            },
            "residents": {rid: _resident_dict(r) for rid, r in self.residents.items()},
            "visitor_codes": {cid: _visitor_dict(c) for cid, c in self.visitor_codes.items()},
        }

    def load(self, data: dict[str, Any]) -> None:
        """Restore what as_dict wrote."""
        self.households = {
            hid: Household(frozenset(Mode(m) for m in h["modes"]), Policy(h["policy"]))
            for hid, h in data.get("households", {}).items()
        }
        self.residents = {
            rid: _resident_from(rid, r) for rid, r in data.get("residents", {}).items()
        }
        self.visitor_codes = {
            cid: _visitor_from(cid, c) for cid, c in data.get("visitor_codes", {}).items()
        }


def _valid_name(name: str) -> str:
    """The name without surrounding spaces, or AccessError("invalid_name").

    Refused: no letter or digit, too long, a control character (a line break or an escape in
    logs and the UI) or a lone surrogate (the store could never be written again: strict UTF-8).
    """
    name = name.strip()
    if (
        not any(char.isalnum() for char in name)
        or len(name) > MAX_NAME_LENGTH
        or any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in name)
    ):
        raise AccessError("invalid_name")
    return name


def _hash_dict(pin: PinHash | None) -> dict[str, Any] | None:
    return pin.as_dict() if pin else None


def _hash_from(data: dict[str, Any] | None) -> PinHash | None:
    return PinHash.from_dict(data) if data else None


def _resident_dict(r: Resident) -> dict[str, Any]:
    consent = r.face_consent
    return {
        "household_id": r.household_id,
        "name": r.name,
        "user_id": r.user_id,
        "show_name": r.show_name,
        "pin": _hash_dict(r.pin),
        "duress_pin": _hash_dict(r.duress_pin),
        "cards": list(r.cards),
        "face_consent": (
            {"given_at": consent.given_at, "recorded_by": consent.recorded_by} if consent else None
        ),
    }


def _resident_from(resident_id: str, d: dict[str, Any]) -> Resident:
    consent = d.get("face_consent")
    return Resident(
        resident_id,
        d["household_id"],
        d["name"],
        d.get("user_id"),
        bool(d.get("show_name", False)),
        _hash_from(d.get("pin")),
        _hash_from(d.get("duress_pin")),
        list(d.get("cards", [])),
        Consent(float(consent["given_at"]), consent["recorded_by"]) if consent else None,
    )


def _visitor_dict(c: VisitorCode) -> dict[str, Any]:
    return {
        "household_id": c.household_id,
        "created_by": c.created_by,
        "pin": c.pin.as_dict(),
        "valid_until": c.valid_until,
        "uses_left": c.uses_left,
    }


def _visitor_from(code_id: str, d: dict[str, Any]) -> VisitorCode:
    return VisitorCode(
        code_id,
        d["household_id"],
        d["created_by"],
        PinHash.from_dict(d["pin"]),
        float(d["valid_until"]),
        int(d["uses_left"]),
    )
