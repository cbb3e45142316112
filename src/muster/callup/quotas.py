"""The quotas file: ``region,quota``, one row per region called up."""

from __future__ import annotations

import csv
from pathlib import Path

from muster.errors import ConfigError
from muster.limits import MAX_INTEGER
from muster.profile import Profile

MAX_QUOTA = MAX_INTEGER  # as the register stores it: more than any population


def read_quotas(path: Path, profile: Profile) -> dict[str, int]:
    """{region code: quota}; every problem in the file reported at once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"The quotas file {path} does not exist.",
                          hint="Write a CSV with the header region,quota.") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip().lower() for c in rows[0]] != ["region", "quota"]:
        raise ConfigError(f"{path} must start with the header region,quota "
                          f"(found {','.join(rows[0]) if rows else 'an empty file'}).")
    known = {r.code for r in profile.regions.regions}
    quotas: dict[str, int] = {}
    seen: set[str] = set()
    problems = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            problems.append(f"line {line}: expected region,quota, found {','.join(row)!r}")
            continue
        region, quota = row[0].strip(), row[1].strip()
        code = profile.regions.code_for(region) if region not in known else region
        if code is None:
            problems.append(f"line {line}: region {region!r} is not a region of the profile "
                            f"(codes: {', '.join(sorted(known))})")
        elif code in seen:
            problems.append(f"line {line}: region {code} is listed twice")
        # ASCII digits only: "²" and other Unicode digits pass isdigit() but not int().
        number = int(quota) if quota.isascii() and quota.isdigit() else None
        if number is None or number > MAX_QUOTA:
            problems.append(f"line {line}: quota {quota!r} is not a whole number from 0 to "
                            f"{MAX_QUOTA:,}")
        elif code is not None and code not in seen:
            quotas[code] = number
        if code is not None:
            seen.add(code)
    if problems:
        raise ConfigError(f"The quotas file {path} has {len(problems)} problem(s):",
                          problems=problems)
    if not quotas:
        raise ConfigError(f"The quotas file {path} lists no region.",
                          hint="Add one row per region: region,quota")
    return dict(sorted(quotas.items()))
