"""Each shipped upstream catalogue holds exactly its publisher's id list, in the publisher's order.

The official lists are written out here, next to the document they come from, rather than read
from the data files, so a change to a data file that drifts from the source fails a test instead
of silently moving the reference. Titles are not compared: they are this project's paraphrases.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from frameworks.library import load_library, validate_library
from frameworks.loader import DATA_ROOT, LoadedFramework
from frameworks.schema import Level
from frameworks.versioning import AnswerFacts, carry_over
from posture.scoring.inputs import AnswerRecord, Estate, SubjectAnswers, SubjectRef
from posture.scoring.reference import score_reference


@dataclass(frozen=True)
class OfficialSource:
    title: str
    publisher: str
    version: str  # the catalogue version the data file declares
    published: str  # the edition, as the publisher dates it
    url: str  # what the shipped catalogue's `source` names


# NCSC publishes no identifiers for Cyber Essentials requirements: the document numbers its lettered
# sections, the scope topics (i)-(vii) and the five themes only. The shipped ids are slugs of its
# headings (see the comment opening frameworks/data/cyber-essentials/cyber-essentials-3.2.yaml);
# each pair below names the heading, or the group of requirements under a theme with no
# sub-heading, that the id stands for.
CYBER_ESSENTIALS_3_2_SOURCE = OfficialSource(
    title="Cyber Essentials: Requirements for IT infrastructure",
    publisher="National Cyber Security Centre, with IASME Consortium (Willow question set)",
    version="3.2",
    published="v3.2, April 2025; for assessments from 28 April 2025",
    url="https://www.ncsc.gov.uk/files/cyber-essentials-requirements-for-it-infrastructure-v3-2.pdf",
)
CYBER_ESSENTIALS_3_2 = (
    ("scope-overview", "Scope: Scope overview"),
    ("byod", "Scope: (i) Bring your own device (BYOD)"),
    ("home-and-remote-working", "Scope: (ii) Home and remote working"),
    ("wireless-devices", "Scope: (iii) Wireless devices"),
    ("cloud-services", "Scope: (iv) Cloud services"),
    (
        "third-party-accounts",
        "Scope: (v) Accounts used by third parties and managed infrastructure",
    ),
    ("third-party-devices", "Scope: (vi) Devices used by third parties"),
    ("web-applications", "Scope: (vii) Web applications"),
    ("firewall-protection", "1. Firewalls: boundary and software firewalls on every device"),
    ("firewall-administration", "1. Firewalls: administrative password and interface"),
    ("firewall-rules", "1. Firewalls: inbound rules, default block, removal"),
    ("unnecessary-accounts-and-software", "2. Secure configuration: accounts, software, auto-run"),
    ("default-credentials", "2. Secure configuration: default and guessable passwords"),
    ("authentication-before-access", "2. Secure configuration: authenticate before access"),
    ("device-unlocking", "2. Secure configuration: Device unlocking"),
    ("supported-software", "3. Security update management: licensed and supported software"),
    ("timely-vulnerability-fixes", "3. Security update management: fixes within 14 days"),
    ("account-management", "4. User access control: creating, approving, removing accounts"),
    ("administrative-accounts", "4. User access control: separate admin accounts, special access"),
    ("password-based-authentication", "4. User access control: Password-based authentication"),
    ("multi-factor-authentication", "4. User access control: multi-factor authentication"),
    (
        "anti-malware-or-allow-listing",
        "5. Malware protection: Anti-malware software; Application allow listing",
    ),
)

CYBER_ESSENTIALS_3_3_SOURCE = OfficialSource(
    title="Cyber Essentials: Requirements for IT infrastructure",
    publisher="National Cyber Security Centre, with IASME Consortium (Danzell question set)",
    version="3.3",
    published="v3.3, April 2026; for assessment accounts created from 27 April 2026",
    url="https://www.ncsc.gov.uk/files/cyber-essentials-requirements-for-it-infrastructure-v3-3.pdf",
)
# 3.3 moves scope to section D and the themes to section E; the headings are the same apart from
# multi-factor authentication, which 3.3 makes an automatic fail for cloud services.
CYBER_ESSENTIALS_3_3 = tuple(
    pair
    for old in CYBER_ESSENTIALS_3_2
    for pair in (
        (
            (
                "mfa-cloud-services",
                "4. User access control: multi-factor authentication, cloud services",
            ),
            (
                "mfa-where-available",
                "4. User access control: multi-factor authentication where available",
            ),
        )
        if old[0] == "multi-factor-authentication"
        else (old,)
    )
)

OWASP_API_2023_SOURCE = OfficialSource(
    title="OWASP Top 10 API Security Risks - 2023",
    publisher="OWASP Foundation (OWASP API Security Project)",
    version="2023",
    published="2023 edition",
    url="https://owasp.org/API-Security/editions/2023/en/0x11-t10/",
)
OWASP_API_2023 = tuple(f"API{n}:2023" for n in range(1, 11))

CISA_PLEDGE_SOURCE = OfficialSource(
    title="Secure by Design Pledge",
    publisher="Cybersecurity and Infrastructure Security Agency",
    version="2024",
    published="May 2024",
    url="https://www.cisa.gov/securebydesign/pledge",
)
# The pledge numbers its seven goals 1-7 ("Goal 1" multi-factor authentication ... "Goal 7"
# evidence of intrusions); G<n> is this project's short form of "Goal <n>".
CISA_PLEDGE = tuple(f"G{n}" for n in range(1, 8))

HMG_SBD_SOURCE = OfficialSource(
    title="Secure by Design principles",
    publisher="Central Digital and Data Office (security.gov.uk)",
    version="1.0",
    published="the ten principles as published on security.gov.uk (the page carries no version)",
    url="https://www.security.gov.uk/policy-and-guidance/secure-by-design/principles/",
)
# Numbered 1-10 on the page ("1. Create responsibility for cyber security risk" ...
# "10. Make changes securely"); P<n> is this project's short form of "principle <n>".
HMG_SBD = tuple(f"P{n}" for n in range(1, 11))

NIST_SSDF_SOURCE = OfficialSource(
    title="NIST SP 800-218, Secure Software Development Framework (SSDF) Version 1.1",
    publisher="National Institute of Standards and Technology",
    version="1.1",
    published="February 2022 (https://doi.org/10.6028/NIST.SP.800-218)",
    url="https://csrc.nist.gov/pubs/sp/800/218/final",
)
# The practices of Table 1, in its order (tasks such as PO.1.1 are not catalogued). Version 1.1
# has no PW.3: it was folded into PW.4.
NIST_SSDF = (
    "PO.1", "PO.2", "PO.3", "PO.4", "PO.5",
    "PS.1", "PS.2", "PS.3",
    "PW.1", "PW.2", "PW.4", "PW.5", "PW.6", "PW.7", "PW.8", "PW.9",
    "RV.1", "RV.2", "RV.3",
)  # fmt: skip

UK_COP_SOURCE = OfficialSource(
    title="Software Security Code of Practice",
    publisher=(
        "Department for Science, Innovation and Technology and the National Cyber Security Centre"
    ),
    version="1.0",
    published="May 2025",
    url="https://www.gov.uk/government/publications/software-security-code-of-practice",
)
# Fourteen principles in four themes, numbered by the Code itself.
UK_COP = (
    "1.1",
    "1.2",
    "1.3",
    "1.4",
    "2.1",
    "2.2",
    "3.1",
    "3.2",
    "3.3",
    "3.4",
    "3.5",
    "4.1",
    "4.2",
    "4.3",
)

OFFICIAL: dict[str, tuple[OfficialSource, tuple[str, ...]]] = {
    "cyber-essentials-3.2": (
        CYBER_ESSENTIALS_3_2_SOURCE,
        tuple(i for i, _ in CYBER_ESSENTIALS_3_2),
    ),
    "cyber-essentials-3.3": (
        CYBER_ESSENTIALS_3_3_SOURCE,
        tuple(i for i, _ in CYBER_ESSENTIALS_3_3),
    ),
    "owasp-api-top10-2023": (OWASP_API_2023_SOURCE, OWASP_API_2023),
    "cisa-sbd-pledge-2024": (CISA_PLEDGE_SOURCE, CISA_PLEDGE),
    "hmg-secure-by-design-1.0": (HMG_SBD_SOURCE, HMG_SBD),
    "nist-ssdf-1.1": (NIST_SSDF_SOURCE, NIST_SSDF),
    "uk-software-security-cop-1.0": (UK_COP_SOURCE, UK_COP),
}


def id_list_differences(official: tuple[str, ...], shipped: list[str]) -> list[str]:
    """What separates a shipped id list from the official one, in words; empty when they agree."""
    problems = []
    missing = [i for i in official if i not in shipped]
    extra = [i for i in shipped if i not in official]
    if missing:
        problems.append(f"missing {missing}")
    if extra:
        problems.append(f"not in the official list {extra}")
    duplicated = sorted({i for i in shipped if shipped.count(i) > 1})
    if duplicated:
        problems.append(f"listed twice {duplicated}")
    common = [i for i in shipped if i in official]
    if not problems and common != list(official):
        problems.append(f"out of order: {common} instead of {list(official)}")
    return problems


@pytest.fixture(scope="module")
def library():  # type: ignore[no-untyped-def]
    return load_library()


@pytest.mark.parametrize("catalogue_id", sorted(OFFICIAL))
def test_the_shipped_catalogue_holds_exactly_the_official_ids(library, catalogue_id: str) -> None:
    source, official = OFFICIAL[catalogue_id]
    catalogue = library.catalogues[catalogue_id]
    assert id_list_differences(official, catalogue.item_ids()) == [], (
        f"{catalogue_id} differs from {source.title} ({source.publisher}, {source.published})"
    )
    assert catalogue.source == source.url
    assert catalogue.version == source.version


@pytest.mark.parametrize(
    ("shipped", "expected"),
    [
        (["API1:2023", "API2:2023"], []),
        (["API1:2023"], ["missing ['API2:2023']"]),
        (["API1:2023", "API2:2023", "API11:2023"], ["not in the official list ['API11:2023']"]),
        (["API2:2023", "API1:2023"], ["out of order"]),
        (["API1:2023", "API2:2023", "API2:2023"], ["listed twice ['API2:2023']"]),
        (["API1", "API2"], ["missing", "not in the official list"]),
    ],
)
def test_any_difference_from_the_official_list_is_named(
    shipped: list[str], expected: list[str]
) -> None:
    problems = id_list_differences(("API1:2023", "API2:2023"), shipped)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)


def _every_outcome_achieved(loaded: LoadedFramework) -> dict[str, AnswerFacts]:
    return {
        outcome.id: AnswerFacts(tuple(i.id for i in outcome.indicators.achieved), comment="seen")
        for outcome in loaded.framework.outcomes()
    }


def test_a_3_2_assessment_carries_to_3_3_and_names_what_needs_a_fresh_answer(library) -> None:
    old = library.frameworks[("cyber-essentials", "3.2")]
    new = library.frameworks[("cyber-essentials", "3.3")]
    answers = _every_outcome_achieved(old)

    result = carry_over(
        answers, library.migrations["cyber-essentials"], old.framework, new.framework
    )

    # Nothing is lost: the split outcome has two successors, everything else keeps its id.
    assert result.dropped == {}
    assert sorted(result.needs_answer) == [
        "cloud-services",
        "mfa-cloud-services",
        "mfa-where-available",
    ]
    unchanged = [o.id for o in new.framework.outcomes() if o.id not in result.needs_answer]
    assert len(unchanged) == 20
    for outcome_id in unchanged:
        assert result.answers[outcome_id] == answers[outcome_id]
    # The split keeps the statements that still hold in each part, under their new ids ...
    assert result.answers["mfa-cloud-services"].indicators_met == (
        "mfa-cloud-services.A1",
        "mfa-cloud-services.A3",
    )
    assert result.answers["mfa-where-available"].indicators_met == (
        "mfa-where-available.A2",
        "mfa-where-available.A3",
    )
    # ... but what 3.3 newly demands (MFA even where it is a paid option) was never answered.
    cloud_mfa = new.framework.outcome("mfa-cloud-services")
    carried = set(result.answers["mfa-cloud-services"].indicators_met)
    assert {i.id for i in cloud_mfa.indicators.achieved} - carried == {"mfa-cloud-services.A4"}


def test_the_migration_map_names_only_the_split_outcome(library) -> None:
    (entry,) = library.migrations["cyber-essentials"].migrations
    assert (entry.from_version, entry.to_version) == ("3.2", "3.3")
    assert entry.outcome == "multi-factor-authentication"
    assert entry.becomes == ["mfa-cloud-services", "mfa-where-available"]


@pytest.mark.parametrize("profile_id", ["cyber-essentials-force", "cyber-essentials-supplier"])
def test_mfa_on_cloud_services_is_critical_and_in_scope_of_both_profiles(
    library, profile_id: str
) -> None:
    loaded = library.frameworks[("cyber-essentials", "3.3")]
    profile = loaded.profiles[profile_id]
    for outcome_id in ("mfa-cloud-services", "cloud-services"):
        outcome = loaded.framework.outcome(outcome_id)
        assert profile.target_for(outcome) is Level.ACHIEVED
        assert outcome_id not in profile.out_of_scope
    assert loaded.framework.outcome("mfa-cloud-services").critical
    assert loaded.scoring.critical_not_achieved_cap == loaded.scoring.band_names()[-1]


def _score(loaded: LoadedFramework, profile_id: str, answers: dict[str, AnswerFacts]):  # type: ignore[no-untyped-def]
    when = datetime(2026, 5, 1, tzinfo=UTC)
    subject = SubjectAnswers(
        subject=SubjectRef("organisation", 1, None, 1, "applicant"),
        profile_id=profile_id,
        answers={
            outcome_id: AnswerRecord(facts.indicators_met, "independent", when)
            for outcome_id, facts in answers.items()
        },
    )
    return score_reference(Estate(as_of=date(2026, 5, 1), subjects=[subject]), loaded)


@pytest.mark.parametrize("profile_id", ["cyber-essentials-force", "cyber-essentials-supplier"])
def test_a_cloud_service_without_mfa_fails_3_3_whatever_else_holds(
    library, profile_id: str
) -> None:
    loaded = library.frameworks[("cyber-essentials", "3.3")]
    answers = _every_outcome_achieved(loaded)
    assert _score(loaded, profile_id, answers).band == ["P"]

    answers["mfa-cloud-services"] = AnswerFacts(("mfa-cloud-services.NA1",))
    scores = _score(loaded, profile_id, answers)
    assert scores.band == ["F"]
    assert bool(scores.capped[0]) is False  # F already: the score alone fails it
    assert 90 < float(scores.score[0]) < 100


def test_every_crosswalk_claiming_completeness_lists_every_element(library) -> None:
    complete = [key for key, walk in library.crosswalks.items() if walk.complete_for_target]
    assert ("ptsbd", "1.0", "cyber-essentials-3.3") in complete
    for key in complete:
        crosswalk = library.crosswalks[key]
        listed = {mapping.target for mapping in crosswalk.mappings}
        element_ids = library.catalogues[crosswalk.target].item_ids()
        assert [i for i in element_ids if i not in listed] == [], key


def test_a_crosswalk_that_leaves_an_element_out_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_ROOT, data)
    walk = data / "crosswalks" / "ptsbd-1.0__cyber-essentials-3.3.yaml"
    lines = walk.read_text().splitlines(keepends=True)
    walk.write_text("".join(line for line in lines if "target: device-unlocking," not in line))

    library, problems = validate_library(data)

    assert library is None
    assert any(
        "ptsbd-1.0__cyber-essentials-3.3.yaml" in p and "element device-unlocking" in p
        for p in problems
    )


def test_cyber_essentials_is_no_longer_shipped_as_an_upstream_file() -> None:
    # Its ids and titles live in the framework files alone; a second copy could drift.
    assert not (DATA_ROOT / "upstream" / "cyber-essentials-3.2.yaml").exists()
    assert not (DATA_ROOT / "upstream" / "cyber-essentials-3.3.yaml").exists()
