"""Everything shipped in frameworks/data, loaded and cross-checked as one consistent library."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from checks.findings import CATALOGUE_FILE, FindingCatalogue
from frameworks.catalogue import UpstreamCatalogue
from frameworks.catalogue_view import catalogue_id_of, framework_catalogue
from frameworks.crosswalk import CoverageRules, Crosswalk, crosswalk_problems
from frameworks.finding_links import version_problems
from frameworks.loader import (
    DATA_ROOT,
    FrameworkDataError,
    LoadedFramework,
    load_framework_files,
    parse_model,
    read_catalogue,
)
from frameworks.schema import MigrationMap
from frameworks.urns import colliding_ids

FRAMEWORK_FILE = re.compile(r"^(?P<framework>[a-z0-9-]+)-(?P<version>\d+\.\d+(\.\d+)?)\.yaml$")


@dataclass(frozen=True)
class FrameworkLibrary:
    frameworks: dict[tuple[str, str], LoadedFramework]
    catalogues: dict[str, UpstreamCatalogue]
    crosswalks: dict[tuple[str, str, str], Crosswalk]
    migrations: dict[str, MigrationMap]
    coverage_rules: CoverageRules
    files: list[Path] = field(default_factory=list)

    def latest(self, framework_id: str) -> LoadedFramework:
        versions = [key for key in self.frameworks if key[0] == framework_id]
        if not versions:
            raise KeyError(framework_id)
        newest = max(versions, key=lambda key: tuple(int(p) for p in key[1].split(".")))
        return self.frameworks[newest]

    def by_catalogue_id(self, catalogue_id: str) -> LoadedFramework:
        """A framework version by its catalogue id (`ncsc-caf-4.0`), or its bare id for the
        newest version (`ncsc-caf`)."""
        for loaded in self.frameworks.values():
            if catalogue_id_of(loaded.framework) == catalogue_id:
                return loaded
        return self.latest(catalogue_id)

    def linked_to(self, framework: LoadedFramework) -> set[tuple[str, str]]:
        """Keys of the framework versions a crosswalk joins to this one, either way round."""
        own = catalogue_id_of(framework.framework)
        linked = {(f, v) for (f, v, target) in self.crosswalks if target == own}
        targets = {target for (f, v, target) in self.crosswalks if (f, v) == framework.key}
        linked |= {
            key
            for key, other in self.frameworks.items()
            if catalogue_id_of(other.framework) in targets
        }
        return linked

    def crosswalk_for(self, framework: LoadedFramework, target: str) -> Crosswalk:
        key = (*framework.key, target)
        if key not in self.crosswalks:
            raise KeyError(target)
        return self.crosswalks[key]


def _framework_files(root: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.yaml")):
            match = FRAMEWORK_FILE.match(path.name)
            if match and match["framework"] == folder.name:
                pairs.append((path, folder / f"profiles-{match['version']}.yaml"))
    return pairs


def _load(
    root: Path, errors: list[FrameworkDataError], catalogue_file: Path
) -> FrameworkLibrary | None:
    def attempt(func, *args):  # type: ignore[no-untyped-def]
        try:
            return func(*args)
        except FrameworkDataError as exc:
            errors.append(exc)
            return None

    # The check catalogue links findings to outcomes of these frameworks, so it is checked here.
    files: list[Path] = [catalogue_file]
    catalogue = attempt(read_catalogue, catalogue_file) or FindingCatalogue(findings={})
    frameworks: dict[tuple[str, str], LoadedFramework] = {}
    migrations: dict[str, MigrationMap] = {}
    shipped: set[tuple[str, str]] = set()
    for framework_file, profiles_file in _framework_files(root):
        name = FRAMEWORK_FILE.match(framework_file.name)
        assert name is not None
        shipped.add((name["framework"], name["version"]))
        scoring_file = profiles_file.with_name(profiles_file.name.replace("profiles-", "scoring-"))
        files += [framework_file, profiles_file, scoring_file]
        loaded = attempt(
            load_framework_files,
            framework_file,
            profiles_file,
            scoring_file,
            catalogue_file,
            catalogue,
        )
        if loaded is not None:
            frameworks[loaded.key] = loaded
        migration_file = framework_file.parent / "migrations.yaml"
        if migration_file.exists() and framework_file.parent.name not in migrations:
            files.append(migration_file)
            parsed = attempt(parse_model, migration_file, MigrationMap)
            if parsed is not None:
                migrations[framework_file.parent.name] = parsed

    for framework_id, migration_map in migrations.items():
        errors.extend(_migration_problems(root / framework_id, migration_map, frameworks))
    errors.extend(
        FrameworkDataError(catalogue_file, where, what)
        for where, what in version_problems(catalogue, shipped)
    )

    # Every framework version is also a catalogue that crosswalks can target.
    framework_views = {
        catalogue_id_of(loaded.framework): framework_catalogue(loaded.framework)
        for loaded in frameworks.values()
    }
    for loaded in frameworks.values():
        for first, second in colliding_ids(loaded.framework._all_ids()):
            errors.append(
                FrameworkDataError(
                    loaded.source, "objectives", f"ids {first} and {second} differ only in case"
                )
            )
    catalogues: dict[str, UpstreamCatalogue] = {}
    for path in sorted((root / "upstream").glob("*.yaml")):
        files.append(path)
        catalogue = attempt(parse_model, path, UpstreamCatalogue)
        if catalogue is None:
            continue
        if catalogue.catalogue_id in catalogues:
            errors.append(FrameworkDataError(path, "catalogue_id", "duplicate catalogue id"))
        elif path.stem != catalogue.catalogue_id:
            errors.append(FrameworkDataError(path, "catalogue_id", "must match the file name"))
        elif catalogue.catalogue_id in framework_views:
            errors.append(
                FrameworkDataError(
                    path,
                    "catalogue_id",
                    f"{catalogue.catalogue_id} is also shipped as a framework; its ids and titles "
                    "must be written in one place",
                )
            )
        for first, second in colliding_ids(catalogue._all_ids()):
            errors.append(
                FrameworkDataError(path, "groups", f"ids {first} and {second} differ only in case")
            )
        catalogues[catalogue.catalogue_id] = catalogue
    catalogues.update(framework_views)

    crosswalks: dict[tuple[str, str, str], Crosswalk] = {}
    rules_file = root / "crosswalks" / "coverage-rules.yaml"
    files.append(rules_file)
    rules = attempt(parse_model, rules_file, CoverageRules)
    for path in sorted((root / "crosswalks").glob("*__*.yaml")):
        files.append(path)
        crosswalk = attempt(parse_model, path, Crosswalk)
        if crosswalk is None:
            continue
        source_key = (crosswalk.source.framework_id, crosswalk.source.version)
        if source_key not in frameworks:
            errors.append(FrameworkDataError(path, "source", f"unknown framework {source_key}"))
            continue
        if crosswalk.target not in catalogues:
            errors.append(
                FrameworkDataError(path, "target", f"unknown catalogue {crosswalk.target}")
            )
            continue
        problems = crosswalk_problems(
            crosswalk,
            frameworks[source_key].framework,
            catalogues[crosswalk.target].item_ids(),
        )
        errors.extend(FrameworkDataError(path, where, what) for where, what in problems)
        if not problems:
            crosswalks[(*source_key, crosswalk.target)] = crosswalk
    if errors or rules is None:
        return None
    return FrameworkLibrary(frameworks, catalogues, crosswalks, migrations, rules, files)


def _migration_problems(
    folder: Path, migration_map: MigrationMap, frameworks: dict[tuple[str, str], LoadedFramework]
) -> list[FrameworkDataError]:
    path = folder / "migrations.yaml"
    problems = []
    for index, entry in enumerate(migration_map.migrations):
        where = f"migrations[{index}]"
        old = frameworks.get((migration_map.framework_id, entry.from_version))
        new = frameworks.get((migration_map.framework_id, entry.to_version))
        if old is None or new is None:
            problems.append(FrameworkDataError(path, where, "names a version that is not shipped"))
            continue
        if entry.outcome not in {o.id for o in old.framework.outcomes()}:
            problems.append(
                FrameworkDataError(path, f"{where}.outcome", f"unknown outcome {entry.outcome}")
            )
        new_ids = {o.id for o in new.framework.outcomes()}
        for target in entry.becomes:
            if target not in new_ids:
                problems.append(
                    FrameworkDataError(path, f"{where}.becomes", f"unknown outcome {target}")
                )
    return problems


def validate_library(
    root: Path = DATA_ROOT, catalogue_file: Path = CATALOGUE_FILE
) -> tuple[FrameworkLibrary | None, list[str]]:
    """Load everything, and the check catalogue whose findings link to it; return the library,
    or None with every problem found (one per line)."""
    errors: list[FrameworkDataError] = []
    library = _load(root, errors, catalogue_file)
    return library, [str(error) for error in errors]


def load_library(root: Path = DATA_ROOT) -> FrameworkLibrary:
    library, problems = validate_library(root)
    if library is None:
        raise FrameworkDataError(root, "", "; ".join(problems) or "no data")
    return library


@cache
def shipped_library() -> FrameworkLibrary:
    return load_library(DATA_ROOT)
