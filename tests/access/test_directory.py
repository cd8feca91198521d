"""The directory: households' modes, residents, credentials, consent, visitor codes."""

import json

import pytest

from custom_components.facegate.access.directory import (
    MAX_NAME_LENGTH,
    Consent,
    Directory,
    Household,
    PinCandidate,
    Resident,
    VisitorCode,
)
from custom_components.facegate.access.errors import AccessError
from custom_components.facegate.access.modes import Mode, Policy, validate_modes

from .helpers import fake_hash

T0 = 1_000_000.0
PIN_AND_CARD = (Mode.PIN, Mode.CARD)


def reason_of(func, *args, **kwargs) -> str:
    with pytest.raises(AccessError) as exc:
        func(*args, **kwargs)
    return exc.value.reason


@pytest.fixture
def directory() -> Directory:
    d = Directory()
    d.sync_household("h1", PIN_AND_CARD, Policy.ANY)
    d.sync_household("h2", PIN_AND_CARD, Policy.TWO_MODES)
    return d


# Households -------------------------------------------------------------------------------


def test_sync_household_registers_new_households(directory):
    assert directory.households == {
        "h1": Household(frozenset(PIN_AND_CARD), Policy.ANY),
        "h2": Household(frozenset(PIN_AND_CARD), Policy.TWO_MODES),
    }


def test_sync_household_keeps_stored_modes_and_takes_policy(directory):
    directory.set_mode("h1", Mode.FACE, True)
    directory.sync_household("h1", [Mode.PIN], Policy.TWO_MODES)
    household = directory.household("h1")
    assert household.modes == {Mode.PIN, Mode.CARD, Mode.FACE}
    assert household.policy is Policy.TWO_MODES


def test_sync_household_policy_change_keeps_modes_valid(directory):
    directory.set_mode("h1", Mode.CARD, False)  # {pin}, fine under "any"
    try:
        directory.sync_household("h1", PIN_AND_CARD, Policy.TWO_MODES)
    except AccessError:
        return  # refusing the change is a fix too
    household = directory.household("h1")
    validate_modes(household.modes, household.policy)


def test_sync_household_refuses_invalid_initial_modes():
    directory = Directory()
    try:
        directory.sync_household("h", [Mode.FACE], Policy.ANY)
    except AccessError:
        return
    household = directory.household("h")
    validate_modes(household.modes, household.policy)


def test_unknown_household(directory):
    assert reason_of(directory.household, "nope") == "unknown_household"
    assert reason_of(directory.set_mode, "nope", Mode.PIN, True) == "unknown_household"


def test_set_mode_enables_and_disables(directory):
    assert directory.set_mode("h1", Mode.FACE, True) == {Mode.PIN, Mode.CARD, Mode.FACE}
    assert directory.set_mode("h1", Mode.PIN, False) == {Mode.CARD, Mode.FACE}
    assert directory.household("h1").modes == {Mode.CARD, Mode.FACE}
    assert directory.set_mode("h1", Mode.CARD, True) == {Mode.CARD, Mode.FACE}  # idempotent
    assert directory.set_mode("h1", Mode.PIN, False) == {Mode.CARD, Mode.FACE}  # already off


@pytest.mark.parametrize(
    ("household", "start", "mode", "reason"),
    [
        ("h1", [Mode.PIN, Mode.FACE], Mode.PIN, "face_only"),
        ("h1", [Mode.CARD, Mode.FACE], Mode.CARD, "face_only"),
        ("h1", [Mode.CARD], Mode.CARD, "no_mode"),
        ("h2", [Mode.PIN, Mode.CARD], Mode.CARD, "two_modes_need_two"),
        ("h2", [Mode.PIN, Mode.FACE], Mode.PIN, "face_only"),
    ],
)
def test_disabling_refusals_leave_modes_unchanged(directory, household, start, mode, reason):
    directory.households[household].modes = frozenset(start)
    assert reason_of(directory.set_mode, household, mode, False) == reason
    assert directory.household(household).modes == frozenset(start)


def test_two_modes_household_may_drop_to_two(directory):
    directory.set_mode("h2", Mode.FACE, True)
    assert directory.set_mode("h2", Mode.PIN, False) == {Mode.CARD, Mode.FACE}


def test_remove_household_removes_its_residents_and_codes(directory):
    a = directory.add_resident("h1", "Alice")
    b = directory.add_resident("h1", "Ben")
    c = directory.add_resident("h2", "Carol")
    directory.add_visitor_code(a.resident_id, fake_hash("a"), T0, 1)
    kept = directory.add_visitor_code(c.resident_id, fake_hash("c"), T0, 1)
    directory.remove_household("h1")
    assert set(directory.households) == {"h2"}
    assert set(directory.residents) == {c.resident_id}
    assert b.resident_id not in directory.residents
    assert set(directory.visitor_codes) == {kept.code_id}


def test_remove_unknown_household_is_harmless(directory):
    directory.remove_household("nope")
    assert set(directory.households) == {"h1", "h2"}


# Residents --------------------------------------------------------------------------------


def test_add_resident(directory):
    resident = directory.add_resident("h1", "  Alice  ", user_id="u1", show_name=True)
    assert len(resident.resident_id) == 16
    assert int(resident.resident_id, 16) >= 0
    assert resident == Resident(resident.resident_id, "h1", "Alice", "u1", True)
    assert resident.pin is None
    assert resident.duress_pin is None
    assert resident.cards == []
    assert resident.face_consent is None
    assert directory.resident(resident.resident_id) is resident


def test_resident_ids_are_unique(directory):
    ids = {directory.add_resident("h1", f"R{i}").resident_id for i in range(20)}
    assert len(ids) == 20


def test_add_resident_to_unknown_household(directory):
    assert reason_of(directory.add_resident, "nope", "Alice") == "unknown_household"
    assert directory.residents == {}


@pytest.mark.parametrize("name", ["", "   ", "---", "!?", "x" * (MAX_NAME_LENGTH + 1)])
def test_invalid_names_are_refused(directory, name):
    assert reason_of(directory.add_resident, "h1", name) == "invalid_name"
    assert directory.residents == {}


@pytest.mark.parametrize("name", ["A", "x" * MAX_NAME_LENGTH, "Zoë", "O'Neil-Smith", "7"])
def test_valid_names(directory, name):
    assert directory.add_resident("h1", name).name == name


def test_unknown_resident(directory):
    for call in (
        lambda: directory.resident("nope"),
        lambda: directory.update_resident("nope", name="X"),
        lambda: directory.remove_resident("nope"),
        lambda: directory.set_pin("nope", fake_hash()),
        lambda: directory.add_card("nope", "d"),
        lambda: directory.remove_card("nope", "d"),
        lambda: directory.set_face_consent("nope", None),
        lambda: directory.add_visitor_code("nope", fake_hash(), T0, 1),
    ):
        assert reason_of(call) == "unknown_resident"


def test_update_resident(directory):
    r = directory.add_resident("h1", "Alice", user_id="u1")
    directory.update_resident(r.resident_id, name=" Alicia ", show_name=True, user_id="u2")
    assert (r.name, r.show_name, r.user_id) == ("Alicia", True, "u2")
    directory.update_resident(r.resident_id)  # None leaves everything
    assert (r.name, r.show_name, r.user_id) == ("Alicia", True, "u2")
    directory.update_resident(r.resident_id, show_name=False, user_id="")
    assert (r.show_name, r.user_id) == (False, None)


def test_update_resident_invalid_name_changes_nothing(directory):
    r = directory.add_resident("h1", "Alice")
    assert (
        reason_of(directory.update_resident, r.resident_id, name=" ", show_name=True)
        == "invalid_name"
    )
    assert (r.name, r.show_name) == ("Alice", False)


def test_remove_resident(directory):
    a = directory.add_resident("h1", "Alice")
    b = directory.add_resident("h1", "Ben")
    directory.add_card(a.resident_id, "card-a")
    directory.remove_resident(a.resident_id)
    assert set(directory.residents) == {b.resident_id}
    assert directory.card_owner("card-a") is None
    assert reason_of(directory.resident, a.resident_id) == "unknown_resident"


def test_residents_of_and_of_user(directory):
    a = directory.add_resident("h1", "Alice", user_id="u1")
    b = directory.add_resident("h2", "Ben", user_id="u1")
    c = directory.add_resident("h2", "Carol")
    assert directory.residents_of(["h1"]) == [a]
    assert directory.residents_of(["h2"]) == [b, c]
    assert directory.residents_of(iter(["h1", "h2"])) == [a, b, c]
    assert directory.residents_of([]) == []
    assert directory.residents_of_user("u1") == [a, b]
    assert directory.residents_of_user("u2") == []


# Credentials ------------------------------------------------------------------------------


def test_set_and_remove_pins(directory):
    r = directory.add_resident("h1", "Alice")
    pin, duress = fake_hash("p"), fake_hash("d")
    directory.set_pin(r.resident_id, pin)
    directory.set_pin(r.resident_id, duress, duress=True)
    assert (r.pin, r.duress_pin) == (pin, duress)
    directory.set_pin(r.resident_id, None)
    assert (r.pin, r.duress_pin) == (None, duress)
    directory.set_pin(r.resident_id, None, duress=True)
    assert r.duress_pin is None


def test_pin_candidates(directory):
    a = directory.add_resident("h1", "Alice")
    b = directory.add_resident("h2", "Ben")
    directory.add_resident("h2", "No PIN")
    directory.set_pin(a.resident_id, fake_hash("a"))
    directory.set_pin(a.resident_id, fake_hash("ad"), duress=True)
    directory.set_pin(b.resident_id, fake_hash("b"))
    va = directory.add_visitor_code(a.resident_id, fake_hash("va"), T0, 1)
    vb = directory.add_visitor_code(b.resident_id, fake_hash("vb"), T0, 1)

    everything = directory.pin_candidates()
    assert everything == [
        PinCandidate("pin", a.resident_id, fake_hash("a")),
        PinCandidate("pin", b.resident_id, fake_hash("b")),
        PinCandidate("duress", a.resident_id, fake_hash("ad")),
        PinCandidate("visitor", va.code_id, fake_hash("va")),
        PinCandidate("visitor", vb.code_id, fake_hash("vb")),
    ]
    assert directory.pin_candidates(["h2"]) == [
        PinCandidate("pin", b.resident_id, fake_hash("b")),
        PinCandidate("visitor", vb.code_id, fake_hash("vb")),
    ]
    assert directory.pin_candidates(frozenset({"h1"})) == [
        PinCandidate("pin", a.resident_id, fake_hash("a")),
        PinCandidate("duress", a.resident_id, fake_hash("ad")),
        PinCandidate("visitor", va.code_id, fake_hash("va")),
    ]
    assert directory.pin_candidates([]) == []


def test_pin_candidates_with_a_generator(directory):
    a = directory.add_resident("h1", "Alice")
    code = directory.add_visitor_code(a.resident_id, fake_hash("va"), T0, 1)
    kinds = {(c.kind, c.owner_id) for c in directory.pin_candidates(h for h in ["h1"])}
    assert ("visitor", code.code_id) in kinds


def test_cards_are_unique_within_the_site(directory):
    a = directory.add_resident("h1", "Alice")
    b = directory.add_resident("h2", "Ben")
    directory.add_card(a.resident_id, "digest-1")
    directory.add_card(a.resident_id, "digest-2")
    assert a.cards == ["digest-1", "digest-2"]
    assert directory.card_owner("digest-2") is a
    assert reason_of(directory.add_card, b.resident_id, "digest-1") == "card_in_use"
    assert reason_of(directory.add_card, a.resident_id, "digest-1") == "card_in_use"
    assert b.cards == []
    assert a.cards == ["digest-1", "digest-2"]


def test_remove_card(directory):
    a = directory.add_resident("h1", "Alice")
    b = directory.add_resident("h1", "Ben")
    directory.add_card(a.resident_id, "digest-1")
    assert reason_of(directory.remove_card, b.resident_id, "digest-1") == "unknown_card"
    assert reason_of(directory.remove_card, a.resident_id, "digest-9") == "unknown_card"
    assert directory.card_owner("digest-1") is a
    directory.remove_card(a.resident_id, "digest-1")
    assert a.cards == []
    assert directory.card_owner("digest-1") is None
    directory.add_card(b.resident_id, "digest-1")  # free again
    assert directory.card_owner("digest-1") is b


def test_face_consent_set_and_withdrawn(directory):
    r = directory.add_resident("h1", "Alice")
    consent = Consent(T0, "admin-user")
    directory.set_face_consent(r.resident_id, consent)
    assert r.face_consent == consent
    directory.set_face_consent(r.resident_id, None)
    assert r.face_consent is None


# Visitor codes ----------------------------------------------------------------------------


def test_add_visitor_code(directory):
    r = directory.add_resident("h2", "Ben")
    code = directory.add_visitor_code(r.resident_id, fake_hash("v"), T0 + 3600, 3)
    assert code == VisitorCode(code.code_id, "h2", r.resident_id, fake_hash("v"), T0 + 3600, 3)
    assert len(code.code_id) == 16
    assert directory.visitor_codes == {code.code_id: code}


@pytest.mark.parametrize("uses", [0, -1])
def test_visitor_code_needs_a_use(directory, uses):
    r = directory.add_resident("h1", "Alice")
    assert reason_of(directory.add_visitor_code, r.resident_id, fake_hash(), T0, uses) == (
        "invalid_uses"
    )
    assert directory.visitor_codes == {}


def test_visitor_code_uses_are_counted(directory):
    r = directory.add_resident("h1", "Alice")
    code = directory.add_visitor_code(r.resident_id, fake_hash(), T0, 2)
    assert directory.use_visitor_code(code.code_id).uses_left == 1
    assert code.code_id in directory.visitor_codes
    assert directory.use_visitor_code(code.code_id).uses_left == 0
    assert code.code_id not in directory.visitor_codes


def test_expired_visitor_codes_are_dropped(directory):
    r = directory.add_resident("h1", "Alice")
    old = directory.add_visitor_code(r.resident_id, fake_hash(), T0, 1)
    exact = directory.add_visitor_code(r.resident_id, fake_hash(), T0 + 10, 1)
    new = directory.add_visitor_code(r.resident_id, fake_hash(), T0 + 11, 1)
    directory.drop_expired_visitor_codes(T0 + 10)
    assert set(directory.visitor_codes) == {new.code_id}
    assert old.code_id not in directory.visitor_codes
    assert exact.code_id not in directory.visitor_codes


# Persistence ------------------------------------------------------------------------------


def test_full_round_trip(directory):
    directory.set_mode("h1", Mode.FACE, True)
    a = directory.add_resident("h1", "Alice", user_id="u1", show_name=True)
    b = directory.add_resident("h2", "Ben")
    directory.add_resident("h2", "Bare")
    directory.set_pin(a.resident_id, fake_hash("a"))
    directory.set_pin(a.resident_id, fake_hash("ad"), duress=True)
    directory.add_card(a.resident_id, "digest-a")
    directory.add_card(b.resident_id, "digest-b1")
    directory.add_card(b.resident_id, "digest-b2")
    directory.set_face_consent(a.resident_id, Consent(T0, "admin"))
    directory.set_face_consent(b.resident_id, Consent(T0 + 1, None))
    directory.add_visitor_code(b.resident_id, fake_hash("v"), T0 + 3600, 2)

    data = directory.as_dict()
    text = json.dumps(data)
    restored = Directory()
    restored.load(json.loads(text))

    assert restored.as_dict() == data
    assert json.dumps(restored.as_dict()) == text
    assert restored.households == directory.households
    assert restored.residents == directory.residents
    assert restored.visitor_codes == directory.visitor_codes
    assert all(isinstance(m, Mode) for h in restored.households.values() for m in h.modes)
    assert restored.households["h2"].policy is Policy.TWO_MODES


def test_as_dict_shape(directory):
    directory.households.pop("h2")
    r = directory.add_resident("h1", "Alice")
    assert directory.as_dict() == {
        "households": {"h1": {"modes": ["card", "pin"], "policy": "any"}},
        "residents": {
            r.resident_id: {
                "household_id": "h1",
                "name": "Alice",
                "user_id": None,
                "show_name": False,
                "pin": None,
                "duress_pin": None,
                "cards": [],
                "face_consent": None,
            }
        },
        "visitor_codes": {},
    }


def test_load_fills_defaults_and_replaces(directory):
    directory.add_resident("h1", "Old")
    directory.load({"residents": {"r1": {"household_id": "h1", "name": "Alice"}}})
    assert directory.households == {}
    assert directory.visitor_codes == {}
    assert directory.residents == {"r1": Resident("r1", "h1", "Alice")}
    directory.load({})
    assert directory.residents == {}
