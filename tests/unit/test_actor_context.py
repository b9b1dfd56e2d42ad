"""Countries from an agent's context, and coreference beyond surnames."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from spacy.language import Language

from pipeline.models import ActorRef, Span
from pipeline.nlp.actors.anaphora import load_coref_words, quote_ids
from pipeline.nlp.actors.coder import ActorCoder, ActorMention
from pipeline.nlp.actors.context import follow_antecedents

pytestmark = pytest.mark.unit

DAY = date(2024, 5, 7)


@pytest.fixture(scope="module")
def coder() -> ActorCoder:
    return ActorCoder.load()


def found(nlp: Language, coder: ActorCoder, text: str) -> list[ActorRef]:
    return [m.ref for m in coder.find(nlp(text), DAY)]


def by_text(nlp: Language, coder: ActorCoder, text: str) -> dict[str, ActorRef]:
    return {ref.text: ref for ref in found(nlp, coder, text)}


# --------------------------------------------------------------------------- the noun phrase


def test_police_in_a_city_take_its_country(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "Police in Karachi arrested three men on Tuesday.")
    assert refs["Police in Karachi"].code == "PAKCOP"
    assert refs["Police in Karachi"].match == "agent+phrase"


def test_possessive_country_before_an_agent(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "Pakistan's interior minister resigned on Monday.")
    assert refs["Pakistan's interior minister"].code == "PAKGOV"
    assert refs["Pakistan's interior minister"].match == "agent+phrase"


def test_nested_of_phrases_make_one_mention(nlp: Language, coder: ActorCoder) -> None:
    refs = found(nlp, coder, "The ministry of defence of Japan ordered two destroyers north.")
    assert [(r.text, r.code, r.match) for r in refs] == [
        ("ministry of defence of Japan", "JPNGOV", "agent+phrase")
    ]


def test_a_generic_head_takes_the_whole_code_of_its_phrase(
    nlp: Language, coder: ActorCoder
) -> None:
    refs = by_text(nlp, coder, "A spokesman for the Japanese military declined to comment.")
    assert refs["spokesman"].code == "JPNMIL"
    assert refs["spokesman"].match == "agent+phrase"


def test_an_apposition_gives_its_country(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "The envoy, a veteran Kenyan diplomat, arrived in Juba.")
    assert refs["envoy"].code == "KENGOV"
    assert refs["envoy"].match == "agent+phrase"


def test_coordinated_agents_are_placed_by_their_phrase(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "Chilean police and prosecutors opened an inquiry.")
    assert refs["prosecutors"].code == "CHLJUD"
    assert refs["prosecutors"].match == "agent+phrase"


# --------------------------------------------------------------------------- the sentence


def test_the_one_country_of_the_sentence(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "Peru's interior minister said police had detained four men.")
    assert refs["police"].code == "PERCOP"
    assert refs["police"].match == "agent+sentence"


def test_two_countries_in_the_sentence_place_nothing(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "Police said the men had crossed from India into Nepal.")
    assert refs["Police"].code == "---COP"
    assert refs["Police"].match == "agent"


def test_a_country_in_a_reported_clause_does_not_place_the_speaker(
    nlp: Language, coder: ActorCoder
) -> None:
    text = "Officials said Iran had evaded the sanctions. Britain agreed."
    assert by_text(nlp, coder, text)["Officials"].code == "---GOV"


def test_troops_in_a_country_are_not_its_troops(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, "Troops in Mali clashed with rebels near Kidal.")
    assert refs["Troops"].code == "---MIL"
    assert refs["rebels"].code == "MLIREB"


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("NAIROBI (Reuters) - Kenyan officials said foreign troops shot two men.", "troops"),
        ("Iraqi officials said multinational forces had patrolled Baghdad.", "forces"),
        ("Chinese state media said Western diplomats had left Beijing.", "diplomats"),
        ("Kenyan officials said many governments had failed the refugees.", "governments"),
    ],
)
def test_an_agent_of_no_one_country_takes_none_from_its_context(
    nlp: Language, coder: ActorCoder, text: str, agent: str
) -> None:
    refs = by_text(nlp, coder, text)
    assert refs[agent].code.startswith("---"), refs


def test_an_agent_noun_with_the_word_in_it_keeps_its_context(
    nlp: Language, coder: ActorCoder
) -> None:
    refs = by_text(nlp, coder, "Japanese officials said the foreign minister would resign.")
    assert refs["foreign minister"].code == "JPNGOV"


@pytest.mark.parametrize(
    ("text", "agent", "code"),
    [
        ("Emirati officials said the Dubai World company would repay.", "company", "AREBUS"),
        ("Indian officials said the Global Steel company had closed.", "company", "INDBUS"),
    ],
)
def test_a_modifier_inside_a_name_is_the_names(
    nlp: Language, coder: ActorCoder, text: str, agent: str, code: str
) -> None:
    refs = by_text(nlp, coder, text)
    assert refs[agent].code.startswith(code), refs


# --------------------------------------------------------------------------- the article


STORY = (
    "NAIROBI (Reuters) - Police fired tear gas at protesters on Tuesday.\n\n"
    "The demonstrations spread to three towns, witnesses said. "
    "Later, officials said talks with Uganda and Tanzania would resume."
)


def test_a_dateline_places_every_sentence_of_a_story(nlp: Language, coder: ActorCoder) -> None:
    refs = found(nlp, coder, STORY)
    codes = {(r.text, r.code, r.match) for r in refs}
    assert ("Police", "KENCOP", "agent+dateline") in codes
    assert ("protesters", "KENOPP", "agent+dateline") in codes
    # two other countries in the sentence: the dateline is the last resort
    assert ("officials", "KENGOV", "agent+dateline") in codes
    assert all(r.text not in ("NAIROBI", "Reuters") for r in refs)


def test_a_dateline_with_a_date_is_a_dateline(nlp: Language, coder: ActorCoder) -> None:
    refs = found(nlp, coder, "NAIROBI, Oct 26 (Reuters) - Police fired tear gas at protesters.")
    codes = {(r.text, r.code, r.match) for r in refs}
    assert ("Police", "KENCOP", "agent+dateline") in codes
    assert all(r.text not in ("NAIROBI", "Reuters") for r in refs)


def test_the_dominant_country_places_the_rest(nlp: Language, coder: ActorCoder) -> None:
    text = (
        "Germany's chancellor met the French and Polish leaders in Berlin. "
        "The Bundestag will vote on the plan next week. Officials said talks would go on."
    )
    refs = by_text(nlp, coder, text)
    assert refs["Officials"].code == "DEUGOV"
    assert refs["Officials"].match == "agent+article"


def test_no_dominant_country_without_a_margin(nlp: Language, coder: ActorCoder) -> None:
    text = "Ghana and Togo signed a border deal. Ghana and Togo will meet again. Officials cheered."
    assert by_text(nlp, coder, text)["Officials"].code == "---GOV"


# --------------------------------------------------------------------------- coreference


def test_the_country_s_ministry_after_a_country(nlp: Language, coder: ActorCoder) -> None:
    text = "Japan protested on Monday. The country's foreign ministry called the move regrettable."
    refs = by_text(nlp, coder, text)
    assert refs["country's foreign ministry"].code == "JPNGOV"
    assert refs["country's foreign ministry"].match == "coref"


def test_the_government_and_it_refer_to_the_state(nlp: Language, coder: ActorCoder) -> None:
    text = "Chile recalled its envoy. The government said it would file a complaint."
    refs = found(nlp, coder, text)
    coded = [(r.text, r.code, r.match) for r in refs]
    assert ("government", "CHLGOV", "coref") in coded
    assert ("it", "CHLGOV", "coref") in coded


def test_he_refers_to_the_one_person_before_him(nlp: Language, coder: ActorCoder) -> None:
    text = "Fumio Kishida arrived in Hanoi on Monday. He said the visit would deepen ties."
    refs = by_text(nlp, coder, text)
    assert refs["He"].code == "JPNGOV"
    assert refs["He"].name == "Fumio Kishida"
    assert refs["He"].match == "coref"


def test_an_ambiguous_pronoun_stays_unresolved(nlp: Language, coder: ActorCoder) -> None:
    text = "Fumio Kishida met Joe Biden in Washington. He called the talks useful."
    assert "He" not in by_text(nlp, coder, text)


def test_a_pronoun_in_a_quotation_is_not_its_speaker(nlp: Language, coder: ActorCoder) -> None:
    refs = by_text(nlp, coder, 'Emmanuel Macron said: "He is a friend."')
    assert "He" not in refs
    refs = by_text(nlp, coder, 'Xi Jinping arrived in Paris. "He is a friend," Macron said.')
    assert refs["He"].name == "Xi Jinping"


def test_a_pronoun_outside_quotations_skips_what_they_name(
    nlp: Language, coder: ActorCoder
) -> None:
    text = '"Lula is wrong," Argentine President Javier Milei said. He added that talks failed.'
    refs = by_text(nlp, coder, text)
    assert refs["He"].name == "Javier Milei"


def test_they_refers_to_a_group_and_follows_its_country(nlp: Language, coder: ActorCoder) -> None:
    text = "Rebels attacked a convoy near Kidal in Mali. They killed four soldiers."
    refs = by_text(nlp, coder, text)
    assert refs["Rebels"].code == "MLIREB"
    assert refs["They"].code == "MLIREB"
    assert refs["They"].match == "coref"


def test_the_minister_after_a_longer_title(nlp: Language, coder: ActorCoder) -> None:
    text = "Foreign Minister Wang Yi arrived in Canberra. The minister met Penny Wong."
    refs = by_text(nlp, coder, text)
    assert refs["minister"].code == "CHNGOV"
    assert refs["minister"].match == "coref"


def test_expletive_it_is_no_actor(nlp: Language, coder: ActorCoder) -> None:
    text = "Iran denied the report. It is unclear whether talks will resume."
    assert [r.text for r in found(nlp, coder, text)] == ["Iran"]


def test_it_after_a_thing_is_not_the_state_before_it(nlp: Language, coder: ActorCoder) -> None:
    text = "Japan proposed a plan on Monday. It would cut tariffs on rice."
    assert [r.text for r in found(nlp, coder, text)] == ["Japan"]
    text = "Rebels seized two towns in the north. They were retaken in March."
    assert [r.text for r in found(nlp, coder, text)] == ["Rebels"]


def test_quote_ids_mark_quotations(nlp: Language) -> None:
    doc = nlp('He said "we will go" and left. \u201cNo,\u201d she said.')
    ids = quote_ids(doc)
    inside = [t.text for t in doc if ids[t.i]]
    assert inside == ['"', "we", "will", "go", '"', "\u201c", "No", ",", "\u201d"]
    assert ids[doc[3].i] != ids[doc[-4].i]


def test_coreference_words_are_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "coreference.toml"
    path.write_text(
        '[pronouns]\nperson = ["he"]\n[possessives]\nbody = ["its"]\n'
        '[nouns]\nstate = ["country"]\ngovernment = ["cabinet"]\norganisations = ["army"]\n'
        '[expletive]\nverbs = ["be"]\n',
        encoding="utf-8",
    )
    words = load_coref_words(path)
    assert words.pronouns == {"he": "person"}
    assert words.possessives == {"its": "body"}
    assert words.state_nouns == {"country"} and words.government_nouns == {"cabinet"}
    assert words.organisations == {"army"} and words.expletive_verbs == {"be"}


def rebels(at: int, code: str, match: str) -> ActorMention:
    ref = ActorRef(
        text="rebels",
        name="rebels",
        code=code,
        country=code[:3] if code[:3] != "---" else None,
        agent="REB",
        span=Span(start=at, end=at + 6),
        match=match,
    )
    return ActorMention(at, at + 1, ref)


def test_a_reference_follows_its_own_antecedent_not_an_older_namesake() -> None:
    before = [
        rebels(0, "---REB", "agent"),
        rebels(10, "---REB", "agent"),
        rebels(12, "---REB", "coref"),
    ]
    placed = [rebels(0, "MLIREB", "agent+sentence"), before[1], before[2]]
    assert [m.ref.code for m in follow_antecedents(before, placed)] == [
        "MLIREB",
        "---REB",
        "---REB",
    ]
    placed = [before[0], rebels(10, "NERREB", "agent+article"), before[2]]
    after = follow_antecedents(before, placed)
    assert after[2].ref.code == "NERREB"
    assert after[2].ref.match == "coref"


def test_an_abbreviation_the_article_defines_names_the_same_actor(
    nlp: Language, coder: ActorCoder
) -> None:
    text = (
        "The Ethiopian army (ENDF) moved north on Monday. Later the ENDF said it would stay, "
        "and the ABC party (ABC) stayed away."
    )
    refs = found(nlp, coder, text)
    later = [r for r in refs if r.text == "ENDF" and r.span.start > text.index("Later")]
    assert [(r.code, r.match) for r in later] == [("ETHMIL", "alias")]
    # the abbreviation in brackets is not a second mention, and one of no actor defines nothing
    assert [r.text for r in refs].count("ENDF") == 1
    assert all(r.text != "ABC" for r in refs)
