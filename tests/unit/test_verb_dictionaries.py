"""The reference CAMEO verb dictionaries (PETRARCH-2 and TABARI syntax) as patterns.

Every dictionary here is a small file the test writes itself; the compiled
slots are asserted exactly, then the end-to-end tests code short sentences
through the real spaCy model with a dictionary on top of the own lexicon.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from spacy.language import Language

from pipeline.models import Article, Provenance
from pipeline.nlp.events.coder import CodedEvent, EventCoder
from pipeline.nlp.events.dictionaries import (
    VerbDictionary,
    VerbDictionaryError,
    extend_lexicon,
    load_verb_dictionary,
    match_transformations,
)
from pipeline.nlp.events.lexicon import Codebook, Lexicon
from pipeline.nlp.events.patterns import NULL_CODE, Pattern, Slot
from pipeline.settings import Settings

from .conftest import tiny_mentions

pytestmark = pytest.mark.unit

Load = Callable[..., VerbDictionary]


def W(*words: str, adjacent: bool = False) -> Slot:
    return Slot("word", frozenset(words), adjacent=adjacent)


def PRE(*words: str) -> Slot:
    return Slot("pre", frozenset(words))


def NP(words: set[str], modifiers: set[str]) -> Slot:
    return Slot("np", frozenset(words), frozenset(modifiers))


def PP(prep: str, *words: str, modifiers: tuple[str, ...] = (), actor: str = "") -> Slot:
    return Slot("pp", frozenset(words), frozenset(modifiers), prep, actor)  # type: ignore[arg-type]


def write(folder: Path, text: str, name: str = "verbs.txt") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def load(tmp_path: Path, codebook: Codebook) -> Load:
    def run(text: str, name: str = "verbs.txt", **options: object) -> VerbDictionary:
        return load_verb_dictionary(write(tmp_path, text, name), codebook, **options)  # type: ignore[arg-type]

    return run


def on_line(dictionary: VerbDictionary, line: int, head: str) -> list[Pattern]:
    """The patterns compiled from ``line`` that ``head`` triggers."""
    return [p for p in dictionary.verbs if p.line == line and head in p.heads]


def slots_on(dictionary: VerbDictionary, line: int, head: str) -> list[tuple[Slot, ...]]:
    return [p.slots for p in on_line(dictionary, line, head)]


# ------------------------------------------------------------------ PETRARCH-2

PETRARCH2 = """
&CURRENCY
+DOLLAR
+CASH_
+TROOPS
+HARD_CURRENCY

&LIGHT_
+CANDLE

--- GRANT [070] ---
GRANT
GIVE {GAVE GIVEN GIVING}
LEND [071]
+HAND_OVER {+HANDS_OVER +HANDED_OVER}
RE_+ISSUE
- * &CURRENCY [071]
- * {RIOT POLICE} [1723]
- * (TO) [042:043]
- * (IN COURT) [:173]
- * (AT {NEW SANCTIONS}) [163]
- * (FROM ^) [042]
- * AID (TO +) [070]
- * (INTO $) [0862]
- &CURRENCY * [154]
- WILL NOT * (TOWARDS +) [030]
- $ * + ARMS [072]
- * LOAN TO + [073]
- * (BY/WITH &LIGHT) [017]
- * {CEASE-FIRE DEAL} [062:062]

--- ALTER [---] ---
ALTER
- * DEAL [031]
"""
CURRENCY_WORDS = W("dollar", "dollars", "cash", "troops")
HARD_CURRENCY = NP({"currency", "currencies"}, {"hard"})


def test_petrarch2_is_detected_and_every_line_has_its_provenance(load: Load) -> None:
    d = load(PETRARCH2)
    assert d.syntax == "petrarch2"
    assert d.name == "verbs.txt"
    assert all(p.lexicon == "verbs.txt" and p.priority == 1 for p in d.verbs)
    (aid,) = on_line(d, 22, "grant")
    assert (aid.text, aid.verb, aid.code) == ("- * AID (TO +) [070]", "GRANT", "070")
    assert d.rejected == () and d.conflicts == ()


def test_petrarch2_verbs_block_codes_forms_and_multi_word_verbs(load: Load) -> None:
    d = load(PETRARCH2)
    bare = {p.line: p for p in d.verbs if not p.text.startswith("-")}
    assert (bare[11].heads, bare[11].slots, bare[11].code) == ({"grant"}, (), "070")
    # Irregular forms are heads too, in case the lemmatizer leaves one unchanged.
    assert bare[12].heads == {"give", "gave", "given", "giving"}
    assert bare[13].code == "071"  # the verb's own code beats the block's
    assert bare[14].heads == {"hand", "hands", "handed"}
    assert bare[14].slots == (W("over", adjacent=True),)
    assert (bare[15].heads, bare[15].slots) == ({"issue"}, (PRE("re"),))
    assert (bare[32].heads, bare[32].code) == ({"alter"}, NULL_CODE)
    # A block's pattern applies to each of its verbs, after a multi-word verb's own words.
    assert slots_on(d, 33, "alter") == [(W("deal"),)]
    assert slots_on(d, 17, "hand") == [(W("over", adjacent=True), NP({"police"}, {"riot"}))]
    assert slots_on(d, 17, "issue") == [(PRE("re"), NP({"police"}, {"riot"}))]


def test_petrarch2_synsets_noun_phrases_and_prepositional_phrases(load: Load) -> None:
    d = load(PETRARCH2)
    expected = {
        16: [(CURRENCY_WORDS,), (HARD_CURRENCY,)],
        17: [(NP({"police"}, {"riot"}),)],
        18: [(PP("to"),)],
        19: [(PP("in", "court"),)],
        20: [(PP("at", "sanctions", modifiers=("new",)),)],
        21: [(PP("from"),)],
        22: [(W("aid"), PP("to", actor="target"))],
        23: [(PP("into", actor="source"),)],
        24: [
            (PRE("dollar", "dollars", "cash", "troops"),),
            (PRE("hard"), PRE("currency", "currencies")),
        ],
        25: [(PRE("will"), PRE("not"), PP("towards", actor="target"))],
        26: [(W("arms"),)],
        27: [(W("loan"), PP("to", actor="target"))],
        28: [(PP("by", "candle"),), (PP("with", "candle"),)],
        29: [(NP({"deal"}, {"fire"}),)],
    }
    for line, slots in expected.items():
        assert sorted(slots_on(d, line, "grant"), key=repr) == sorted(slots, key=repr), line


def test_petrarch2_active_and_passive_codes(load: Load) -> None:
    d = load(PETRARCH2)
    codes = {p.line: (p.code, p.passive_code) for p in d.verbs if "grant" in p.heads}
    assert codes[18] == ("042", "043")
    assert codes[19] == (None, "173")  # [:173]: coded in the passive voice only
    assert codes[29] == ("062", None)  # [062:062] is the same code in both voices
    assert codes[16] == ("071", None)


def test_what_cannot_map_is_counted(load: Load) -> None:
    d = load(PETRARCH2)
    assert d.skipped == {
        "$ or + not after a preposition (the coder's subject and object rules apply)": 2,
        "^ skip marker (slots are not ordered: nothing to skip)": 1,
    }


# ----------------------------------------------------------------------- TABARI

TABARI = """
&PREPS_
+WITH
+AGAINST

--- MEET [040] ---
MEET {MET MEETING MEETS}
+MEET_WITH {+MET_WITH}
- * ESTABLISH DIPLOMATIC_RELATIONS WITH + [054]
- SAID + MUST * POLICY [100]
- $ * + PARTY [160]
- % * TALKS [046]
- * ^ DEAL WITH + [051]
- * AID FROM $ [070]
- * &PREPS + [112]
- WILL_* EVACUATE [036]
- * THE ATTACK [190]
- * OFFER [---]
- * PLAN
- * CEASE-FIRE [---]
"""


def test_tabari_is_detected_and_its_constructs_map(load: Load) -> None:
    d = load(TABARI)
    assert d.syntax == "tabari"
    expected = {
        8: [
            (
                W("establish"),
                W("diplomatic"),
                W("relations", adjacent=True),
                PP("with", actor="target"),
            )
        ],
        9: [(PRE("said"), PRE("must"), W("policy"))],
        10: [(W("party"),)],
        11: [(W("talks"),)],
        12: [(W("deal"), PP("with", actor="target"))],
        13: [(W("aid"), PP("from", actor="source"))],
        14: [(PP("against", actor="target"),), (PP("with", actor="target"),)],
        15: [(PRE("will"), W("evacuate"))],
        16: [(W("attack"),)],
        17: [(W("offer"),)],
        18: [(W("plan"),)],
        19: [(NP({"fire"}, {"cease"}),)],
    }
    for line, slots in expected.items():
        assert sorted(slots_on(d, line, "meets"), key=repr) == sorted(slots, key=repr), line
    # The multi-word verb's own word comes first: "met with" + the pattern's slots.
    assert slots_on(d, 16, "met") == [(W("attack"),), (W("with", adjacent=True), W("attack"))]
    codes = {p.line: p.code for p in d.verbs if "meets" in p.heads}
    assert codes[17] == NULL_CODE
    assert codes[18] == "040"  # a TABARI pattern without a code confirms the block's
    assert d.skipped == {
        "$ or + not after a preposition (the coder's subject and object rules apply)": 3,
        "% compound-actor marker (the coder finds compound actors itself)": 1,
        "^ skip marker (slots are not ordered: nothing to skip)": 1,
        "article a/an/the (left out: a slot names a phrase's head)": 1,
    }


def test_detection_needs_a_whole_group(load: Load) -> None:
    """A stray brace in a TABARI line is no PETRARCH-2 group (and is malformed)."""
    text = "--- X [010] ---\nFOO\n- * BAR [011]\n- * BAZ } [012]\n"
    d = load(text, strict=False)
    assert d.syntax == "tabari"
    assert d.rejected == ("verbs.txt:4: stray } in '}'",)
    assert load(text.replace("BAR", "(ON BAR)"), strict=False).syntax == "petrarch2"


# -------------------------------------------------------------------- conflicts

CONFLICTS = """
--- ARRANGE [---] ---
ARRANGE
STAGE
- * STRIKE [140]
- * STRIKE [143]
- * RALLY [141]
- * RALLY [141]
--- PROTEST [140] ---
STAGE
RALLY
- * RALLY [145]
--- DOCK [---] ---
DOCK
- * [042:043]
"""


def test_conflicts_keep_the_first_line_and_are_reported_once(
    load: Load, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pipeline.nlp.events.dictionaries"):
        d = load(CONFLICTS)
    assert on_line(d, 5, "arrange") == []
    assert [(c.kept.line, c.dropped.line, c.heads) for c in d.conflicts] == [
        (4, 5, {"arrange", "stage"}),
        (3, 9, {"stage"}),  # STAGE's bare code: [---] in ARRANGE first, then [140]
        (6, 11, {"stage"}),
    ]
    # The later line keeps the verbs no earlier line has: RALLY's own "rally".
    (rally,) = on_line(d, 11, "rally")
    assert (rally.heads, rally.code) == ({"rally"}, "145")
    assert d.duplicates == 1  # the second "- * RALLY [141]"
    # "- * [code]" gives the block's verbs a code instead of its default: no conflict.
    dock = [p for p in d.verbs if "dock" in p.heads]
    assert [(p.line, p.code, p.passive_code) for p in dock] == [(14, "042", "043")]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "verbs.txt: 3 conflicting patterns" in warnings[0].getMessage()
    assert "line 5 '- * STRIKE [143]'" in warnings[0].getMessage()


def test_an_irregular_form_that_is_another_verbs_base_is_left_to_it(load: Load) -> None:
    d = load("--- FIND [---] ---\nFIND {FINDS FOUND FINDING}\n--- FOUND [043] ---\nFOUND\n")
    assert [p.heads for p in d.verbs] == [{"find", "finds", "finding"}, {"found"}]
    assert d.conflicts == ()


# ----------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "syntax", "message"),
    [
        ("--- X [010] ---\nX\n- * (TO BORDER [154]\n", "petrarch2", "verbs.txt:3: unclosed ("),
        ("--- X [010] ---\nX\n- * TO BORDER) [154]\n", "petrarch2", "verbs.txt:3: unmatched )"),
        ("--- X [010] ---\nX\n- * {RIOT POLICE [154]\n", "petrarch2", "verbs.txt:3: unclosed {"),
        ("--- X [010] ---\nX\n- * BORDER [154\n", None, "verbs.txt:3: unbalanced [ ]"),
        ("--- X [010] ---\nX\n- * A [154] [155]\n", None, "verbs.txt:3: more than one [code]"),
        ("--- X [010] ---\nX\n- * A [154] B\n", None, "verbs.txt:3: the [code] must end"),
        ("--- X [010] ---\nX\n- BORDER [154]\n", "petrarch2", "verbs.txt:3: pattern has no *"),
        ("--- X [010] ---\nX\n- * * A [154]\n", "petrarch2", "verbs.txt:3: pattern has more"),
        ("--- X [010] ---\nX\n- * BORDER\n", "petrarch2", "verbs.txt:3: pattern has no [code]"),
        ("--- X [010] ---\nX\n- * A [:]\n", None, "verbs.txt:3: bad code pair [:]"),
        ("--- X [010] ---\nX\n- * A []\n", None, "verbs.txt:3: empty code []"),
        ("--- X [010] ---\nX\n- * (WITH A}) [194]\n", "petrarch2", "verbs.txt:3: } inside"),
        ("--- X [010] ---\nSCOF AT\n", None, "verbs.txt:2: cannot read the verb line 'SCOF AT'"),
        ("--- X [010] ---\nCALL_OFF\n", None, "verbs.txt:2: multi-word verb 'CALL_OFF' must"),
        ("--- [010] ---\nX\n", None, "verbs.txt:1: cannot read the block header"),
        ("&\n+A\n", None, "verbs.txt:1: cannot read the synset name '&'"),
        ("- * A [010]\n", None, "verbs.txt:1: a pattern line before any verb block"),
        ("&S\n+A\nGRANT\n", None, "verbs.txt:3: a verb line inside synset &S"),
        ("--- X [010] ---\nX\n~ a b c\n", None, "verbs.txt:3: cannot read the transformation"),
        ("--- X [010] ---\n- * A [010]\n", None, "verbs.txt:1: block X has patterns but no verbs"),
    ],
)
def test_a_malformed_line_stops_loading_with_file_and_line(
    load: Load, text: str, syntax: str | None, message: str
) -> None:
    with pytest.raises(VerbDictionaryError) as raised:
        load(text, syntax=syntax)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


def test_an_unknown_code_names_the_code_and_the_line(load: Load) -> None:
    text = "--- X [010] ---\nX\n- * A [999]\n- * B [011]\n--- Y [998] ---\nY\n"
    with pytest.raises(VerbDictionaryError, match=r"^verbs.txt:3: unknown CAMEO code '999'$"):
        load(text)
    with pytest.raises(VerbDictionaryError, match=r"^verbs.txt:5: unknown CAMEO code '998'$"):
        load(text.replace("[999]", "[012]"))


def test_a_lenient_load_leaves_bad_lines_out_and_says_which(
    load: Load, caplog: pytest.LogCaptureFixture
) -> None:
    text = "--- X [010] ---\nX\n- * A [999]\n- * B) [011]\n- * C [012]\n"
    with caplog.at_level(logging.WARNING, logger="pipeline.nlp.events.dictionaries"):
        d = load(text, strict=False)
    assert d.rejected == (
        "verbs.txt:3: unknown CAMEO code '999'",
        "verbs.txt:4: stray ) in 'B)'",
    )
    assert {p.line for p in d.verbs} == {2, 5}
    assert "2 malformed lines left out" in caplog.text


def test_binary_undecodable_and_missing_files_are_clear_errors(
    tmp_path: Path, codebook: Codebook
) -> None:
    binary = tmp_path / "verbs.bin"
    binary.write_bytes(b"--- X [010] ---\nX\x00\x01\n")
    with pytest.raises(VerbDictionaryError, match=r"^verbs.bin:2: a binary file"):
        load_verb_dictionary(binary, codebook)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"--- X [010] ---\nCAF\xc9\n")
    with pytest.raises(VerbDictionaryError, match=r"^latin.txt:2: not UTF-8 text \(byte 0xc9\)"):
        load_verb_dictionary(latin, codebook)
    with pytest.raises(VerbDictionaryError, match=r"^absent.txt: cannot read the file"):
        load_verb_dictionary(tmp_path / "absent.txt", codebook)


# -------------------------------------------------------------- transformations

TRANSFORMS = """
--- ATTACK [190] ---
ATTACK
--- ASSASSINATE [186] ---
ASSASSINATE
--- SAY [010] ---
SAY {SAID SAYING SAYS}
~ a (a b ATTACK) SAY = a b 015
~ a (b . ATTACK) SAY = a b 112
~ a (a b Q) SAY = a b Q
~ a (_ b ATTACK) WANT = a b 138
~ a (b . ATTACK ) WANT = a b 021
~ a (_ b ASSASSINATE) ATTEMPT = a b 185
~ a (_ b ATTACK) ATTEMPT = a b 185
"""


def test_transformations_are_read_and_matched_to_the_coders_rules(
    load: Load, lexicon: Lexicon
) -> None:
    d = load(TRANSFORMS)
    first = d.transformations[0]
    assert (first.line, first.speaker, first.source, first.target, first.inner) == (
        7,
        "a",
        "a",
        "b",
        "ATTACK",
    )
    assert (first.verb, first.result_source, first.result_target, first.code) == (
        "SAY",
        "a",
        "b",
        "015",
    )
    rules = [
        (m.transformation.line, m.rule)
        for m in match_transformations(d.transformations, d.verbs, lexicon)
    ]
    assert rules == [
        (7, "claim"),
        (8, "accusation"),
        (9, "speech"),
        (10, "intent"),
        (11, None),  # wanting someone else to attack, no target: no rule of the coder
        (12, "attempt"),
        (13, None),  # the coder's attempt rule keeps an attack an attack
    ]


# ------------------------------------------------------------------- precedence


def test_with_patterns_puts_the_users_first_on_a_tie_only(load: Load, lexicon: Lexicon) -> None:
    fire = "--- FIRE [---] ---\nFIRE\n- * ROCKET [190]\n"
    d = load(fire + "--- EXPRESS [---] ---\nEXPRESS\n- * CONCERN [013]\n")
    merged = lexicon.with_patterns(d.verbs)
    express = [p for p in merged.verbs["express"] if p.specificity == 1]
    assert express[0].lexicon == "verbs.txt" and express[0].code == "013"
    assert any(p.lexicon == "verbs.toml" for p in express[1:])
    fires = list(merged.verbs["fire"])
    user = next(i for i, p in enumerate(fires) if p.lexicon == "verbs.txt" and p.slots)
    more_specific = [i for i, p in enumerate(fires) if p.specificity == 2]
    assert more_specific and max(more_specific) < user  # "fire rocket at" before "fire rocket"
    assert len(merged.verbs["express"]) == len(lexicon.verbs["express"]) + 2


def test_of_two_dictionaries_the_first_wins_a_tie(
    tmp_path: Path, codebook: Codebook, lexicon: Lexicon
) -> None:
    first = write(tmp_path, "--- CUT [---] ---\nCUT\n- * TIES [161]\n", "first.txt")
    second = write(tmp_path, "--- CUT [---] ---\nCUT\n- * TIES [160]\n", "second.txt")
    merged = extend_lexicon(lexicon, [first, second], codebook)
    ties = [p for p in merged.verbs["cut"] if p.slots == (W("ties"),)]
    assert [(p.lexicon, p.code) for p in ties] == [("first.txt", "161"), ("second.txt", "160")]


def test_settings_give_the_analyzer_the_dictionaries_and_strictness(tmp_path: Path) -> None:
    from pipeline.nlp.analyzer import NlpConfig

    settings = Settings(verb_dictionaries="a.txt:b.txt", verb_dictionaries_strict=False)
    config = NlpConfig.from_settings(settings)
    assert config.verb_dictionaries == (Path("a.txt"), Path("b.txt"))
    assert config.verb_dictionaries_strict is False
    assert settings.environment()["DIPWIRE_VERB_DICTIONARIES_STRICT"] == "false"


# ------------------------------------------------------------------ end to end

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
E2E = """
--- SEAL [---] ---
+SEAL_OFF
- * BORDER [191]
--- EXPRESS [---] ---
EXPRESS
- * CONCERN [013]
--- FIRE [---] ---
FIRE
- * ROCKET [190]
- * (AT) [---]
--- TRY [---] ---
TRY
- * (IN COURT) [111:173]
--- CORDON [---] ---
+CORDON_OFF {+CORDONED_OFF +CORDONING_OFF +CORDONS_OFF}
- * (FROM) [191]
"""
Events = Callable[[str], list[tuple[str, str | None, str, str, int | None]]]


def coder_for(nlp: Language, coder: EventCoder) -> Events:
    def run(text: str) -> list[tuple[str, str | None, str, str, int | None]]:
        doc = nlp(text)
        events: list[CodedEvent] = coder.code(doc, tiny_mentions(doc))
        return [
            (
                e.source.code,
                e.target.code if e.target else None,
                e.code,
                e.rule.lexicon if e.rule else "",
                e.rule.line if e.rule else None,
            )
            for e in events
        ]

    return run


@pytest.fixture(scope="module")
def e2e_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("verbs"), E2E, "sealing.txt")


@pytest.fixture(scope="module")
def user_coder(e2e_path: Path, codebook: Codebook, lexicon: Lexicon) -> EventCoder:
    dictionary = load_verb_dictionary(e2e_path, codebook)
    return EventCoder(codebook, lexicon.with_patterns(dictionary.verbs))


@pytest.fixture(scope="module")
def with_user(nlp: Language, user_coder: EventCoder) -> Events:
    return coder_for(nlp, user_coder)


@pytest.fixture(scope="module")
def own_only(nlp: Language, event_coder: EventCoder) -> Events:
    return coder_for(nlp, event_coder)


def test_a_dictionary_pattern_wins_a_tie_with_the_own_lexicon(
    with_user: Events, own_only: Events
) -> None:
    sentence = "Mexico sealed off the border with Canada."
    assert own_only(sentence) == [("MEX", "CAN", "191", "lexicon/19_fight.toml", None)]
    assert with_user(sentence) == [("MEX", "CAN", "191", "sealing.txt", 3)]


def test_the_users_pattern_wins_over_the_own_one_on_the_same_pattern(
    with_user: Events, own_only: Events
) -> None:
    sentence = "Canada expressed concern about Mexico."
    assert [e[:3] for e in own_only(sentence)] == [("CAN", "MEX", "012")]
    assert with_user(sentence) == [("CAN", "MEX", "013", "sealing.txt", 6)]


def test_a_more_specific_own_pattern_still_wins(with_user: Events) -> None:
    """The user's "fire rocket" (one word) loses to the own "fire rocket at" (two)."""
    assert with_user("Mexico fired rockets at Canada.") == [
        ("MEX", "CAN", "194", "verbs.toml", None)
    ]


def test_a_null_code_blocks_the_event(with_user: Events, own_only: Events) -> None:
    sentence = "Mexico fired at Canada."
    assert [e[:3] for e in own_only(sentence)] == [("MEX", "CAN", "190")]
    assert with_user(sentence) == []


def test_active_and_passive_codes(with_user: Events) -> None:
    assert with_user("Canada tried Mexico in court.") == [("CAN", "MEX", "111", "sealing.txt", 13)]
    assert with_user("Canada was tried in court by Mexico.") == [
        ("MEX", "CAN", "173", "sealing.txt", 13)
    ]


def test_irregular_forms_reach_what_the_lemmatizer_leaves_unlemmatized(
    nlp: Language, with_user: Events, tmp_path: Path, codebook: Codebook, lexicon: Lexicon
) -> None:
    """spaCy lemmatizes "cordoned" as "cordone": only the form in {...} reaches it."""
    sentence = "Brazil cordoned off Canada from Mexico."
    assert with_user(sentence) == [("BRA", "CAN", "191", "sealing.txt", 16)]
    bare = write(tmp_path, "--- CORDON [---] ---\n+CORDON_OFF\n- * (FROM) [191]\n", "bare.txt")
    plain = load_verb_dictionary(bare, codebook)
    assert coder_for(nlp, EventCoder(codebook, lexicon.with_patterns(plain.verbs)))(sentence) == []


@pytest.fixture(scope="module")
def user_analyzer(nlp: Language, e2e_path: Path, user_coder: EventCoder) -> object:
    from pipeline.nlp.actors.coder import ActorCoder
    from pipeline.nlp.analyzer import Analyzer, NlpConfig
    from pipeline.nlp.places import Gazetteer
    from pipeline.nlp.tone import ToneScorer
    from pipeline.nlp.topics import TopicTagger

    return Analyzer(
        NlpConfig(verb_dictionaries=(e2e_path,)),
        nlp,
        ActorCoder.load(),
        user_coder,
        TopicTagger.load(),
        ToneScorer(),
        Gazetteer.load(),
    )


def test_events_carry_the_provenance_of_their_pattern(user_analyzer: object) -> None:
    from pipeline.nlp.analyzer import Analyzer

    assert isinstance(user_analyzer, Analyzer)
    body = "Serbia sealed off the border with Bosnia. Later Serbia met Bosnia."
    article = Article(id="prov-1", body=body, received_at=NOW)
    events = user_analyzer.analyze(article, pipeline_version="t", emitted_at=NOW)
    by_code = {e.cameo_code: e for e in events}
    assert by_code["191"].provenance == Provenance(
        lexicon="sealing.txt", entry="- * BORDER [191]", line=3, verb="SEAL"
    )
    assert by_code["040"].provenance == Provenance(lexicon="verbs.toml", entry="meet")


def test_the_parse_less_analyzer_loads_the_verb_dictionaries(
    e2e_path: Path, tmp_path: Path
) -> None:
    from pipeline.nlp.analyzer import Analyzer, NlpConfig

    analyzer = Analyzer.load(NlpConfig(verb_dictionaries=(e2e_path,)), parse=False)
    seal = analyzer.coder.lexicon.verbs["seal"]
    assert [(p.lexicon, p.line) for p in seal if p.lexicon == "sealing.txt"] == [
        ("sealing.txt", 3),
        ("sealing.txt", 2),
    ]
    broken = write(tmp_path, "--- SEAL [---] ---\nSEAL\n- * BORDER [999]\n", "broken.txt")
    with pytest.raises(VerbDictionaryError, match="broken.txt:3: unknown CAMEO code '999'"):
        Analyzer.load(NlpConfig(verb_dictionaries=(broken,)), parse=False)
