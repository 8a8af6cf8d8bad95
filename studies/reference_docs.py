"""Reference pages written from the code itself, so they cannot drift from it: every
management command's --help, and the study file's keys with the fields they set. The docs
site's hook (docs/hooks.py) puts them where a page has `<!-- generated: NAME -->`."""

from django.core.management import get_commands, load_command_class

from studies.models import Study
from studies.study_files import CRITERION_KEYS, ITEM_KEYS, SECTIONS, SYSTEM_KEYS


def project_commands() -> dict[str, str]:
    """The project's own commands (the studies app's), by name: the app each comes from."""
    return {name: app for name, app in sorted(get_commands().items()) if app == "studies"}


def commands_markdown() -> str:
    """One section per command of the studies app, its full --help as argparse prints it."""
    parts = []
    for name, app in project_commands().items():
        parser = load_command_class(app, name).create_parser("manage.py", name)
        parts += [f"## {name}", "", "```text", parser.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def models_commands_markdown() -> str:
    """`python -m foley_models` and each of its subcommands' --help."""
    import argparse

    from foley_models.cli import build_parser

    parts = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        parts.extend([f"## {name}", "", "```text", parser.format_help().rstrip(), "```", ""])
        for action in parser._actions:  # argparse keeps subcommands only here
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}")

    walk(build_parser(), "python -m foley_models")
    return "\n".join(parts)


def _default(field) -> str:
    if not field.has_default():
        return ""
    default = field.get_default()
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, str) and len(default) > 40:
        return "a default text (the study form shows it)"
    return f"`{default}`" if default not in ("", None) else '`""`'


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def study_file_markdown() -> str:
    """A table per section of the study TOML: each key, its type, the Study field it sets,
    the field's default and help text."""
    parts = []
    for section, keys in SECTIONS.items():
        title = f"[{section}]" if section else "top level"
        parts += [f"### {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, (field_name, kind) in keys.items():
            field = Study._meta.get_field(field_name)
            meaning = field.help_text or field.verbose_name
            if field.choices:
                meaning = f"{meaning} One of: " + ", ".join(f"`{c}`" for c, _ in field.choices)
            parts.append(
                f"| `{key}` | {kind.__name__} | {_default(field)} | {_cell(meaning)} "
                f"(`Study.{field_name}`) |"
            )
        parts.append("")
    for title, keys in (
        ("[[criteria]]", CRITERION_KEYS),
        ("[[systems]]", SYSTEM_KEYS),
        ("[items]", ITEM_KEYS),
    ):
        parts += [f"### {title}", "", "| key | type |", "|---|---|"]
        parts += [f"| `{key}` | {kind.__name__} |" for key, kind in keys.items()]
        parts.append("")
    return "\n".join(parts)


GENERATED = {
    "commands": commands_markdown,
    "models-commands": models_commands_markdown,
    "study-file": study_file_markdown,
}
