"""The documentation in docs/ against the code: every docs page the code and the README point
to exists, and the reference pages name every column, key, setting and endpoint the code has.
(`mkdocs build --strict` in ./run test checks the links between pages.)"""

import ast
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import get_resolver

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = [
    *ROOT.glob("studies/**/*.py"),
    *ROOT.glob("foley_models/**/*.py"),
    *ROOT.glob("evalsite/**/*.py"),
    *ROOT.glob("benchmarks/*"),
    *ROOT.glob("deploy/**/*"),
    ROOT / "run",
    ROOT / "README.md",
    ROOT / ".env.example",
]
DOC_PATH = re.compile(r"\bdocs/[\w./-]+?\.md\b")


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def _page(name: str) -> str:
    return (DOCS / name).read_text()


def test_every_docs_page_the_code_or_readme_names_exists():
    named = {
        (path.relative_to(ROOT), match)
        for path in SOURCES
        for match in DOC_PATH.findall(_text(path))
    }
    assert len(named) >= 10  # the scan finds the code's pointers at all
    missing = sorted(f"{where}: {page}" for where, page in named if not (ROOT / page).is_file())
    assert not missing, missing


def test_nothing_points_to_a_design_file_outside_the_repository():
    citing = sorted(
        str(path.relative_to(ROOT))
        for path in SOURCES
        if "DESIGN.md" in _text(path)  # migrations too: a clone's help texts are all it has
    )
    assert not citing, citing


def test_the_readme_stays_short_and_links_only_to_pages_that_exist():
    readme = _text(ROOT / "README.md")
    assert len(readme.splitlines()) <= 150
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert len(links) >= 10
    assert [link for link in links if not (ROOT / link).exists()] == []


def test_every_page_is_in_the_menu():
    config = _text(ROOT / "mkdocs.yml")
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages and sorted(p for p in pages if f": {p}" not in config) == []


def _table_keys(markdown: str) -> set[str]:
    """Every `code` span in the first cell of a table row."""
    keys = set()
    for line in markdown.splitlines():
        if line.startswith("| `"):
            keys |= set(re.findall(r"`([^`]+)`", line.split(" | ")[0]))
    return keys


def test_the_votes_csv_page_has_a_row_for_every_column():
    from studies.analysis.votes import COLUMNS

    documented = _table_keys(_page("reference/votes-csv.md"))
    assert [c for c in COLUMNS if c not in documented] == []
    assert documented - set(COLUMNS) == set()  # and no column the code does not write


def test_the_settings_page_names_every_environment_variable_the_settings_read():
    settings = (ROOT / "evalsite" / "settings.py").read_text()
    read = {
        node.args[0].value
        for node in ast.walk(ast.parse(settings))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "").startswith("env_")
        and isinstance(node.args[0], ast.Constant)
    }
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "S3_BUCKET"} <= read
    documented = _table_keys(_page("reference/settings.md"))
    assert sorted(read - documented) == []


def test_the_endpoints_page_lists_every_participant_and_staff_route():
    routes = set()
    for pattern in get_resolver().url_patterns:
        prefix = str(pattern.pattern) if hasattr(pattern, "url_patterns") else ""
        for sub in getattr(pattern, "url_patterns", [pattern]):
            route = prefix + str(sub.pattern) if prefix else str(sub.pattern)
            routes.add("/" + re.sub(r"<\w+:(\w+)>", r"<\1>", route))
    routes = {r for r in routes if not r.startswith("/admin/")}
    assert len(routes) >= 10
    page = _page("reference/http-endpoints.md")
    documented = {re.sub(r"<token>", "<t>", r) for r in re.findall(r"\| `(/[^`]*)` \|", page)}
    normalised = {re.sub(r"<\w*token>", "<t>", r) for r in routes}
    assert sorted(normalised - documented) == []


def test_the_commands_page_is_every_commands_own_help():
    from studies.reference_docs import commands_markdown, project_commands

    text = commands_markdown()
    assert {"analyze", "publish", "import_clips", "create_study"} <= set(project_commands())
    for name in project_commands():
        assert f"## {name}\n" in text and f"usage: manage.py {name}" in text


def test_the_study_file_page_has_every_key_of_every_section():
    from studies.reference_docs import study_file_markdown
    from studies.study_files import ITEM_KEYS, SECTIONS, SYSTEM_KEYS

    text = study_file_markdown()
    for keys in [*SECTIONS.values(), SYSTEM_KEYS, ITEM_KEYS]:
        for key in keys:
            assert f"| `{key}` |" in text


DESIGN_CASES = {
    "real_or_generated": ({"ref": 0.0, "fm": -0.4, "wn": -1.5}, {"ref": "reference"}),
    "pairwise": ({"fm": 0.0, "wn": -0.5, "gan": -1.0}, {}),
    "rating": ({"fm": 4.0, "wn": 3.0, "gan": 2.0}, {}),
    "mushra": ({"ref": 96.0, "fm": 60.0, "low": 20.0}, {"ref": "reference", "low": "anchor"}),
}


def _keys(value, systems: set[str], out: set[str]) -> set[str]:
    """Every key of a summary, except the system, scope and criterion names (the variables)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if key not in systems:
                out.add(key)
            if key not in ("settings", "checklist", "exclusions", "mixed_model", "post_screening"):
                _keys(sub, systems, out)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        _keys(value[0], systems, out)
    return out


def _summary_of(design: str, tmp_path: Path) -> tuple[dict, set[str]]:
    from studies.analysis.qc import QCSettings
    from studies.analysis.simulate import simulate_votes
    from studies.analysis.simulate_designs import simulate_design_votes
    from studies.analysis.study_info import StudyInfo
    from studies.analysis.votes import COLUMNS, write_votes

    if design == "best_of":
        quality, roles = {"fm": 0.5, "wn": 0.3, "gan": 0.2}, {}
        votes = simulate_votes(quality, participants=8, trials=6, items=8,
                               categories=("piano", "violin"), seed=1)  # fmt: skip
    else:
        quality, roles = DESIGN_CASES[design]
        votes = simulate_design_votes(
            design, quality, participants=8, trials=6, items=8, categories=("piano", "violin"),
            noise_sd=2.0, reference=next((k for k, r in roles.items() if r == "reference"), None),
            seed=1,
        )  # fmt: skip
    write_votes(tmp_path / "votes.csv", votes.reindex(columns=list(COLUMNS), fill_value=""))
    info = StudyInfo(
        slug="s", systems={s: s for s in quality}, criteria=("overall",),
        qc=QCSettings(min_trial_seconds=0.0), trials_per_session=6, roles=roles, design=design,
    )  # fmt: skip
    (tmp_path / "votes.study.json").write_text(json.dumps(info.as_dict()))
    call_command("analyze", votes=tmp_path / "votes.csv", out=tmp_path / "out", bootstrap=100)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    names = {*quality, "all", "piano", "violin", "overall", *"ABCDEF"}  # slot letters too
    return summary, _keys(summary, names, set())


@pytest.mark.parametrize("design", ["best_of", *DESIGN_CASES])
def test_the_summary_page_names_every_key_each_design_writes(design, tmp_path):
    summary, keys = _summary_of(design, tmp_path)
    assert "overall" in summary and len(keys) >= 10
    page = _page("reference/summary-json.md")
    shared = page.split("## best_of", 1)[0]
    heading = "## rating and mushra" if design in ("rating", "mushra") else f"## {design}"
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    spans = re.findall(r"`([^`]+)`", shared + section)
    documented = {word for span in spans for word in re.findall(r"\w+", span)}
    assert sorted(keys - documented) == []
