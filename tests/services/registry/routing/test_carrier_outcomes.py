"""Carrier outcomes: every reject reason has a documented default (480 not routable, 486 at
capacity, 603 only for deliberate refusals), account overrides are validated per outcome,
and each outcome has an Exotel rendering."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import InvalidArgument
from services.registry.routing.carrier_outcomes import (
    ALLOWED_SIP_STATUSES,
    DEFAULT_POLICY,
    DEFAULTS,
    NOT_OVERRIDABLE,
    REFUSAL_OUTCOMES,
    SIP_REASON_PHRASES,
    WHY,
    CarrierAnswer,
    CarrierPolicy,
    exotel_answer,
    parse_overrides,
)
from services.registry.routing.outcome import Decision, EdgeOutcome, RejectReason, Verdict

NEW_REASONS = {"at_capacity"}


def violations(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_overrides(raw)
    return {violation.field: violation.description for violation in caught.value.violations}


def test_every_reject_reason_has_a_default_and_a_reason_for_it() -> None:
    assert set(DEFAULTS) == {reason.value for reason in RejectReason} | NEW_REASONS
    assert set(WHY) == set(DEFAULTS)
    assert NOT_OVERRIDABLE.issubset(DEFAULTS)
    for answer in DEFAULTS.values():
        assert answer.sip_status in ALLOWED_SIP_STATUSES[answer.edge_outcome]
        assert answer.source == "default"
        assert answer.sip_reason_phrase


def test_the_defaults_the_issue_asks_for() -> None:
    for reason in ("no_active_mapping", "no_assistant", "assistant_not_found", "no_call_action"):
        assert DEFAULTS[reason] == CarrierAnswer("temporarily_unavailable", 480)
    assert DEFAULTS["at_capacity"] == CarrierAnswer("busy", 486)
    assert DEFAULTS["at_capacity"].sip_reason_phrase == "Busy Here"
    assert DEFAULTS["caller_blocked"] == CarrierAnswer("rejected", 603)


def test_603_is_only_for_deliberate_refusals() -> None:
    declined = {reason for reason, answer in DEFAULTS.items() if answer.sip_status >= 600}
    assert declined == {"auto_reject", "webhook_rejected", "caller_blocked"}


def test_the_statuses_of_two_outcomes_never_overlap() -> None:
    seen: set[int] = set()
    for outcome in REFUSAL_OUTCOMES:
        assert not seen & ALLOWED_SIP_STATUSES[outcome]
        seen |= ALLOWED_SIP_STATUSES[outcome]
    assert seen == set(SIP_REASON_PHRASES)


def test_a_decisions_edge_outcome_and_sip_status_come_from_this_table() -> None:
    for reason in RejectReason:
        decision = Decision(call_id="c", verdict=Verdict.REJECT, reject_reason=reason)
        default = DEFAULTS[reason.value]
        assert decision.edge_outcome is EdgeOutcome(default.edge_outcome)
        assert decision.sip_status == default.sip_status
    failed = Decision(
        call_id="c", verdict=Verdict.REJECT, reject_reason=RejectReason.WEBHOOK_FAILED
    )
    assert (failed.edge_outcome, failed.sip_status) == (EdgeOutcome.TEMPORARILY_UNAVAILABLE, 480)
    routed = Decision(call_id="c", verdict=Verdict.ACCEPT)
    assert (routed.edge_outcome, routed.sip_status) == (EdgeOutcome.BRIDGE, None)


def test_an_account_override_applies_to_its_reason_only() -> None:
    policy = CarrierPolicy(
        parse_overrides(
            {
                "caller_blocked": {"sip_status": 480},
                "at_capacity": {"sip_status": 503, "edge_outcome": "temporarily_unavailable"},
                "webhook_rejected": {"sip_status": 607},
            }
        )
    )
    assert policy.answer("caller_blocked") == CarrierAnswer(
        "temporarily_unavailable", 480, "account"
    )
    assert policy.answer("at_capacity") == CarrierAnswer("temporarily_unavailable", 503, "account")
    assert policy.answer("webhook_rejected").sip_reason_phrase == "Unwanted"
    assert policy.answer("auto_reject") == DEFAULTS["auto_reject"]
    assert DEFAULT_POLICY.answer("at_capacity") == DEFAULTS["at_capacity"]
    with pytest.raises(KeyError):
        policy.answer("no_such_reason")


def test_an_empty_override_object_is_no_override() -> None:
    assert parse_overrides({}) == {}


@pytest.mark.parametrize(
    ("raw", "field", "text"),
    [
        ({"no_active_mapping": {"sip_status": 404}}, "sip_overrides.no_active_mapping", "not"),
        ({"invalid_number": {"sip_status": 480}}, "sip_overrides.invalid_number", "not"),
        ({"sleeping": {"sip_status": 480}}, "sip_overrides.sleeping", "unknown reason"),
        ({"at_capacity": {"sip_status": 200}}, "sip_overrides.at_capacity.sip_status", "200"),
        ({"at_capacity": {"sip_status": "486"}}, "sip_overrides.at_capacity.sip_status", "int"),
        ({"at_capacity": {"sip_status": True}}, "sip_overrides.at_capacity.sip_status", "int"),
        ({"at_capacity": {"sip_status": 181}}, "sip_overrides.at_capacity.sip_status", "181"),
        (
            {"at_capacity": {"sip_status": 603, "edge_outcome": "busy"}},
            "sip_overrides.at_capacity.sip_status",
            "busy: 486, 600",
        ),
        (
            {"at_capacity": {"sip_status": 486, "edge_outcome": "bridge"}},
            "sip_overrides.at_capacity.edge_outcome",
            "one of",
        ),
        ({"at_capacity": 486}, "sip_overrides.at_capacity", "an override is"),
        ({"at_capacity": {"sip_status": 486, "x": 1}}, "sip_overrides.at_capacity", "override"),
        ([], "sip_overrides", "object"),
    ],
)
def test_invalid_overrides_name_their_field(raw: Any, field: str, text: str) -> None:
    found = violations(raw)
    assert text in found[field]


def test_every_bad_override_is_reported_at_once() -> None:
    found = violations(
        {
            "no_active_mapping": {"sip_status": 404},
            "at_capacity": {"sip_status": 200},
            "caller_blocked": {"sip_status": 607},
        }
    )
    assert set(found) == {"sip_overrides.no_active_mapping", "sip_overrides.at_capacity.sip_status"}


def test_exotel_streams_only_a_bridged_call_and_branches_a_passthru_on_the_rest() -> None:
    assert exotel_answer("bridge").stream_http_status == 200
    assert exotel_answer("bridge").passthru_http_status == 200
    assert exotel_answer("forward").stream_http_status == 409
    for outcome in REFUSAL_OUTCOMES:
        assert exotel_answer(outcome).stream_http_status == 404  # the adapter's documented 404
        assert exotel_answer(outcome).passthru_http_status == 302
