"""Access decisions at a door: who presented what, and whether the household's rules let them in.

PIN matching (slow scrypt) is a pure function, `find_pin`, for an executor thread; the
controller's decisions are quick and run where its state lives (Home Assistant's event loop).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .audit import AuditLog, AuditRecord, Outcome
from .credentials import PIN_PATTERN, UNMATCHABLE, pin_lookup, same_digest, verify_pin
from .directory import Directory, PinCandidate, Resident
from .lockout import Lockout
from .modes import Mode, Policy

SECOND_FACTOR_WINDOW = 30.0  # seconds between the two modes of a two-mode household
METHOD_VISITOR = "visitor"
METHOD_VOICE = "voice"
REASON_DURESS = "duress"  # the reason of a duress PIN that opened the door


@dataclass(frozen=True, slots=True)
class Door:
    """What a decision needs to know of a door."""

    door_id: str
    household_ids: frozenset[str]
    voice_unlock: bool = False  # off by default: whoever talks to the assistant is not known


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of one attempt; `reason` explains it to the resident (a translation key)."""

    door_id: str
    method: str
    outcome: Outcome
    reason: str
    resident_id: str | None = None
    household_id: str | None = None
    lockout_seconds: float = 0.0
    note: str | None = None  # why, in the caller's words (an unlock action's reason); not audited
    recognised_id: str | None = None  # audit.AuditRecord.recognised_id; never in events

    @property
    def granted(self) -> bool:
        """Whether the door opens (a duress PIN opens too, and raises the alarm).

        A duress PIN that a rule turns away (no second factor yet) raises the alarm too:
        outcome DURESS with that rule's reason, and the door stays shut.
        """
        return self.outcome is Outcome.GRANTED or (
            self.outcome is Outcome.DURESS and self.reason == REASON_DURESS
        )


def find_pin(pin: str, candidates: Sequence[PinCandidate], key: bytes) -> PinCandidate | None:
    """The candidate whose hash matches (slow: scrypt; run in an executor).

    The PIN's keyed lookup digest names its candidate, whose scrypt hash is then verified
    once: one key derivation per attempt however many PINs and codes the site holds (one on
    a dummy hash when none is named, so the time taken tells nothing). Candidates stored
    before lookup digests existed (`lookup` None) are each verified, as they always were,
    until a match gives them their digest (Directory.add_pin_lookup).
    """
    if not PIN_PATTERN.fullmatch(pin):
        return None
    lookup = pin_lookup(pin, key)
    named = [c.pin for c in candidates if c.pin.lookup and same_digest(c.pin.lookup, lookup)]
    match = None
    for candidate in candidates:
        # Legacy candidates and those the digest names: each verified, none skipped.
        wanted = candidate.pin.lookup is None or candidate.pin in named
        if wanted and verify_pin(pin, candidate.pin) and match is None:
            match = candidate
    if not named:
        verify_pin(pin, UNMATCHABLE)
    return match


class AccessController:
    """Turns presented credentials into audited decisions, with lockout per door."""

    def __init__(self, directory: Directory, lockout: Lockout, audit: AuditLog) -> None:
        self.directory = directory
        self.lockout = lockout
        self.audit = audit
        self._pending: dict[tuple[str, str], tuple[Mode, float, bool]] = {}

    def refuse_if_locked_out(self, door: Door, method: str, now: float) -> Decision | None:
        """A denial while the door's readers are locked out (checked before any hashing)."""
        remaining = self.lockout.remaining(door.door_id, now)
        if not remaining:
            return None
        return self.record(
            Decision(door.door_id, method, Outcome.DENIED, "locked_out", lockout_seconds=remaining),
            now,
        )

    def decide_pin(self, door: Door, match: PinCandidate | None, now: float) -> Decision:
        """Decide on a PIN, given what find_pin matched among the door's candidates."""
        if match is None:
            return self._failure(door, Mode.PIN, now)
        if match.kind == METHOD_VISITOR:
            return self._visitor(door, match.owner_id, now)
        resident = self.directory.residents.get(match.owner_id)
        if resident is None:  # removed while the PIN was being matched
            return self._failure(door, Mode.PIN, now)
        return self._resident_factor(door, resident, Mode.PIN, now, duress=match.kind == "duress")

    def decide_card(self, door: Door, digest: str, now: float) -> Decision:
        """Decide on a card, given its keyed digest."""
        resident = self.directory.card_owner(digest)
        if resident is None:
            return self._failure(door, Mode.CARD, now)
        return self._resident_factor(door, resident, Mode.CARD, now)

    def decide_card_at_reader(
        self, doors: Sequence[Door], digest: str, now: float
    ) -> list[Decision]:
        """Decide one tap at a reader that serves these doors: one attempt, whatever their number.

        A known card is decided only at the doors serving its holder's household, so a
        neighbour's tap at a shared reader counts nowhere as a failure. An unknown card
        (or one none of these doors serves) counts once at each door: guesses at a shared
        reader lock all its doors out together. A door already locked out refuses unheard.
        """
        resident = self.directory.card_owner(digest)
        served = [d for d in doors if resident and resident.household_id in d.household_ids]
        decisions = []
        for door in served or doors:
            if refused := self.refuse_if_locked_out(door, Mode.CARD, now):
                decisions.append(refused)
            elif resident and served:
                decisions.append(self._resident_factor(door, resident, Mode.CARD, now))
            else:
                decisions.append(self._failure(door, Mode.CARD, now))
        return decisions

    def decide_face(
        self, door: Door, resident_id: str, now: float, *, via: str | None = None
    ) -> Decision:
        """Decide on a recognised resident: needs their consent and the household's face mode.

        `via` names what the face backs up (a voice request), for the audit's method.
        """
        method = f"{via}+{Mode.FACE}" if via else Mode.FACE
        resident = self.directory.residents.get(resident_id)
        if resident is None or resident.household_id not in door.household_ids:
            refused = Decision(door.door_id, method, Outcome.DENIED, "unknown_face")
            seen = resident_id if resident else None  # a resident, but not of this door
            return self.record(replace(refused, recognised_id=seen), now)
        if resident.face_consent is None:
            return self._denied(door, method, "no_face_consent", resident, now)
        return self._resident_factor(door, resident, Mode.FACE, now, via=via)

    def refuse_voice(self, door: Door, now: float) -> Decision | None:
        """Refuse a spoken unlock at a door that does not take them (the default)."""
        if door.voice_unlock:
            return None
        return self._denied(door, METHOD_VOICE, "voice_disabled", None, now)

    def decide_voice(self, door: Door, recognised: str | None, now: float) -> Decision:
        """Decide on a spoken unlock without a code.

        A voice is not an identity: a consenting resident recognised at this door just now
        (`recognised`) must back it, through the same rules as face unlock.
        """
        if refused := self.refuse_voice(door, now):
            return refused
        if recognised is None:
            return self._denied(door, METHOD_VOICE, "voice_second_factor_needed", None, now)
        return self.decide_face(door, recognised, now, via=METHOD_VOICE)

    def _visitor(self, door: Door, code_id: str, now: float) -> Decision:
        code = self.directory.visitor_codes.get(code_id)
        if code is None or code.valid_until <= now or code.household_id not in door.household_ids:
            return self._failure(door, METHOD_VISITOR, now)
        household = self.directory.households.get(code.household_id)
        if household is None or Mode.PIN not in household.modes:
            return self.record(
                Decision(
                    door.door_id,
                    METHOD_VISITOR,
                    Outcome.DENIED,
                    "mode_disabled",
                    household_id=code.household_id,
                ),
                now,
            )
        self.directory.use_visitor_code(code_id)
        decision = Decision(
            door.door_id,
            METHOD_VISITOR,
            Outcome.GRANTED,
            "visitor_code",
            household_id=code.household_id,
        )
        return self.record(decision, now)

    def _resident_factor(
        self,
        door: Door,
        resident: Resident,
        mode: Mode,
        now: float,
        *,
        duress: bool = False,
        via: str | None = None,
    ) -> Decision:
        label = f"{via}+{mode}" if via else mode
        household = self.directory.households.get(resident.household_id)
        if household is None or resident.household_id not in door.household_ids:
            return self._failure(door, label, now)
        if mode not in household.modes:
            return self._denied(door, label, "mode_disabled", resident, now, duress=duress)
        if household.policy is Policy.TWO_MODES:
            # A duress PIN is a PIN: it needs the second factor like any other, or it would
            # be the one PIN that opens alone. It raises the alarm either way (_denied).
            first = self._second_factor(door, resident, mode, now, duress=duress)
            if first is None:
                return self._denied(
                    door, label, "second_factor_needed", resident, now, duress=duress
                )
            earlier_mode, earlier_duress = first
            duress = duress or earlier_duress
            label = f"{via}+{earlier_mode}+{mode}" if via else f"{earlier_mode}+{mode}"
        return self._grant(door, resident, label, now, duress=duress)

    def _second_factor(
        self, door: Door, resident: Resident, mode: Mode, now: float, *, duress: bool
    ) -> tuple[Mode, bool] | None:
        """The earlier, different mode this resident presented here in time, if any.

        With it, whether that earlier factor was a duress PIN: the door then opens as under
        duress whichever factor came second.
        """
        key = (door.door_id, resident.resident_id)
        earlier = self._pending.pop(key, None)
        if earlier and earlier[0] is not mode and now - earlier[1] <= SECOND_FACTOR_WINDOW:
            return earlier[0], earlier[2]
        self._pending[key] = (mode, now, duress)
        return None

    def _grant(
        self, door: Door, resident: Resident, method: str, now: float, *, duress: bool = False
    ) -> Decision:
        # No lockout reset: a grant forgives no earlier failure (see lockout.py).
        outcome, reason = (
            (Outcome.DURESS, REASON_DURESS) if duress else (Outcome.GRANTED, "granted")
        )
        decision = Decision(
            door.door_id, method, outcome, reason, resident.resident_id, resident.household_id
        )
        return self.record(decision, now)

    def _denied(
        self,
        door: Door,
        method: str,
        reason: str,
        resident: Resident | None,
        now: float,
        *,
        duress: bool = False,
    ) -> Decision:
        """A known person turned away by a rule: not a guess, so not counted for lockout.

        A duress PIN turned away still raises the alarm (outcome DURESS, door shut): the
        person under threat may never get to present the second factor. The reason shown
        at the door is the same as for their normal PIN, so nothing there betrays it.
        """
        decision = Decision(
            door.door_id,
            method,
            Outcome.DURESS if duress else Outcome.DENIED,
            reason,
            resident.resident_id if resident else None,
            resident.household_id if resident else None,
        )
        return self.record(decision, now)

    def _failure(self, door: Door, method: str, now: float) -> Decision:
        """An unknown credential: counted towards the door's lockout."""
        seconds = self.lockout.record_failure(door.door_id, now)
        outcome, reason = (
            (Outcome.LOCKOUT, "too_many_failures")
            if seconds
            else (Outcome.DENIED, "unknown_credential")
        )
        return self.record(
            Decision(door.door_id, method, outcome, reason, lockout_seconds=seconds), now
        )

    def record(self, decision: Decision, now: float) -> Decision:
        """Audit a decision (also those taken outside the credential paths: UI, refusals)."""
        self.audit.add(
            AuditRecord(
                now,
                decision.door_id,
                decision.method,
                decision.outcome,
                decision.reason,
                decision.resident_id,
                recognised_id=decision.recognised_id,
            )
        )
        return decision
