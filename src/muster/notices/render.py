"""A notice from the profile's HTML template (Jinja2) to PDF (WeasyPrint).

The template sees exactly the fields of :class:`NoticeContext` and nothing else: no
personal field reaches a notice unless it is named here (StrictUndefined makes a
misspelt variable an error, not an empty string).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muster.errors import ConfigError
from muster.profile import Profile

# WeasyPrint logs every CSS property it ignores; a notice needs none of that noise.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


@dataclass(frozen=True)
class NoticeSettings:
    template: Path
    office_name: str
    office_address: str
    offices: dict[str, dict[str, str]]
    report_after_days: int
    appeal_days: int
    stylesheet: Path | None = None  # parsed once per renderer, not once per notice

    def office(self, region: str, region_name: str) -> tuple[str, str]:
        own = self.offices.get(region, {})
        return (own.get("name", self.office_name).format(region=region_name),
                own.get("address", self.office_address).format(region=region_name))


def notice_settings(profile: Profile) -> NoticeSettings:
    data = profile.data.get("notices", {})
    problems = []
    template = profile.path / str(data.get("template", "notice.html"))
    if not template.is_file():
        problems.append(f"notices.template: {template} does not exist")
    stylesheet = profile.path / str(data["stylesheet"]) if "stylesheet" in data else None
    if stylesheet is not None and not stylesheet.is_file():
        problems.append(f"notices.stylesheet: {stylesheet} does not exist")
    days = {}
    for key, default in (("report_after_days", 30), ("appeal_days", 15)):
        value = data.get(key, default)
        if not isinstance(value, int) or value < 1:
            problems.append(f"notices.{key} = {value!r}: a whole number of days, 1 or more")
        days[key] = int(value) if isinstance(value, int) else default
    if problems:
        raise ConfigError(f"The [notices] settings of profile {profile.name!r} are not valid:",
                          problems=problems, hint="docs/callup.md describes them.")
    return NoticeSettings(
        template=template, stylesheet=stylesheet,
        office_name=str(data.get("office_name", "Registration office")),
        office_address=str(data.get("office_address", "{region}")),
        offices={str(k): dict(v) for k, v in data.get("offices", {}).items()}, **days)


@dataclass(frozen=True)
class NoticeContext:
    """Everything a notice template may show."""

    jurisdiction: str
    reference: str  # plan/region/rank
    issued_on: str
    person_id: str
    full_name: str
    birth_date: str | None
    region: str
    region_name: str
    office_name: str
    office_address: str
    report_on: str
    report_days: int
    law_title: str
    law_name: str
    law_version: str
    as_of: str
    status_text: str
    plan_id: int
    seed: str
    seed_short: str
    ticket: str
    rank: int
    candidates: int
    quota: int
    appeal_days: int
    deferment_grounds: str

    def as_template_vars(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Renderer:
    """Compiles the template and parses the stylesheet once; shares the font configuration.

    Rendering is where a large batch of notices spends its time (tens of milliseconds
    each, nearly all of it WeasyPrint's layout and drawing), so whatever can be done
    once per process is done here.
    """

    def __init__(self, settings: NoticeSettings) -> None:
        import jinja2
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(settings.template.parent)),
            autoescape=True, undefined=jinja2.StrictUndefined)
        try:
            self.template = env.get_template(settings.template.name)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"The notice template {settings.template} is not valid: "
                              f"line {exc.lineno}: {exc.message}") from None
        self.base_url = str(settings.template.parent)
        self.fonts = FontConfiguration()
        self.stylesheets = [] if settings.stylesheet is None else [
            CSS(filename=str(settings.stylesheet), font_config=self.fonts)]

    def html(self, ctx: NoticeContext) -> str:
        import jinja2

        try:
            return self.template.render(**ctx.as_template_vars())
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"The notice template uses an unknown variable: {exc.message}",
                              hint="Templates see the fields of NoticeContext "
                              "(docs/callup.md).") from None

    def pdf(self, ctx: NoticeContext) -> bytes:
        from weasyprint import HTML

        data = HTML(string=self.html(ctx), base_url=self.base_url).write_pdf(
            font_config=self.fonts, stylesheets=self.stylesheets)
        assert data is not None
        return bytes(data)
