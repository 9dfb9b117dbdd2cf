"""Load framework data files, refusing a broken file whole with the file, path and reason."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from checks.findings import CATALOGUE_FILE, FindingCatalogue
from frameworks.finding_links import FindingLinkTable, link_problems, link_table
from frameworks.proportionality import Proportionality, RuledProfileSet, SubjectRules, rule_problems
from frameworks.schema import Audience, Framework, Profile, ProfileSet
from frameworks.scoring_policy import ScoringPolicy

DATA_ROOT = Path(__file__).resolve().parent / "data"
DEFAULT_FRAMEWORK = ("ptsbd", "1.0")
MAX_DATA_FILE_BYTES = 20 * 1024 * 1024

Model = TypeVar("Model", bound=BaseModel)


class FrameworkDataError(ValueError):
    """A data file is malformed; the message names the file, the place in it and the problem."""

    def __init__(self, path: Path, location: str, problem: str) -> None:
        self.path, self.location, self.problem = path, location, problem
        where = f" at {location}" if location else ""
        super().__init__(f"{path}{where}: {problem}")


def _location(loc: tuple[Any, ...], document: Any) -> str:
    """Render a pydantic error location with ids instead of list indexes where possible."""
    parts: list[str] = []
    node = document
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            label = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{key}]" + (f"({label})" if label else ""))
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(f".{key}" if parts else str(key))
    return "".join(parts)


def read_document(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_DATA_FILE_BYTES:
            raise FrameworkDataError(path, "", f"larger than {MAX_DATA_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FrameworkDataError(path, "", f"cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise FrameworkDataError(path, "", "is not UTF-8 text") from exc
    try:
        # CSafeLoader builds plain data only; no Python objects from tags.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrameworkDataError(path, where, f"is not valid YAML: {problem}") from exc


def parse_model(path: Path, model: type[Model], document: Any | None = None) -> Model:
    document = read_document(path) if document is None else document
    if not isinstance(document, dict):
        raise FrameworkDataError(path, "", "must be a mapping at the top level")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise FrameworkDataError(path, _location(first["loc"], document), message) from exc


@dataclass(frozen=True, eq=False)  # identity hashing: tables are cached per loaded framework
class LoadedFramework:
    framework: Framework
    profiles: dict[str, Profile]
    scoring: ScoringPolicy
    content_sha256: str
    source: Path
    finding_links: FindingLinkTable
    proportionality: Proportionality | None = None

    def subject_rules(self, subject: Audience) -> SubjectRules | None:
        """The rules that derive this subject kind's profile, or None where the framework has
        none (then a subject kind with one profile takes it, and one with more cannot start)."""
        return self.proportionality.for_subject(subject) if self.proportionality else None

    @property
    def key(self) -> tuple[str, str]:
        return self.framework.framework_id, self.framework.version

    def pins_content(self, digest: str) -> bool:
        """Whether assessments pinned to this digest were made against this framework's content:
        its own digest, or an earlier rendering of the same version that the file names."""
        return digest == self.content_sha256 or digest in self.framework.earlier_content_sha256


@cache
def shipped_catalogue() -> FindingCatalogue:
    """The check catalogue, read with the same file, place and reason errors as framework data."""
    return parse_model(CATALOGUE_FILE, FindingCatalogue)


def read_catalogue(path: Path = CATALOGUE_FILE) -> FindingCatalogue:
    return shipped_catalogue() if path == CATALOGUE_FILE else parse_model(path, FindingCatalogue)


def _check_finding_links(path: Path, catalogue: FindingCatalogue, framework: Framework) -> None:
    problems = link_problems(catalogue, framework)
    if problems:
        where, what = problems[0]
        raise FrameworkDataError(path, where, what)


def _check_profiles(path: Path, framework: Framework, profile_set: ProfileSet) -> None:
    if (profile_set.framework_id, profile_set.framework_version) != (
        framework.framework_id,
        framework.version,
    ):
        raise FrameworkDataError(
            path,
            "framework_version",
            f"profiles are for {profile_set.framework_id} {profile_set.framework_version}, "
            f"not {framework.framework_id} {framework.version}",
        )
    known = {outcome.id for outcome in framework.outcomes()}
    seen: set[str] = set()
    for index, profile in enumerate(profile_set.profiles):
        if profile.id in seen:
            raise FrameworkDataError(path, f"profiles[{index}]", f"duplicate profile {profile.id}")
        seen.add(profile.id)
        for field in ("targets", "out_of_scope"):
            for outcome_id in getattr(profile, field):
                if outcome_id not in known:
                    raise FrameworkDataError(
                        path,
                        f"profiles[{index}]({profile.id}).{field}.{outcome_id}",
                        f"names unknown outcome {outcome_id}",
                    )


def _check_scoring(path: Path, framework: Framework, scoring: ScoringPolicy) -> None:
    if (scoring.framework_id, scoring.framework_version) != (
        framework.framework_id,
        framework.version,
    ):
        raise FrameworkDataError(
            path,
            "framework_version",
            f"scoring policy is for {scoring.framework_id} {scoring.framework_version}, "
            f"not {framework.framework_id} {framework.version}",
        )


def load_framework_files(
    framework_file: Path,
    profiles_file: Path,
    scoring_file: Path | None = None,
    catalogue_file: Path = CATALOGUE_FILE,
    catalogue: FindingCatalogue | None = None,
) -> LoadedFramework:
    """Load one framework version; `catalogue` is `catalogue_file` already read, if it was."""
    scoring_file = scoring_file or framework_file.with_name(
        f"scoring-{framework_file.stem.rsplit('-', 1)[-1]}.yaml"
    )
    framework = parse_model(framework_file, Framework)
    profile_set = parse_model(profiles_file, RuledProfileSet)
    _check_profiles(profiles_file, framework, profile_set)
    profiles = {profile.id: profile for profile in profile_set.profiles}
    if profile_set.proportionality is not None:
        for where, what in rule_problems(profiles, profile_set.proportionality):
            raise FrameworkDataError(profiles_file, where, what)
    scoring = parse_model(scoring_file, ScoringPolicy)
    _check_scoring(scoring_file, framework, scoring)
    catalogue = catalogue or read_catalogue(catalogue_file)
    _check_finding_links(catalogue_file, catalogue, framework)
    # Only the framework's own content pins assessments; profiles and the scoring policy carry
    # their own versions and may be refined without invalidating answers.
    digest = hashlib.sha256(framework_file.read_bytes()).hexdigest()
    return LoadedFramework(
        framework=framework,
        profiles=profiles,
        scoring=scoring,
        content_sha256=digest,
        source=framework_file,
        finding_links=link_table(catalogue, framework),
        proportionality=profile_set.proportionality,
    )


@cache
def load_framework(framework_id: str, version: str) -> LoadedFramework:
    """A shipped framework version with its profiles; cached because the files never change."""
    folder = DATA_ROOT / framework_id
    return load_framework_files(
        folder / f"{framework_id}-{version}.yaml", folder / f"profiles-{version}.yaml"
    )


def default_framework() -> LoadedFramework:
    return load_framework(*DEFAULT_FRAMEWORK)
