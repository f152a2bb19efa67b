"""The routing decision: number -> mapping -> assistant -> hours -> call action -> outcome."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Protocol

from services.common.errors import InvalidArgument, SwitchboardError
from services.common.observability import request_context
from services.common.phone import (
    SERVICE_DEFAULT_REGIONS,
    InvalidPhoneNumber,
    normalize_phone_number,
    supported_service,
)
from services.common.storage.orm import new_id, new_time_ordered_id
from services.registry.call_target import (
    ActionKind,
    CallAction,
    CallTarget,
    FallbackKind,
    Forwarding,
    Identity,
    OutsideKind,
    OverflowKind,
    OverflowStep,
    WebhookFallback,
)
from services.registry.capacity_leases import mapping_scope
from services.registry.contact_rule_values import normalized_caller
from services.registry.routing import (
    call_context_token,
    carrier_outcomes,
    context_lookup,
    explain,
    hours_stage,
    webhook,
)
from services.registry.routing.call_targets import CallTargetCache
from services.registry.routing.caller_screening import screen
from services.registry.routing.capacity_stage import (
    CapacityCheck,
    CapacityOutcome,
    CapacityStage,
    scopes_for,
)
from services.registry.routing.carrier_outcomes import CarrierPolicy
from services.registry.routing.context_lookup import (
    NOT_CONFIGURED,
    CallerContextResult,
    ContextStatus,
)
from services.registry.routing.edge_auth import RoutingCaller
from services.registry.routing.explain import NO_TRACE, REAL_CALL, RunOptions, Stage, Trace
from services.registry.routing.hours_stage import HoursVerdict
from services.registry.routing.mapping_lookup import ActiveMapping, MappingLookup
from services.registry.routing.outbound_http import OutboundHttp
from services.registry.routing.outcome import (
    ActionSource,
    Decision,
    DecisionFacts,
    RejectReason,
    Verdict,
)
from services.registry.routing.webhook import WebhookResult, WebhookVerdict
from services.registry.routing.webhook_endpoints import WebhookEndpoints


@dataclass(frozen=True, slots=True)
class _Run:
    """One run of the pipeline: what it may do, where it explains itself, what it learns."""

    options: RunOptions
    trace: Trace
    facts: DecisionFacts
    decision_id: str


@dataclass(frozen=True, slots=True)
class _Call:
    """What the steps after the mapping lookup need to know about the call."""

    call_id: str
    service: str
    local_number: str
    caller_number: str
    mapping: ActiveMapping
    assistant_id: str
    assistant_name: str


class CarrierPolicies(Protocol):
    """Where an account's carrier policy comes from (never raises: defaults on failure)."""

    async def policy_for(self, account_id: str) -> CarrierPolicy: ...


class Router:
    """Decides calls; one indexed read, one (cached) config lookup, HTTP only when configured."""

    def __init__(
        self,
        mappings: MappingLookup,
        targets: CallTargetCache,
        http: OutboundHttp,
        webhooks: WebhookEndpoints,
        carrier: CarrierPolicies,
        capacity: CapacityStage,
        *,
        call_context_ttl_seconds: int = call_context_token.DEFAULT_TTL_SECONDS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._capacity = capacity
        self._mappings = mappings
        self._targets = targets
        self._http = http
        self._webhooks = webhooks
        self._carrier = carrier
        self._call_context_ttl = call_context_ttl_seconds
        self._clock = clock or _utc_now

    async def route(
        self,
        caller: RoutingCaller,
        *,
        inbound_number: str,
        caller_number: str,
        service: str,
        call_id: str | None,
        options: RunOptions = REAL_CALL,
        trace: Trace = NO_TRACE,
    ) -> Decision:
        """The decision for a call to ``inbound_number``; routing failures are REJECT decisions.

        Raises InvalidArgument for an empty number or an unknown ``service`` and Unavailable
        when the config service cannot be reached. ``Decision.facts`` says what was found;
        ``options`` say what the run may do (a simulation asks nobody unless told to) and
        ``trace`` receives one step per stage.
        """
        # Time-ordered: the journal keys its record by this id and appends at the index end.
        run = _Run(options, trace, DecisionFacts(), new_time_ordered_id(time.time()))
        decision = await self._decide(
            caller,
            run,
            inbound_number=inbound_number,
            caller_number=caller_number,
            service=service,
            call_id=call_id,
        )
        decision.facts = run.facts
        decision.decision_id = run.decision_id
        reason = decision.reject_reason
        account_id = run.facts.account_id
        overridable = reason is not None and reason.value not in carrier_outcomes.NOT_OVERRIDABLE
        if reason is not None and account_id is not None and overridable:
            policy = await self._carrier.policy_for(account_id)
            decision.carrier = policy.answer(reason.value)
        if trace.enabled:
            trace.add(Stage.OUTCOME, decision.verdict.value, explain.outcome_detail(decision))
        return decision

    async def _decide(
        self,
        caller: RoutingCaller,
        run: _Run,
        *,
        inbound_number: str,
        caller_number: str,
        service: str,
        call_id: str | None,
    ) -> Decision:
        if not inbound_number:
            raise InvalidArgument.for_field("inbound_number", "inbound_number is required")
        service = supported_service(service)
        region = SERVICE_DEFAULT_REGIONS[service]
        trace = run.trace
        if trace.enabled:
            trace.add(Stage.SERVICE, service, f"numbers without + are read in region {region}")
        call_id = call_id or new_id()
        request_context.annotate(call_id=call_id)
        try:
            normalized = normalize_phone_number(inbound_number, region)
        except InvalidPhoneNumber as error:
            trace.add(Stage.NORMALIZE, "invalid", error.message)
            return _reject(call_id, RejectReason.INVALID_NUMBER, error.message)
        run.facts.normalized_number = normalized
        if trace.enabled:
            trace.add(Stage.NORMALIZE, "ok", f"{inbound_number!r} -> {normalized}")

        caller_key = normalized_caller(caller_number, region)
        run.facts.caller_normalized = caller_key
        mapping = await self._mappings.find(normalized, caller.account_id, caller_key)
        if mapping is None:
            trace.add(Stage.MAPPING, "not_found", explain.no_mapping_detail(normalized, caller))
            return _reject(call_id, RejectReason.NO_ACTIVE_MAPPING, "no active mapping")
        run.facts.account_id = mapping.account_id
        if trace.enabled:
            trace.add(Stage.MAPPING, "found", f"inbound_id {mapping.inbound_id}")
        screening = screen(mapping.filter_mode, mapping.caller_rule, caller_key)
        if trace.enabled:
            trace.add(Stage.CALLER_SCREENING, *explain.screening_step(screening))
        if screening.allowed:
            decision = await self._route_mapping(
                call_id, service, normalized, caller_number, mapping, run
            )
        else:
            decision = _reject(
                call_id,
                RejectReason.CALLER_BLOCKED,
                screening.detail,
                inbound_id=mapping.inbound_id,
                assistant_id=mapping.assistant_id,
            )
        decision.caller_screening = screening
        return decision

    async def _route_mapping(
        self,
        call_id: str,
        service: str,
        normalized: str,
        caller_number: str,
        mapping: ActiveMapping,
        run: _Run,
    ) -> Decision:
        """The decision for a screened caller: assistant -> business hours -> call action."""
        trace = run.trace
        if mapping.assistant_id is None:
            trace.add(Stage.ASSISTANT, "none", "the mapping has no assistant")
            return _reject(
                call_id,
                RejectReason.NO_ASSISTANT,
                "the mapping has no assistant",
                inbound_id=mapping.inbound_id,
            )
        target = await self._targets.get(mapping.assistant_id)
        if target is None or target.identity.account_id != mapping.account_id:
            trace.add(
                Stage.ASSISTANT, "not_found", f"identity {mapping.assistant_id} no longer exists"
            )
            return _reject(
                call_id,
                RejectReason.ASSISTANT_NOT_FOUND,
                "the mapping's assistant no longer exists",
                inbound_id=mapping.inbound_id,
                assistant_id=mapping.assistant_id,
            )
        call = _Call(
            call_id=call_id,
            service=service,
            local_number="+" + normalized,
            caller_number=caller_number,
            mapping=mapping,
            assistant_id=mapping.assistant_id,
            assistant_name=target.identity.assistant_name,
        )
        if trace.enabled:
            trace.add(Stage.ASSISTANT, "found", f"{call.assistant_name} ({call.assistant_id})")
        hours = hours_stage.evaluate(target, run.options.at or self._clock(), trace)
        if hours is not None and not hours.open:
            decision = await self._outside_hours(call, target, hours, run)
        else:
            decision = await self._apply_action(call, target, run)
        decision.business_hours = hours
        return decision

    async def _apply_action(self, call: _Call, target: CallTarget, run: _Run) -> Decision:
        """The identity's incoming-call action, under its and the number's capacity limits."""
        refusal = _refusal_before_acting(call, target, run)
        if refusal is not None:
            return refusal
        return await self._within_capacity(call, target, run)

    async def _within_capacity(self, call: _Call, target: CallTarget, run: _Run) -> Decision:
        """The identity's decision under its and the number's limits, else its overflow chain."""
        identity = target.identity
        mapping = call.mapping
        check = await self._capacity.check(
            call.call_id,
            scopes_for(
                call.assistant_id,
                identity.max_concurrent_calls,
                mapping.inbound_id,
                mapping.max_concurrent_calls,
            ),
            mapping.account_id,
            run.options,
            run.trace,
            f"identity {call.assistant_id}",
        )
        if check.admitted:
            outcome = CapacityOutcome() if check.limited else None
            return await self._act_within(check, outcome, call, target, run)
        outcome = CapacityOutcome(full_scopes=check.full_scopes)
        if run.options.simulated:
            outcome.slot_free = False
        if mapping_scope(mapping.inbound_id) not in check.full_scopes:
            for index, step in enumerate(identity.overflow_chain, start=1):
                decision = await self._overflow(call, target, step, index, outcome, run)
                if decision is not None:
                    return decision
        decision = _reject_for(
            call, RejectReason.AT_CAPACITY, f"at capacity: {', '.join(check.full_scopes)}"
        )
        decision.capacity = outcome
        return decision

    async def _act_within(
        self,
        check: CapacityCheck,
        outcome: CapacityOutcome | None,
        call: _Call,
        target: CallTarget,
        run: _Run,
    ) -> Decision:
        """Act on the call action holding ``check``'s lease, given back unless routed."""
        try:
            decision = await self._act(call, target, run)
        except BaseException:
            await self._capacity.release(check)
            raise
        if decision.reject_reason is not None:
            await self._capacity.release(check)
        if outcome is not None:
            if decision.reject_reason is None:
                outcome.lease = check.lease
            if run.options.simulated and outcome.slot_free is None:
                outcome.slot_free = True
            decision.capacity = outcome
        return decision

    async def _overflow(
        self,
        call: _Call,
        target: CallTarget,
        step: OverflowStep,
        index: int,
        outcome: CapacityOutcome,
        run: _Run,
    ) -> Decision | None:
        """The decision of one overflow step, or None when it cannot take the call."""
        subject = f"overflow step {index} ({step.describe()})"
        mapping = call.mapping
        if step.kind is OverflowKind.IDENTITY and step.value is not None:
            other = await self._targets.get(step.value)
            if other is None or other.identity.account_id != mapping.account_id:
                run.trace.add(Stage.CAPACITY, "skipped", f"{subject}: no such identity")
                outcome.tried.append(f"step {index} no such identity")
                return None
            other_call = replace(
                call,
                assistant_id=step.value,
                assistant_name=other.identity.assistant_name,
            )
            if _refusal_before_acting(other_call, other, run) is not None:
                run.trace.add(Stage.CAPACITY, "skipped", f"{subject}: it takes no calls")
                outcome.tried.append(f"step {index} takes no calls")
                return None
            limit = other.identity.max_concurrent_calls
            scopes = scopes_for(step.value, limit, mapping.inbound_id, mapping.max_concurrent_calls)
        else:
            if step.kind is OverflowKind.WEBHOOK_FALLBACK and not _has_fallback(target):
                run.trace.add(Stage.CAPACITY, "skipped", f"{subject}: no webhook_fallback")
                outcome.tried.append(f"step {index} no webhook_fallback")
                return None
            other_call, other = call, target
            scopes = scopes_for(None, None, mapping.inbound_id, mapping.max_concurrent_calls)
        check = await self._capacity.check(
            call.call_id, scopes, mapping.account_id, run.options, run.trace, subject
        )
        if not check.admitted:
            outcome.tried.append(f"step {index} full")
            return None
        outcome.overflow_step, outcome.overflow = index, step.describe()
        if step.kind is OverflowKind.IDENTITY:
            return await self._act_within(check, outcome, other_call, other, run)
        if step.kind is OverflowKind.FORWARD and step.value is not None:
            decision = _routed(call, Verdict.FORWARD, ActionSource.OVERFLOW)
            decision.forwarding = Forwarding("phone", step.value)
        else:
            action = target.action
            fallback = action.fallback if action is not None else None
            if action is None or fallback is None:  # not reached: checked before the lease
                return None
            decision = _fallback(call, action, fallback, ActionSource.OVERFLOW)
            if decision.reject_reason is not None:
                decision.reject_reason = RejectReason.AT_CAPACITY
            elif decision.verdict is Verdict.ACCEPT:
                self._sign_call_context(decision, call, target, run)
        if decision.reject_reason is None:
            outcome.lease = check.lease
        else:
            await self._capacity.release(check)
        decision.capacity = outcome
        return decision

    async def _act(self, call: _Call, target: CallTarget, run: _Run) -> Decision:
        """What the identity's (accepting, forwarding or webhook) call action decides."""
        action = target.action
        if action is None:  # not reached: _refusal_before_acting refused it
            return _reject_for(call, RejectReason.NO_CALL_ACTION, "no incoming-call action")
        kind = action.kind
        if kind is ActionKind.WEBHOOK:
            decision = await self._ask_webhook(call, target, action, run)
        else:
            if kind is ActionKind.AUTO_ACCEPT:
                decision = _accept(call, action, None, ActionSource.AUTO_ACCEPT)
            elif kind is ActionKind.FORWARD:
                decision = _forward(call, action.forwarding, ActionSource.FORWARD)
            elif kind is ActionKind.HOSTED_AGENT:
                decision = _routed(call, Verdict.HOSTED_AGENT, ActionSource.HOSTED_AGENT)
            else:
                return _reject_for(
                    call, RejectReason.NO_CALL_ACTION, "unknown incoming-call action"
                )
            if decision.reject_reason is None:
                decision.caller_context = await self._caller_context(call, run)
        if decision.verdict is Verdict.ACCEPT:
            self._sign_call_context(decision, call, target, run)
        return decision

    async def _outside_hours(
        self, call: _Call, target: CallTarget, hours: HoursVerdict, run: _Run
    ) -> Decision:
        """The outside-hours action instead of the incoming-call action."""
        outside = hours.outside
        kind = hours.kind
        if kind is OutsideKind.FORWARD:
            decision = _forward(call, outside.forwarding, ActionSource.OUTSIDE_HOURS)
            if decision.reject_reason is None:
                decision.caller_context = await self._caller_context(call, run)
        elif kind is OutsideKind.IDENTITY:
            other_id = outside.identity_id
            other = await self._targets.get(other_id) if other_id else None
            if other is None or other.identity.account_id != call.mapping.account_id:
                run.trace.add(Stage.ASSISTANT, "not_found", f"identity {other_id} does not exist")
                detail = f"{hours.detail}; the outside-hours identity no longer exists"
                return _reject_for(
                    call, RejectReason.OUTSIDE_HOURS, detail, source=ActionSource.OUTSIDE_HOURS
                )
            call = dataclasses.replace(
                call, assistant_id=other.identity.id, assistant_name=other.identity.assistant_name
            )
            if run.trace.enabled:
                run.trace.add(Stage.ASSISTANT, "found", f"{call.assistant_name} ({other_id})")
            decision = await self._apply_action(call, other, run)
        elif kind is OutsideKind.WEBHOOK:
            action = hours_stage.webhook_action(target.action, outside.webhook_url)
            decision = await self._ask_webhook(call, target, action, run)
            if decision.verdict is Verdict.ACCEPT:
                self._sign_call_context(decision, call, target, run)
        else:
            return _reject_for(
                call, RejectReason.OUTSIDE_HOURS, hours.detail, source=ActionSource.OUTSIDE_HOURS
            )
        decision.action_source = ActionSource.OUTSIDE_HOURS
        decision.reason_detail = "; ".join(
            part for part in (hours.detail, decision.reason_detail) if part
        )
        return decision

    def _sign_call_context(
        self, decision: Decision, call: _Call, target: CallTarget, run: _Run
    ) -> None:
        """Mint the accepted call's signed context (and append it to the URL when opted in)."""
        trace = run.trace
        if target.signing_key is None:
            trace.add(Stage.CALL_CONTEXT, "not_signed", "the identity has no signing key")
            return
        if run.options.simulated:
            trace.add(Stage.CALL_CONTEXT, "not_minted", "a simulation mints no token")
            return
        context = decision.caller_context
        token = call_context_token.mint(
            target.signing_key,
            call_id=call.call_id,
            decision_id=run.decision_id,
            assistant_id=call.assistant_id,
            dialed_number=call.local_number,
            caller_number=(
                "+" + run.facts.caller_normalized if run.facts.caller_normalized else None
            ),
            context=(
                context.variables
                if context is not None and context.status is ContextStatus.OK
                else None
            ),
            ttl_seconds=self._call_context_ttl,
        )
        decision.call_context_token = token
        action = target.action
        if (
            action is not None
            and action.call_context_in_url
            and decision.client_websocket_url is not None
        ):
            decision.client_websocket_url = call_context_token.with_token(
                decision.client_websocket_url, token
            )
            trace.add(Stage.CALL_CONTEXT, "minted", "also appended to the wss:// URL")
        else:
            trace.add(Stage.CALL_CONTEXT, "minted", "returned as call_context_token")

    async def _caller_context(self, call: _Call, run: _Run) -> CallerContextResult:
        result = await self._look_up_context(call, run.options)
        if run.trace.enabled:
            run.trace.add(Stage.CALLER_CONTEXT, *explain.context_step(result))
        return result

    async def _look_up_context(self, call: _Call, options: RunOptions) -> CallerContextResult:
        strategy = call.mapping.strategy
        if strategy is None:
            return NOT_CONFIGURED
        if not options.look_up_context:
            return CallerContextResult(ContextStatus.NOT_LOOKED_UP, strategy_id=strategy.id)
        return await context_lookup.look_up(
            self._http,
            strategy,
            assistant_id=call.assistant_id,
            assistant_name=call.assistant_name,
            service=call.service,
            inbound_id=call.mapping.inbound_id,
            caller_number=call.caller_number,
            inbound_number=call.local_number,
        )

    async def _ask_webhook(
        self, call: _Call, target: CallTarget, action: CallAction, run: _Run
    ) -> Decision:
        """Webhook and context lookup run concurrently: latency is the larger budget."""
        lookup = asyncio.create_task(self._caller_context(call, run))
        try:
            answer = await self._webhook_answer(call, target, action, run.options)
            run.facts.webhook = answer
            decision = _from_webhook(call, action, answer, run.trace)
            if decision.reject_reason is None:
                decision.caller_context = await lookup
            return decision
        finally:
            if not lookup.done():
                lookup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lookup

    async def _webhook_answer(
        self, call: _Call, target: CallTarget, action: CallAction, options: RunOptions
    ) -> WebhookResult:
        """The customer's answer; in a simulation the supplied one, or none unless asked."""
        supplied = options.webhook_answer
        if supplied is not None:
            if supplied.body is None:
                return _WEBHOOK_SUPPLIED_FAILED
            return webhook.interpret(
                supplied.body, action.client_websocket_url, allow_private=self._http.allow_private
            )
        if not options.ask_webhook:
            return _WEBHOOK_NOT_ASKED
        return await self._webhooks.ask(
            call_id=call.call_id,
            local_number=call.local_number,
            remote_number=call.caller_number,
            identity=target.identity,
            action=action,
            secret=target.signing_key,
            remote_identities=await self._remote_identities(call),
        )

    async def _remote_identities(self, call: _Call) -> list[Identity]:
        """Inkbox's ``agent_identities``: the caller, when it is an identity of the account.

        The caller matches when its number is an active mapping of the same account; any
        failure to tell (unparseable caller, config unreachable) is "no match".
        """
        try:
            normalized = normalize_phone_number(
                call.caller_number, SERVICE_DEFAULT_REGIONS[call.service]
            )
        except InvalidPhoneNumber:
            return []
        try:
            mapping = await self._mappings.find(normalized, call.mapping.account_id)
            if mapping is None or mapping.assistant_id is None:
                return []
            target = await self._targets.get(mapping.assistant_id)
        except SwitchboardError:
            return []
        if target is None or target.identity.account_id != call.mapping.account_id:
            return []
        return [target.identity]


_WEBHOOK_NOT_ASKED: Final = WebhookResult(
    WebhookVerdict.FAILED, detail="webhook not asked (simulation)"
)
"""A simulation that neither asks the webhook nor supplies an answer sees the fallback."""
_WEBHOOK_SUPPLIED_FAILED: Final = WebhookResult(
    WebhookVerdict.FAILED, detail="supplied webhook answer: no answer (simulation)"
)


def _from_webhook(call: _Call, action: CallAction, answer: WebhookResult, trace: Trace) -> Decision:
    if trace.enabled:
        trace.add(Stage.WEBHOOK, *explain.webhook_step(answer))
    if answer.verdict is WebhookVerdict.ANSWER:
        decision = _accept(call, action, answer.url, ActionSource.WEBHOOK)
        if decision.reject_reason is None:
            decision.reason_detail = answer.detail
        return decision
    if answer.verdict is WebhookVerdict.REJECT:
        return _reject_for(
            call, RejectReason.WEBHOOK_REJECTED, answer.detail, source=ActionSource.WEBHOOK
        )
    fallback = action.fallback
    if fallback is None:
        return _reject_for(
            call, RejectReason.WEBHOOK_FAILED, answer.detail, source=ActionSource.WEBHOOK
        )
    if trace.enabled:
        trace.add(Stage.FALLBACK, *explain.fallback_step(fallback.kind))
    decision = _fallback(call, action, fallback, ActionSource.WEBHOOK_FALLBACK)
    if decision.reject_reason is not None:
        decision.reject_reason = RejectReason.WEBHOOK_FAILED
    decision.reason_detail = "; ".join(
        part for part in (answer.detail, "fallback applied", decision.reason_detail) if part
    )
    return decision


def _fallback(
    call: _Call, action: CallAction, fallback: WebhookFallback, source: ActionSource
) -> Decision:
    """The configured webhook fallback applied (a reject is WEBHOOK_FAILED until renamed)."""
    if fallback.kind is FallbackKind.ACCEPT:
        return _accept(call, action, fallback.client_websocket_url, source)
    if fallback.kind is FallbackKind.FORWARD:
        return _forward(call, fallback.forwarding, source)
    return _reject_for(call, RejectReason.WEBHOOK_FAILED, None, source=source)


def _has_fallback(target: CallTarget) -> bool:
    return target.action is not None and target.action.fallback is not None


def _refusal_before_acting(call: _Call, target: CallTarget, run: _Run) -> Decision | None:
    """The refusal of an identity with no call action, or an ``auto_reject`` one (no lease is
    taken for those); None when its action may route the call."""
    trace = run.trace
    action = target.action
    if action is None:
        trace.add(Stage.CALL_ACTION, "none", "the identity has no incoming-call action")
        return _reject_for(call, RejectReason.NO_CALL_ACTION, "no incoming-call action")
    run.facts.action_version = action.updated_at
    if trace.enabled:
        trace.add(Stage.CALL_ACTION, *explain.action_step(action, run.facts.action_version))
    if action.kind is ActionKind.AUTO_REJECT:
        return _reject_for(call, RejectReason.AUTO_REJECT, None, source=ActionSource.AUTO_REJECT)
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _accept(call: _Call, action: CallAction, url: str | None, source: ActionSource) -> Decision:
    if url is None:
        url = action.client_websocket_url
    if not url:
        return _reject_for(
            call, RejectReason.NO_CALL_ACTION, "no client_websocket_url configured", source=source
        )
    decision = _routed(call, Verdict.ACCEPT, source)
    decision.client_websocket_url = url
    return decision


def _forward(call: _Call, forwarding: Forwarding | None, source: ActionSource) -> Decision:
    if forwarding is None:
        return _reject_for(
            call, RejectReason.NO_CALL_ACTION, "no forwarding destination configured", source=source
        )
    decision = _routed(call, Verdict.FORWARD, source)
    decision.forwarding = forwarding
    return decision


def _routed(call: _Call, verdict: Verdict, source: ActionSource) -> Decision:
    return Decision(
        call_id=call.call_id,
        verdict=verdict,
        inbound_id=call.mapping.inbound_id,
        assistant_id=call.assistant_id,
        assistant_name=call.assistant_name,
        action_source=source,
    )


def _reject_for(
    call: _Call,
    reason: RejectReason,
    detail: str | None,
    *,
    source: ActionSource | None = None,
) -> Decision:
    return Decision(
        call_id=call.call_id,
        verdict=Verdict.REJECT,
        reject_reason=reason,
        inbound_id=call.mapping.inbound_id,
        assistant_id=call.assistant_id,
        assistant_name=call.assistant_name,
        action_source=source,
        reason_detail=detail,
    )


def _reject(
    call_id: str,
    reason: RejectReason,
    detail: str,
    *,
    inbound_id: str | None = None,
    assistant_id: str | None = None,
) -> Decision:
    return Decision(
        call_id=call_id,
        verdict=Verdict.REJECT,
        reject_reason=reason,
        inbound_id=inbound_id,
        assistant_id=assistant_id,
        reason_detail=detail,
    )
