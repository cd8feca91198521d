"""Issue 11, scenario 14: a recorder that keeps PINs and card numbers raises a repair issue.

With Home Assistant's real recorder, configured as a user would in configuration.yaml.
"""

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.facegate.const import DOMAIN
from custom_components.facegate.recorder_check import ISSUE_RECORDER

from .conftest import setup_site, site_entry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """The recorder must start before hass: this replaces conftest's fixture of the same name."""


async def test_scenario14_recorder_keeping_call_service_raises_an_issue(
    hass: HomeAssistant,
) -> None:
    await setup_site(hass, site_entry())

    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_RECORDER)
    assert issue is not None
    assert issue.translation_placeholders == {
        "events": "call_service, tag_scanned",
        "yaml": "recorder:\n  exclude:\n    event_types: [call_service, tag_scanned]",
    }


@pytest.mark.parametrize(
    "recorder_config", [{"exclude": {"event_types": ["automation_triggered", "tag_scanned"]}}]
)
async def test_scenario14_a_partial_exclusion_shows_the_whole_list(hass: HomeAssistant) -> None:
    await setup_site(hass, site_entry())

    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_RECORDER)
    assert issue is not None
    assert issue.translation_placeholders == {
        "events": "call_service",
        "yaml": "recorder:\n  exclude:\n"
        "    event_types: [automation_triggered, call_service, tag_scanned]",
    }


@pytest.mark.parametrize(
    "recorder_config", [{"exclude": {"event_types": ["call_service", "tag_scanned"]}}]
)
async def test_scenario14_recorder_excluding_both_raises_nothing(hass: HomeAssistant) -> None:
    await setup_site(hass, site_entry())

    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_RECORDER) is None
