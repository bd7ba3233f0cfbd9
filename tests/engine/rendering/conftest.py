"""Fixtures the rendering tests share: the repository's settings, campaigns and renderer,
and a renderer over template files a test writes itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import REPO

from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.core.config import Settings
from rapport.engine.rendering.renderer import Renderer


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(base_dir=REPO)


@pytest.fixture(scope="module")
def campaigns(settings: Settings) -> dict[str, Campaign]:
    loaded, problems = load_campaigns(settings)
    assert problems == []
    return {c.id: c for c in loaded}


@pytest.fixture(scope="module")
def renderer(settings: Settings) -> Renderer:
    return Renderer.from_settings(settings)


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., Renderer]:
    """Write ``{"set/locale/part": text}`` under tmp_path/templates and return a renderer."""

    def build(files: dict[str, str], **options: Any) -> Renderer:
        root = tmp_path / "templates"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return Renderer(root, "en", **options)

    return build
