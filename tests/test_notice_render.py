"""The profile's notice stylesheet: parsed once, really applied, and reported when missing.

No database: these render one notice straight from a copy of the default profile.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pypdf
import pytest

from muster.errors import ConfigError
from muster.notices.render import NoticeContext, Renderer, notice_settings
from muster.profile import load_profile

A5_POINTS = (419.53, 595.28)


def _profile_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"
    shutil.copytree(load_profile("default").path, folder)
    return folder


def _context() -> NoticeContext:
    return NoticeContext(
        jurisdiction="Example Federation (fictional)", reference="1/TVE/1",
        issued_on="2024-06-02", person_id="P000000007", full_name="Иванов Иван Иванович",
        birth_date="1999-03-10", region="TVE", region_name="Тверская область",
        office_name="Military registration office of Тверская область",
        office_address="1 Registry Street, Тверская область", report_on="2024-07-02",
        report_days=30, law_title="Reference military registration law (example)",
        law_name="reference", law_version="2024-01-01", as_of="2024-06-01",
        status_text="eligible for conscription", plan_id=1, seed="5eed" * 16,
        seed_short="5eed5eed5eed", ticket="ab" * 32, rank=1, candidates=10, quota=3,
        appeal_days=15, deferment_grounds="dependents, student")


def test_an_edited_stylesheet_shapes_every_notice(tmp_path: Path) -> None:
    folder = _profile_copy(tmp_path)
    css = folder / "notice.css"
    css.write_text(css.read_text(encoding="utf-8").replace("size: A4", "size: A5"),
                   encoding="utf-8")
    renderer = Renderer(notice_settings(load_profile(folder)))
    for _ in range(2):  # the second notice reuses the once-parsed stylesheet
        pages = pypdf.PdfReader(io.BytesIO(renderer.pdf(_context()))).pages
        for page in pages:
            size = (float(page.mediabox.width), float(page.mediabox.height))
            assert size == pytest.approx(A5_POINTS, abs=0.5)
        text = " ".join(" ".join(page.extract_text().split()) for page in pages)
        assert "Иванов Иван Иванович" in text and "within 15 days" in text


def test_a_missing_stylesheet_is_a_clear_configuration_error(tmp_path: Path) -> None:
    folder = _profile_copy(tmp_path)
    toml = folder / "profile.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'stylesheet = "notice.css"', 'stylesheet = "gone.css"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        notice_settings(load_profile(folder))
    assert "notices.stylesheet" in str(caught.value.problems) \
        and "gone.css" in str(caught.value.problems)


def test_a_template_without_a_stylesheet_still_renders(tmp_path: Path) -> None:
    folder = _profile_copy(tmp_path)
    toml = folder / "profile.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text("\n".join(line for line in text.splitlines()
                              if not line.startswith("stylesheet =")), encoding="utf-8")
    settings = notice_settings(load_profile(folder))
    assert settings.stylesheet is None
    page = pypdf.PdfReader(io.BytesIO(Renderer(settings).pdf(_context()))).pages[0]
    assert "call-up plan 1" in " ".join(page.extract_text().split())
