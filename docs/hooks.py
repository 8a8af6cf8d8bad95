"""mkdocs hook: a page's `<!-- generated: NAME -->` becomes studies.reference_docs' NAME
(every command's --help, the study file's keys), so those pages are written from the code."""

import os
import re
import sys
from pathlib import Path

MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")
_generated = None


def _functions():
    global _generated
    if _generated is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
        import django

        django.setup()
        from studies.reference_docs import GENERATED

        _generated = GENERATED
    return _generated


def on_page_markdown(markdown, page, config, files):
    def replace(match):
        functions = _functions()
        if match.group(1) not in functions:
            raise ValueError(f"{page.file.src_path}: no generated section {match.group(1)!r}")
        return functions[match.group(1)]()

    return MARKER.sub(replace, markdown)
