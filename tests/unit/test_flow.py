"""Topic roles and the flow: one definition, and every stage and the app follow it."""

from __future__ import annotations

from dataclasses import fields

import pytest

from pipeline.app import build_stages
from pipeline.settings import Settings
from pipeline.topics import ALL, CHAIN, FLOW, TERMINAL, Role, TopicNames, step

pytestmark = pytest.mark.unit


def test_topic_names_have_one_attribute_per_role_in_flow_order() -> None:
    assert [f.name for f in fields(TopicNames)] == [role.value for role in Role]
    names = TopicNames.from_settings(Settings(topic_prefix="t."))
    assert names.all() == tuple(f"t.{name}" for name in ALL)
    assert [names.of(role) for role in Role] == list(names.all())


def test_each_stage_reads_what_the_one_before_carries() -> None:
    assert FLOW[0].reads == Role.RAW
    for before, after in zip(FLOW, FLOW[1:], strict=False):
        assert after.reads == before.carries
    for one in FLOW:
        assert one.carries in one.writes and Role.DLQ in one.writes
    assert FLOW[-1].carries in TERMINAL and Role.DLQ in TERMINAL


def test_the_stages_take_their_ids_and_roles_from_the_flow() -> None:
    stages = build_stages(Settings(chain_stages=False), analyzer=object())  # type: ignore[arg-type]
    assert [(s.id, s.input_role, s.output_roles) for s in stages] == [
        (one.stage, one.reads, one.writes) for one in FLOW
    ]


def test_chained_the_extract_agent_reads_what_extract_reads_and_writes_what_code_writes() -> None:
    stages = build_stages(Settings(), analyzer=object())  # type: ignore[arg-type]
    assert [(s.id, s.input_role, s.output_roles) for s in stages] == [
        (one.stage, one.reads, one.writes) for one in (FLOW[0], CHAIN, *FLOW[2:])
    ]
    assert (CHAIN.stage, CHAIN.reads) == (step("extract").stage, step("extract").reads)
    assert (CHAIN.carries, CHAIN.writes) == (step("code").carries, step("code").writes)


def test_an_unknown_stage_is_an_error() -> None:
    assert step("enrich").reads == Role.ANNOTATED
    with pytest.raises(KeyError):
        step("translate")
