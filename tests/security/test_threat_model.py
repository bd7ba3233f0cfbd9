"""docs/security.md is a contract: every test it names as proof exists, and every
guarantee in its tables names at least one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from factories import REPO

DOC = REPO / "docs" / "security.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_the_threat_model_names_exists() -> None:
    references = REFERENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(references) > 40
    missing = []
    for file, name in references:
        path = REPO / file
        if not path.is_file():
            missing.append(file)
        elif name and name not in defined_tests(path):
            missing.append(f"{file}::{name}")
    assert missing == []


def test_every_guarantee_names_its_proof() -> None:
    rows = [
        line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ")
        and not line.startswith(("| threat", "| party", "|---"))
        and line.count("|") >= 5
    ]
    assert len(rows) > 25
    unproven = [row[:80] for row in rows if not REFERENCE.search(row.rsplit("|", 2)[-2])]
    assert unproven == []
