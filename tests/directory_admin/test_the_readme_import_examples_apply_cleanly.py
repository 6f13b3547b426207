"""The README's JSON and CSV examples of the bulk import are valid files: they apply without a refused row,
and a second apply changes nothing."""

import re
from pathlib import Path

import pytest

from core.actors import Actor
from directory.bulk_import import import_run

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(language: str) -> str:
    section = README.read_text().split("#### Bulk import and export", 1)[1]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_readme_example(directory, fmt):
    data = _example(fmt).encode()
    actor = Actor.system("readme-example")
    first = import_run(data=data, fmt=fmt, actor=actor, apply=True)
    assert first.errors == [], first.errors
    assert first.created >= 4
    second = import_run(data=data, fmt=fmt, actor=actor, apply=True)
    assert second.summary.startswith("No change: 0 created, 0 changed,"), second.summary
