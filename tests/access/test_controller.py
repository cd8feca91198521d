"""Access decisions at a door: PINs, cards, faces, two modes, duress, visitors, lockout, audit."""

import dataclasses
import json
from dataclasses import dataclass, field

import pytest

from custom_components.facegate.access import controller as controller_module
from custom_components.facegate.access.audit import AuditLog, Outcome
from custom_components.facegate.access.controller import (
    SECOND_FACTOR_WINDOW,
    AccessController,
    Decision,
    Door,
    find_pin,
)
from custom_components.facegate.access.credentials import UNMATCHABLE, card_digest
from custom_components.facegate.access.directory import Consent, Directory, PinCandidate
from custom_components.facegate.access.lockout import Lockout
from custom_components.facegate.access.modes import Mode, Policy

from .helpers import CARD_KEY, GOOD_PIN, OTHER_PIN, THIRD_PIN, cheap_hash

T0 = 1_000_000.0

# Secrets of the site: none may show up in a decision or an audit record.
ALICE_PIN = "482915"
ALICE_DURESS = "739146"
BEN_PIN = "61803398"
BEN_DURESS = "27182818"
CAROL_PIN = "95173064"
VISITOR_PIN = "50719364"
WRONG_PIN = "86420975"
ALICE_CARD = "04:a2:3b:1c"
BEN_CARD = "04:77:e1:9d:52"
CAROL_CARD = "aa-bb-cc-dd"
UNKNOWN_CARD = "de:ad:be:ef"
PINS = (ALICE_PIN, ALICE_DURESS, BEN_PIN, BEN_DURESS, CAROL_PIN, VISITOR_PIN, WRONG_PIN)
CARDS = (ALICE_CARD, BEN_CARD, CAROL_CARD, UNKNOWN_CARD)

FRONT = Door("front", frozenset({"h1", "h2"}))
GARAGE = Door("garage", frozenset({"h3"}))
SIDE = Door("side", frozenset({"h2"}))


def digest(uid: str) -> str:
    return card_digest(uid, CARD_KEY)


@dataclass
class Site:
    """Households h1 (pin, card, face; any), h2 (pin, card; two modes), h3 (pin, card; any)."""

    directory: Directory
    lockout: Lockout
    audit: AuditLog
    ctl: AccessController
    alice: str  # h1, PIN + duress PIN + card, face consent
    ben: str  # h2, PIN + duress PIN + card, face consent
    dana: str  # h2, card only
    carol: str  # h3, PIN + card
    decisions: list[Decision] = field(default_factory=list)

    def pin(self, door: Door, pin: str, now: float) -> Decision:
        """What the HA layer does: lockout check, find_pin in the executor, decide."""
        decision = self.ctl.refuse_if_locked_out(door, "pin", now)
        if decision is None:
            match = find_pin(pin, self.directory.pin_candidates(door.household_ids), CARD_KEY)
            decision = self.ctl.decide_pin(door, match, now)
        self.decisions.append(decision)
        return decision

    def card(self, door: Door, uid: str, now: float) -> Decision:
        decision = self.ctl.refuse_if_locked_out(door, "card", now)
        if decision is None:
            decision = self.ctl.decide_card(door, digest(uid), now)
        self.decisions.append(decision)
        return decision

    def face(self, door: Door, resident_id: str, now: float) -> Decision:
        decision = self.ctl.decide_face(door, resident_id, now)
        self.decisions.append(decision)
        return decision

    def candidate(self, kind: str, owner_id: str) -> PinCandidate:
        """A site-wide candidate, as if matched before a change (or at another door)."""
        return next(
            c for c in self.directory.pin_candidates() if (c.kind, c.owner_id) == (kind, owner_id)
        )


@pytest.fixture
def site() -> Site:
    d = Directory()
    d.sync_household("h1", [Mode.PIN, Mode.CARD, Mode.FACE], Policy.ANY)
    d.sync_household("h2", [Mode.PIN, Mode.CARD], Policy.TWO_MODES)
    d.sync_household("h3", [Mode.PIN, Mode.CARD], Policy.ANY)
    alice = d.add_resident("h1", "Alice").resident_id
    ben = d.add_resident("h2", "Ben").resident_id
    dana = d.add_resident("h2", "Dana").resident_id
    carol = d.add_resident("h3", "Carol").resident_id
    d.set_pin(alice, cheap_hash(ALICE_PIN))
    d.set_pin(alice, cheap_hash(ALICE_DURESS), duress=True)
    d.set_pin(ben, cheap_hash(BEN_PIN))
    d.set_pin(ben, cheap_hash(BEN_DURESS), duress=True)
    d.set_pin(carol, cheap_hash(CAROL_PIN))
    d.add_card(alice, digest(ALICE_CARD))
    d.add_card(ben, digest(BEN_CARD))
    d.add_card(carol, digest(CAROL_CARD))
    d.set_face_consent(alice, Consent(T0 - 100, "admin"))
    d.set_face_consent(ben, Consent(T0 - 100, "admin"))
    lockout, audit = Lockout(), AuditLog()
    return Site(d, lockout, audit, AccessController(d, lockout, audit), alice, ben, dana, carol)


def assert_decision(decision, outcome, reason, method, *who):
    """Check a decision; `who` is (resident id, household id), none for an unknown person."""
    assert (
        decision.outcome,
        decision.reason,
        decision.method,
        decision.resident_id,
        decision.household_id,
    ) == (outcome, reason, method, *(who or (None, None)))


def front_failures(site: Site) -> int:
    return len(site.lockout.as_dict().get("front", {}).get("failures", []))


# find_pin ---------------------------------------------------------------------------------


def test_find_pin_with_real_hashes(real_hashes):
    candidates = [
        PinCandidate("pin", "r1", real_hashes[GOOD_PIN]),
        PinCandidate("duress", "r1", real_hashes[OTHER_PIN]),
        PinCandidate("visitor", "v1", real_hashes[THIRD_PIN]),
    ]
    assert find_pin(OTHER_PIN, candidates, CARD_KEY) is candidates[1]
    assert find_pin(WRONG_PIN, candidates, CARD_KEY) is None


def test_find_pin_picks_the_right_one_among_several():
    candidates = [PinCandidate("pin", f"r{i}", cheap_hash(f"58{i}3917")) for i in range(6)]
    assert find_pin("5843917", candidates, CARD_KEY) is candidates[4]
    assert find_pin("5803917", candidates, CARD_KEY) is candidates[0]
    assert find_pin("5863917", candidates, CARD_KEY) is None
    assert find_pin(GOOD_PIN, [], CARD_KEY) is None


def test_find_pin_checks_every_legacy_candidate(monkeypatch):
    candidates = [PinCandidate("pin", f"r{i}", cheap_hash(GOOD_PIN)) for i in range(4)]
    calls = []
    real_verify = controller_module.verify_pin

    def counting_verify(pin, stored):
        calls.append(stored)
        return real_verify(pin, stored)

    monkeypatch.setattr(controller_module, "verify_pin", counting_verify)
    # Stored without lookup digests, every candidate matches: the first wins, and all are
    # still checked (then the dummy hash, as no lookup digest named any).
    assert find_pin(GOOD_PIN, candidates, CARD_KEY) is candidates[0]
    assert calls == [c.pin for c in candidates] + [UNMATCHABLE]


# PIN and card -----------------------------------------------------------------------------


def test_decision_granted_property():
    def make(outcome, reason="x"):
        return Decision("front", "pin", outcome, reason)

    assert make(Outcome.GRANTED).granted
    assert make(Outcome.DURESS, "duress").granted
    assert not make(Outcome.DURESS, "second_factor_needed").granted  # alarm, door shut
    assert not make(Outcome.DENIED).granted
    assert not make(Outcome.LOCKOUT).granted


def test_pin_grant(site):
    decision = site.pin(FRONT, ALICE_PIN, T0)
    assert_decision(decision, Outcome.GRANTED, "granted", "pin", site.alice, "h1")
    assert decision.granted
    assert decision.lockout_seconds == 0.0


def test_card_grant_with_another_spelling_of_the_uid(site):
    decision = site.card(FRONT, "04A23B1C", T0)
    assert_decision(decision, Outcome.GRANTED, "granted", "card", site.alice, "h1")


def test_unknown_pin_counts_towards_lockout(site):
    for i in range(4):
        decision = site.pin(FRONT, WRONG_PIN, T0 + i)
        assert_decision(decision, Outcome.DENIED, "unknown_credential", "pin")
        assert not decision.granted
        assert decision.lockout_seconds == 0.0
    fifth = site.pin(FRONT, WRONG_PIN, T0 + 4)
    assert_decision(fifth, Outcome.LOCKOUT, "too_many_failures", "pin")
    assert fifth.lockout_seconds == 30.0
    assert not fifth.granted


def test_unknown_cards_and_pins_count_together(site):
    for i in range(2):
        site.card(FRONT, UNKNOWN_CARD, T0 + i)
        site.pin(FRONT, WRONG_PIN, T0 + 2 + i)
    fifth = site.card(FRONT, UNKNOWN_CARD, T0 + 4)
    assert_decision(fifth, Outcome.LOCKOUT, "too_many_failures", "card")


def test_refused_while_locked_out(site):
    for i in range(5):
        site.pin(FRONT, WRONG_PIN, T0 + i)
    locked_at = T0 + 4
    # Even the right PIN is refused before any hashing, and the refusal is not a failure.
    refused = site.pin(FRONT, ALICE_PIN, locked_at + 10)
    assert_decision(refused, Outcome.DENIED, "locked_out", "pin")
    assert refused.lockout_seconds == 20.0
    assert site.ctl.refuse_if_locked_out(FRONT, "card", locked_at + 29).lockout_seconds == 1.0
    assert site.lockout.remaining("front", locked_at + 10) == 20.0  # not extended
    assert site.audit.records[-1].reason == "locked_out"
    # Other doors are not locked.
    assert site.ctl.refuse_if_locked_out(GARAGE, "pin", locked_at + 10) is None
    # After 30 s the door takes attempts again; refuse_if_locked_out then audits nothing.
    records = len(site.audit.records)
    assert site.ctl.refuse_if_locked_out(FRONT, "pin", locked_at + 30) is None
    assert len(site.audit.records) == records
    assert site.pin(FRONT, ALICE_PIN, locked_at + 30).outcome is Outcome.GRANTED


@pytest.mark.parametrize("kind", ["pin", "duress", "visitor", "card"])
def test_scenario3_a_grant_does_not_forgive_earlier_failures(site, kind):
    """An attacker's own credential, of any kind, interleaved with guesses forgives none."""
    site.directory.add_visitor_code(site.alice, cheap_hash(VISITOR_PIN), T0 + 3600, 20)
    own = {
        "pin": lambda now: site.pin(FRONT, ALICE_PIN, now),
        "duress": lambda now: site.pin(FRONT, ALICE_DURESS, now),
        "visitor": lambda now: site.pin(FRONT, VISITOR_PIN, now),
        "card": lambda now: site.card(FRONT, ALICE_CARD, now),
    }[kind]
    for i in range(4):
        assert site.pin(FRONT, WRONG_PIN, T0 + 2 * i).outcome is Outcome.DENIED
        assert own(T0 + 2 * i + 1).granted
    assert front_failures(site) == 4
    fifth = site.pin(FRONT, WRONG_PIN, T0 + 10)
    assert_decision(fifth, Outcome.LOCKOUT, "too_many_failures", "pin")
    # Locked out: the attacker's own credential is refused too, unheard.
    assert own(T0 + 11).reason == "locked_out"


def test_resident_of_a_household_the_door_does_not_serve(site):
    # Carol's PIN is not even a candidate at the front door.
    assert_decision(site.pin(FRONT, CAROL_PIN, T0), Outcome.DENIED, "unknown_credential", "pin")
    # Matched elsewhere (site-wide), her PIN and card are still refused here, and counted.
    decision = site.ctl.decide_pin(FRONT, site.candidate("pin", site.carol), T0 + 1)
    assert_decision(decision, Outcome.DENIED, "unknown_credential", "pin")
    assert_decision(
        site.card(FRONT, CAROL_CARD, T0 + 2), Outcome.DENIED, "unknown_credential", "card"
    )
    assert front_failures(site) == 3
    # At her own door she gets in.
    assert site.card(GARAGE, CAROL_CARD, T0 + 3).outcome is Outcome.GRANTED


def test_mode_disabled_is_denied_and_not_counted(site):
    site.directory.set_mode("h1", Mode.PIN, False)
    for i in range(8):
        decision = site.pin(FRONT, ALICE_PIN, T0 + i * 100)
        assert_decision(decision, Outcome.DENIED, "mode_disabled", "pin", site.alice, "h1")
    site.directory.set_mode("h1", Mode.PIN, True)
    site.directory.set_mode("h1", Mode.CARD, False)
    for i in range(8):
        decision = site.card(FRONT, ALICE_CARD, T0 + 1000 + i * 100)
        assert_decision(decision, Outcome.DENIED, "mode_disabled", "card", site.alice, "h1")
    assert site.lockout.as_dict() == {}
    assert site.lockout.remaining("front", T0 + 2000) == 0.0


def test_duress_pin(site):
    for i in range(3):
        site.pin(FRONT, WRONG_PIN, T0 + i)
    decision = site.pin(FRONT, ALICE_DURESS, T0 + 10)
    assert_decision(decision, Outcome.DURESS, "duress", "pin", site.alice, "h1")
    assert decision.granted
    assert front_failures(site) == 3  # opens, and forgives nothing
    assert site.audit.records[-1].outcome is Outcome.DURESS


def test_scenario7_a_duress_pin_needs_the_second_factor(site):
    """Ben's household needs two modes: his duress PIN alone raises the alarm, opens nothing."""
    alone = site.pin(FRONT, BEN_DURESS, T0)
    assert_decision(alone, Outcome.DURESS, "second_factor_needed", "pin", site.ben, "h2")
    assert not alone.granted
    # Shown at the door exactly as his normal PIN alone would be.
    normal = site.pin(SIDE, BEN_PIN, T0)
    assert (normal.reason, normal.granted) == (alone.reason, alone.granted)
    # With his card, the door opens, and the alarm is raised again.
    both = site.card(FRONT, BEN_CARD, T0 + 5)
    assert_decision(both, Outcome.DURESS, "duress", "pin+card", site.ben, "h2")
    assert both.granted


def test_scenario7_card_then_duress_pin_opens_under_duress(site):
    first = site.card(FRONT, BEN_CARD, T0)
    assert_decision(first, Outcome.DENIED, "second_factor_needed", "card", site.ben, "h2")
    decision = site.pin(FRONT, BEN_DURESS, T0 + 5)
    assert_decision(decision, Outcome.DURESS, "duress", "card+pin", site.ben, "h2")


def test_scenario7_a_duress_pin_refused_by_a_rule_still_raises_the_alarm(site):
    site.directory.set_mode("h1", Mode.CARD, True)
    site.directory.set_mode("h1", Mode.PIN, False)
    decision = site.pin(FRONT, ALICE_DURESS, T0)
    assert_decision(decision, Outcome.DURESS, "mode_disabled", "pin", site.alice, "h1")
    assert not decision.granted


def test_removed_resident_while_matching(site):
    match = site.candidate("pin", site.alice)
    site.directory.remove_resident(site.alice)
    decision = site.ctl.decide_pin(FRONT, match, T0)
    assert_decision(decision, Outcome.DENIED, "unknown_credential", "pin")
    assert front_failures(site) == 1


def test_resident_whose_household_is_gone(site):
    site.directory.households.pop("h1")
    decision = site.ctl.decide_pin(FRONT, site.candidate("pin", site.alice), T0)
    assert_decision(decision, Outcome.DENIED, "unknown_credential", "pin")
    assert front_failures(site) == 1


# Two modes --------------------------------------------------------------------------------


def test_two_modes_pin_then_card(site):
    first = site.pin(FRONT, BEN_PIN, T0)
    assert_decision(first, Outcome.DENIED, "second_factor_needed", "pin", site.ben, "h2")
    assert not first.granted
    second = site.card(FRONT, BEN_CARD, T0 + 10)
    assert_decision(second, Outcome.GRANTED, "granted", "pin+card", site.ben, "h2")
    assert site.lockout.as_dict() == {}  # the first factor was no failure


def test_two_modes_card_then_pin(site):
    site.card(FRONT, BEN_CARD, T0)
    assert site.pin(FRONT, BEN_PIN, T0 + 5).method == "card+pin"


def test_two_modes_window_boundary(site):
    site.pin(FRONT, BEN_PIN, T0)
    assert SECOND_FACTOR_WINDOW == 30.0
    assert site.card(FRONT, BEN_CARD, T0 + 30).outcome is Outcome.GRANTED


def test_two_modes_too_late(site):
    site.pin(FRONT, BEN_PIN, T0)
    late = site.card(FRONT, BEN_CARD, T0 + 31)
    assert_decision(late, Outcome.DENIED, "second_factor_needed", "card", site.ben, "h2")
    # The late card now counts as a first factor.
    assert site.pin(FRONT, BEN_PIN, T0 + 40).method == "card+pin"


def test_two_modes_same_mode_twice(site):
    site.pin(FRONT, BEN_PIN, T0)
    again = site.pin(FRONT, BEN_PIN, T0 + 5)
    assert_decision(again, Outcome.DENIED, "second_factor_needed", "pin", site.ben, "h2")
    site.card(FRONT, BEN_CARD, T0 + 100)
    assert site.card(FRONT, BEN_CARD, T0 + 101).outcome is Outcome.DENIED


def test_two_modes_pair_is_used_up_by_a_grant(site):
    site.pin(FRONT, BEN_PIN, T0)
    assert site.card(FRONT, BEN_CARD, T0 + 1).granted
    assert site.card(FRONT, BEN_CARD, T0 + 2).reason == "second_factor_needed"
    assert site.pin(FRONT, BEN_PIN, T0 + 3).granted  # card at T0+2 + pin


def test_two_modes_pair_is_per_door(site):
    site.pin(FRONT, BEN_PIN, T0)
    assert site.card(SIDE, BEN_CARD, T0 + 1).reason == "second_factor_needed"


def test_two_modes_pair_is_per_resident(site):
    site.directory.add_card(site.dana, digest("dd:dd:dd:dd"))
    site.pin(FRONT, BEN_PIN, T0)
    assert site.card(FRONT, "dd:dd:dd:dd", T0 + 1).reason == "second_factor_needed"


def test_two_modes_with_face(site):
    site.directory.set_mode("h2", Mode.FACE, True)
    first = site.face(FRONT, site.ben, T0)
    assert first.reason == "second_factor_needed"
    assert_decision(
        site.pin(FRONT, BEN_PIN, T0 + 3), Outcome.GRANTED, "granted", "face+pin", site.ben, "h2"
    )


def test_two_modes_disabled_mode_is_not_a_first_factor(site):
    site.directory.set_mode("h2", Mode.FACE, True)
    site.directory.set_mode("h2", Mode.CARD, False)
    assert site.card(FRONT, BEN_CARD, T0).reason == "mode_disabled"
    assert site.pin(FRONT, BEN_PIN, T0 + 1).reason == "second_factor_needed"


# Voice ------------------------------------------------------------------------------------

VOICE_FRONT = dataclasses.replace(FRONT, voice_unlock=True)
VOICE_SIDE = dataclasses.replace(SIDE, voice_unlock=True)


@pytest.mark.parametrize("recognised", [None, "alice"])
def test_voice_refused_where_the_door_does_not_take_it(site, recognised):
    resident = getattr(site, recognised) if recognised else None
    decision = site.ctl.decide_voice(FRONT, resident, T0)
    assert_decision(decision, Outcome.DENIED, "voice_disabled", "voice", None, None)
    assert site.ctl.refuse_voice(FRONT, T0) is not None
    assert site.ctl.refuse_voice(VOICE_FRONT, T0) is None


def test_voice_alone_is_not_enough(site):
    decision = site.ctl.decide_voice(VOICE_FRONT, None, T0)
    assert_decision(decision, Outcome.DENIED, "voice_second_factor_needed", "voice", None, None)
    assert site.lockout.as_dict() == {}  # not a guess of a credential


def test_voice_backed_by_a_recognised_resident(site):
    decision = site.ctl.decide_voice(VOICE_FRONT, site.alice, T0)
    assert_decision(decision, Outcome.GRANTED, "granted", "voice+face", site.alice, "h1")


def test_voice_backed_by_face_follows_the_face_rules(site):
    site.directory.set_face_consent(site.alice, None)
    decision = site.ctl.decide_voice(VOICE_FRONT, site.alice, T0)
    assert_decision(decision, Outcome.DENIED, "no_face_consent", "voice+face", site.alice, "h1")
    site.directory.set_face_consent(site.alice, Consent(T0, None))
    site.directory.set_mode("h1", Mode.FACE, False)
    decision = site.ctl.decide_voice(VOICE_FRONT, site.alice, T0)
    assert_decision(decision, Outcome.DENIED, "mode_disabled", "voice+face", site.alice, "h1")
    decision = site.ctl.decide_voice(VOICE_FRONT, site.carol, T0)  # h3 is not served here
    assert_decision(decision, Outcome.DENIED, "unknown_face", "voice+face", None, None)


def test_voice_and_face_in_a_two_mode_household(site):
    site.directory.set_mode("h2", Mode.FACE, True)
    decision = site.ctl.decide_voice(VOICE_SIDE, site.ben, T0)  # face is one mode only
    assert_decision(decision, Outcome.DENIED, "second_factor_needed", "voice+face", site.ben, "h2")
    site.pin(VOICE_SIDE, BEN_PIN, T0 + 5)
    assert site.decisions[-1].method == "face+pin"


# Visitor codes ----------------------------------------------------------------------------


def add_visitor(site: Site, resident: str, valid_until: float, uses: int = 2) -> str:
    return (
        site.directory.add_visitor_code(resident, cheap_hash(VISITOR_PIN), valid_until, uses)
    ).code_id


def test_visitor_code_grants_and_is_used_up(site):
    code_id = add_visitor(site, site.alice, T0 + 3600, uses=2)
    site.pin(FRONT, WRONG_PIN, T0)
    first = site.pin(FRONT, VISITOR_PIN, T0 + 1)
    assert_decision(first, Outcome.GRANTED, "visitor_code", "visitor", None, "h1")
    assert first.granted
    assert front_failures(site) == 1  # a grant forgives no failure
    assert site.directory.visitor_codes[code_id].uses_left == 1
    assert site.pin(FRONT, VISITOR_PIN, T0 + 2).outcome is Outcome.GRANTED
    assert code_id not in site.directory.visitor_codes
    used_up = site.pin(FRONT, VISITOR_PIN, T0 + 3)
    assert_decision(used_up, Outcome.DENIED, "unknown_credential", "pin")


def test_visitor_code_grants_without_second_factor(site):
    add_visitor(site, site.ben, T0 + 3600)
    assert site.pin(FRONT, VISITOR_PIN, T0).outcome is Outcome.GRANTED


def test_stale_visitor_match_is_a_failure(site):
    code_id = add_visitor(site, site.alice, T0 + 3600, uses=1)
    match = site.candidate("visitor", code_id)
    site.directory.use_visitor_code(code_id)
    decision = site.ctl.decide_pin(FRONT, match, T0)
    assert_decision(decision, Outcome.DENIED, "unknown_credential", "visitor")
    assert front_failures(site) == 1


@pytest.mark.parametrize("valid_until", [T0 - 1, T0])
def test_expired_visitor_code_is_denied(site, valid_until):
    code_id = add_visitor(site, site.alice, valid_until)
    decision = site.pin(FRONT, VISITOR_PIN, T0)
    assert_decision(decision, Outcome.DENIED, "unknown_credential", "visitor")
    assert site.directory.visitor_codes[code_id].uses_left == 2
    assert front_failures(site) == 1


def test_visitor_code_of_another_household_is_denied(site):
    code_id = add_visitor(site, site.carol, T0 + 3600)
    assert site.pin(FRONT, VISITOR_PIN, T0).reason == "unknown_credential"  # not a candidate
    decision = site.ctl.decide_pin(FRONT, site.candidate("visitor", code_id), T0 + 1)
    assert_decision(decision, Outcome.DENIED, "unknown_credential", "visitor")
    assert site.directory.visitor_codes[code_id].uses_left == 2
    assert site.pin(GARAGE, VISITOR_PIN, T0 + 2).granted


def test_visitor_code_with_pin_mode_off_is_denied(site):
    code_id = add_visitor(site, site.alice, T0 + 3600)
    site.directory.set_mode("h1", Mode.PIN, False)
    for i in range(6):
        decision = site.pin(FRONT, VISITOR_PIN, T0 + i * 100)
        assert_decision(decision, Outcome.DENIED, "mode_disabled", "visitor", None, "h1")
    assert site.directory.visitor_codes[code_id].uses_left == 2
    assert site.lockout.as_dict() == {}


def test_visitor_code_whose_household_is_gone(site):
    code_id = add_visitor(site, site.alice, T0 + 3600)
    site.directory.households.pop("h1")
    decision = site.ctl.decide_pin(FRONT, site.candidate("visitor", code_id), T0)
    assert_decision(decision, Outcome.DENIED, "mode_disabled", "visitor", None, "h1")


# Face -------------------------------------------------------------------------------------


def test_face_granted(site):
    decision = site.face(FRONT, site.alice, T0)
    assert_decision(decision, Outcome.GRANTED, "granted", "face", site.alice, "h1")


def test_face_without_consent(site):
    site.directory.set_face_consent(site.alice, None)
    decision = site.face(FRONT, site.alice, T0)
    assert_decision(decision, Outcome.DENIED, "no_face_consent", "face", site.alice, "h1")


def test_face_mode_off(site):
    site.directory.set_mode("h1", Mode.FACE, False)
    decision = site.face(FRONT, site.alice, T0)
    assert_decision(decision, Outcome.DENIED, "mode_disabled", "face", site.alice, "h1")


def test_face_mode_off_even_with_consent_in_a_household_without_face(site):
    decision = site.face(SIDE, site.ben, T0)  # h2 has no face mode
    assert_decision(decision, Outcome.DENIED, "mode_disabled", "face", site.ben, "h2")


@pytest.mark.parametrize("who", ["nobody", "carol"])
def test_unknown_face(site, who):
    resident_id = site.carol if who == "carol" else "0123456789abcdef"
    site.directory.set_face_consent(site.carol, Consent(T0, None))
    for i in range(6):
        decision = site.face(FRONT, resident_id, T0 + i)
        assert_decision(decision, Outcome.DENIED, "unknown_face", "face")
    assert site.lockout.as_dict() == {}  # a recognition miss is no guess


# Audit and secrets ------------------------------------------------------------------------


def run_everything(site: Site) -> None:
    """One of every kind of decision, 100 s apart so that no audit record folds."""
    add_visitor(site, site.alice, T0 + 10_000, uses=1)
    steps = [
        lambda t: site.pin(FRONT, ALICE_PIN, t),
        lambda t: site.pin(FRONT, ALICE_DURESS, t),
        lambda t: site.card(FRONT, ALICE_CARD, t),
        lambda t: site.face(FRONT, site.alice, t),
        lambda t: site.pin(FRONT, VISITOR_PIN, t),
        lambda t: site.pin(FRONT, BEN_PIN, t),
        lambda t: site.card(FRONT, BEN_CARD, t + 1),
        lambda t: site.pin(FRONT, BEN_DURESS, t),
        lambda t: site.pin(FRONT, CAROL_PIN, t),
        lambda t: site.card(FRONT, CAROL_CARD, t),
        lambda t: site.card(FRONT, UNKNOWN_CARD, t),
        lambda t: site.face(FRONT, site.dana, t),
        lambda t: site.face(FRONT, site.ben, t),
        lambda t: site.face(FRONT, "0123456789abcdef", t),
    ]
    now = T0
    for step in steps:
        step(now)
        now += 100
    for i in range(6):  # lockout, then a refusal (pin and card alternate: nothing folds)
        if i % 2:
            site.card(FRONT, UNKNOWN_CARD, now + i)
        else:
            site.pin(FRONT, WRONG_PIN, now + i)
    site.card(FRONT, UNKNOWN_CARD, now + 200)


def test_every_decision_is_audited(site):
    run_everything(site)
    records = site.audit.records
    assert len(records) == len(site.decisions)
    for decision, record in zip(site.decisions, records, strict=True):
        assert (
            record.door_id,
            record.method,
            record.outcome,
            record.reason,
            record.resident_id,
        ) == (decision.door_id, decision.method, decision.outcome, decision.reason,
              decision.resident_id)  # fmt: skip
    reasons = {d.reason for d in site.decisions}
    assert reasons == {
        "granted",
        "duress",
        "visitor_code",
        "second_factor_needed",
        "unknown_credential",
        "no_face_consent",
        "mode_disabled",
        "unknown_face",
        "too_many_failures",
        "locked_out",
    }


def test_folded_failures_still_count_every_decision(site):
    for i in range(3):
        site.card(FRONT, UNKNOWN_CARD, T0 + i)
    assert len(site.decisions) == 3
    assert [r.count for r in site.audit.records] == [3]


def test_no_secret_in_decisions_audit_or_store(site):
    run_everything(site)
    secrets_ = {*PINS, *CARDS}
    for uid in CARDS:
        compact = uid.replace(":", "").replace("-", "")
        secrets_ |= {compact.upper(), compact.lower()}
    texts = [repr(d) for d in site.decisions]
    texts += [json.dumps(dataclasses.asdict(d)) for d in site.decisions]
    texts += [repr(r) for r in site.audit.records]
    texts += [json.dumps(site.audit.as_list())]
    texts += [json.dumps(site.lockout.as_dict()), json.dumps(site.directory.as_dict())]
    for text in texts:
        for secret in secrets_:
            assert secret not in text, (secret, text)
    # Decisions and the audit do not carry card digests either.
    for text in texts[:-1]:
        for uid in CARDS:
            assert digest(uid) not in text
