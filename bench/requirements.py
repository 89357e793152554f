"""Print requirements.txt: leadgate's runtime dependencies, pinned as installed, then itself."""

from __future__ import annotations

import importlib.metadata as md
import re

from packaging.requirements import Requirement

HEADER = """\
# Heroku (and any Procfile host) installs from this file: the pinned runtime dependencies,
# then leadgate itself (which provides the `leadgate` command the Procfile runs).
# Regenerate after changing pyproject.toml's dependencies: make requirements"""


def runtime(name: str, seen: dict[str, str]) -> None:
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return
    dist = md.distribution(name)
    seen[key] = dist.version
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            runtime(req.name, seen)


def main() -> None:
    seen: dict[str, str] = {}
    for text in md.distribution("leadgate").requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            runtime(req.name, seen)
    seen.pop("setuptools", None)          # a build tool some packages list; Heroku brings its own
    print(HEADER)
    print("\n".join(f"{name}=={version}" for name, version in sorted(seen.items())))
    print(".")


if __name__ == "__main__":
    main()
