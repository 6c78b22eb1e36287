"""Download the published datasets of ``public_data`` from their publishers.

``needs-assessment fetch-public-data --params params/<area>.yaml [--to DIR]`` reads the
registry (``registry.yaml``: title, publisher, landing page, download URL, licence, how the
file is cut or converted), downloads every publication it can into the target folder
(``--to``, else the params' ``public_data_dir``) at the path the params expect, and
records provenance (URL, retrieval time, SHA-256, size, licence) in ``PROVENANCE.json``.

* Downloads use :mod:`urllib` with a timeout; every file is written to a temporary name in
  the target folder and renamed into place, so an interrupted fetch never leaves a partial
  file at a path the workbook reads.
* Publications whose files need reshaping that is not automated (ONS and NHS Digital
  spreadsheets) are marked ``manual``: the raw file is downloaded into ``raw/`` when a URL
  is known, and the steps to convert it are printed and written to ``PROVENANCE.json``.
* Without a network the command stops with :class:`FetchError`, explaining how to point
  ``public_data_dir`` at a local copy instead (e.g. ``../shared/reference``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # pragma: no cover
    from needs_assessment.params import RunParams

__all__ = [
    "FetchError",
    "FetchReport",
    "Publication",
    "OFFLINE_HELP",
    "describe",
    "fetch_public_data",
    "load_registry",
]

REGISTRY = Path(__file__).with_name("registry.yaml")
PROVENANCE = "PROVENANCE.json"
USER_AGENT = "needs-assessment-workbook (fetch-public-data)"
#: Keys fetched first: later entries select rows by the codes they give.
ORDER = ("lookup", "imd", "boundaries", "lsoa11_to_lsoa21")

OFFLINE_HELP = (
    "To run without a network, point public_data_dir in the params file at a local copy of the "
    "published files instead, for example\n"
    "    public_data_dir: ../../shared/reference\n"
    "(relative paths are resolved from the params file's folder). The folder layout and every "
    "publication are listed in data/README.md ('Public data') and in "
    "lib/needs_assessment/public_data/registry.yaml; a folder fetched on a machine with a network "
    "can be copied across as it is (PROVENANCE.json records where each file came from)."
)


class FetchError(RuntimeError):
    """The fetch could not run (no network, publisher unreachable); the message says what
    to do instead."""


@dataclass(frozen=True)
class Publication:
    """One registry entry."""

    key: str
    title: str
    publisher: str
    landing_page: str
    method: str
    licence: str = "OGL v3.0"
    download_url: str | None = None
    attribution: str | None = None
    convert: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_registry(path: Path | None = None) -> dict[str, Publication]:
    """The registry of publications, keyed like the params' ``public_data`` section."""
    raw = yaml.safe_load(Path(path or REGISTRY).read_text(encoding="utf-8"))
    known = {"title", "publisher", "landing_page", "method", "licence", "download_url", "attribution", "convert"}
    out = {}
    for key, entry in raw.items():
        fields = {k: v for k, v in entry.items() if k in known}
        extra = {k: v for k, v in entry.items() if k not in known}
        out[key] = Publication(key=key, **fields, extra=extra)
    return out


def describe(key: str) -> str:
    """Title of a public dataset key (for reports), or the key itself."""
    key = key.removeprefix("public_data.")
    entry = load_registry().get(key)
    return f"{entry.title} ({entry.publisher})" if entry else key


@dataclass
class FetchReport:
    target: Path
    fetched: list[dict[str, Any]] = field(default_factory=list)
    manual: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Public data folder: {self.target}"]
        for item in self.fetched:
            lines.append(f"  fetched  {item['key']}: {item['path']} ({item['bytes']:,} bytes, sha256 {item['sha256'][:12]}…)")
        for item in self.failed:
            lines.append(f"  FAILED   {item['key']}: {item['error']}")
        if self.manual:
            lines.append("Manual steps (publications whose files need reshaping; see PROVENANCE.json):")
            for item in self.manual:
                raw = f" raw file: {item['raw_path']};" if item.get("raw_path") else ""
                lines.append(f"  {item['key']} -> {item['path']}:{raw} {item['convert']} ({item['landing_page']})")
        return "\n".join(lines)


Opener = Callable[..., Any]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _request(url: str, opener: Opener, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with opener(req, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(f"cannot reach {url} ({reason})") from None


def _write_atomic(data: bytes, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record(pub: Publication, dest: Path, target: Path, urls: list[str], data: bytes) -> dict[str, Any]:
    return {
        "key": pub.key,
        "title": pub.title,
        "publisher": pub.publisher,
        "landing_page": pub.landing_page,
        "urls": urls,
        "retrieved": _now(),
        "path": dest.relative_to(target).as_posix(),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "licence": pub.licence,
        "attribution": pub.attribution,
        "method": pub.method,
        "convert": pub.convert,
    }


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------
def _nomis_zip(pub: Publication, opener, timeout) -> tuple[bytes, list[str]]:
    data = _request(pub.download_url, opener, timeout)
    members = pub.extra.get("members") or []
    out = io.StringIO()
    writer = None
    header: list[str] | None = None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        for member in members:
            match = next((n for n in names if n.rsplit("/", 1)[-1].lower() == member.lower()), None)
            if match is None:
                raise OSError(f"{member} not found in {pub.download_url} (holds {', '.join(names[:8])})")
            text = archive.read(match).decode("utf-8-sig")
            rows = list(csv.reader(io.StringIO(text)))
            if not rows:
                continue
            if header is None:
                header = rows[0]
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(header)
            elif rows[0] != header:
                raise OSError(f"{member}: columns differ from {members[0]}")
            writer.writerows(rows[1:])
    return out.getvalue().encode("utf-8"), [pub.download_url]


def _arcgis_pages(service: str, params: dict[str, str], opener, timeout, page: int = 2000) -> tuple[list[dict], list[str]]:
    features, urls, offset = [], [], 0
    while True:
        query = {**params, "resultOffset": str(offset), "resultRecordCount": str(page)}
        url = f"{service}?{urllib.parse.urlencode(query)}"
        urls.append(url)
        payload = json.loads(_request(url, opener, timeout).decode("utf-8"))
        if "error" in payload:
            raise OSError(f"ArcGIS error from {service}: {payload['error']}")
        batch = payload.get("features", [])
        features.extend(batch)
        more = payload.get("exceededTransferLimit") or payload.get("properties", {}).get("exceededTransferLimit")
        if not batch or not more:
            return features, urls
        offset += len(batch)


def _in_clause(column: str, codes: Iterable[str]) -> str:
    return f"{column} IN (" + ",".join(f"'{c}'" for c in codes) + ")"


def _arcgis(pub: Publication, opener, timeout, *, area_code: str | None, selected: dict[str, list[str]]) -> tuple[bytes, list[str]]:
    service = pub.extra["service"]
    output = pub.extra.get("output", "csv")
    columns = pub.extra.get("columns")
    urls: list[str] = []
    extra_cols: dict[str, dict[str, str]] = {}
    if pub.extra.get("upper_tier_service"):
        if not area_code:
            raise OSError("area.code is needed to find the area's local authorities")
        rows, u = _arcgis_pages(pub.extra["upper_tier_service"], {
            "where": f"UTLA23CD='{area_code}' OR LTLA23CD='{area_code}'", "outFields": "*", "f": "json",
            "returnGeometry": "false"}, opener, timeout)
        urls += u
        attrs = [r["attributes"] for r in rows]
        if not attrs:
            raise OSError(f"no local authority found for area code {area_code}")
        lads = sorted({a["LTLA23CD"] for a in attrs})
        extra_cols = {a["LTLA23CD"]: {"UTLA23CD": a["UTLA23CD"], "UTLA23NM": a["UTLA23NM"]} for a in attrs}
        wheres = [_in_clause("LAD24CD", lads)]
    elif pub.extra.get("select_by"):
        codes = selected.get(pub.extra["select_by"]) or []
        if not codes:
            raise OSError(f"needs the {pub.extra['select_by']} codes of a fetched lookup first")
        wheres = [_in_clause(pub.extra["select_by"], codes[i:i + 100]) for i in range(0, len(codes), 100)]
    else:
        wheres = ["1=1"]
    features = []
    for where in wheres:
        params = {"where": where, "outFields": ",".join(columns) if columns else "*"}
        if output == "geojson":
            params.update({"f": "geojson", "outSR": "4326"})
        else:
            params.update({"f": "json", "returnGeometry": "false"})
        batch, u = _arcgis_pages(service, params, opener, timeout)
        features += batch
        urls += u
    if output == "geojson":
        collection = {"type": "FeatureCollection", "features": features}
        return json.dumps(collection).encode("utf-8"), urls
    rows = [f["attributes"] for f in features]
    for row in rows:
        row.update(extra_cols.get(row.get("LAD24CD"), {}))
    header = (columns or sorted({k for r in rows for k in r})) + (["UTLA23CD", "UTLA23NM"] if extra_cols else [])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8"), urls


def _codes_from_csv(data: bytes, column: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    return sorted({row[column] for row in reader if row.get(column)})


# --------------------------------------------------------------------------------------------
def fetch_public_data(
    params: RunParams,
    target: str | os.PathLike | None = None,
    *,
    keys: Iterable[str] | None = None,
    registry: dict[str, Publication] | None = None,
    opener: Opener | None = None,
    timeout: float = 60.0,
    force: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> FetchReport:
    """Download the public datasets of ``params`` into ``target`` and record provenance.

    ``keys`` limits the fetch to some datasets; ``registry`` and ``opener`` (a
    ``urllib.request.urlopen``-like callable) exist for tests. Raises :class:`FetchError`
    when the network is unavailable, before anything is written.
    """
    from needs_assessment.params import PublicDataFiles

    registry = registry or load_registry()
    opener = opener or urllib.request.urlopen
    target_path = Path(target) if target is not None else params.public_data_dir
    if target_path is None:
        raise FetchError("No target folder: give --to DIR or set public_data_dir in the params file.")
    target_path = Path(target_path).expanduser().resolve()
    if (not force and target_path.is_dir() and any(target_path.iterdir())
            and not (target_path / PROVENANCE).is_file()):
        raise FetchError(
            f"{target_path} already holds files that were not fetched by this command (no {PROVENANCE}); "
            "they are left alone. Give another folder with --to, or --force to write into it."
        )
    layout = (params.public_data or PublicDataFiles()).model_dump()
    wanted = [k for k in layout if (keys is None or k in set(keys)) and k in registry]
    wanted.sort(key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), list(layout).index(k)))
    report = FetchReport(target=target_path)
    selected: dict[str, list[str]] = {}
    network_checked = False
    for key in wanted:
        pub = registry[key]
        rel = layout[key] or pub.extra.get("path") or f"{key}.csv"
        dest = target_path / rel
        if pub.method == "manual":
            item = {"key": key, "title": pub.title, "publisher": pub.publisher, "landing_page": pub.landing_page,
                    "path": rel, "convert": pub.convert, "licence": pub.licence, "download_url": pub.download_url}
            if pub.download_url:
                try:
                    data = _request(pub.download_url, opener, timeout)
                except ConnectionError as exc:
                    if not network_checked:
                        raise FetchError(f"No network: {exc}.\n{OFFLINE_HELP}") from None
                    item["error"] = str(exc)
                except OSError as exc:
                    item["error"] = str(exc)
                else:
                    network_checked = True
                    name = Path(urllib.parse.urlparse(pub.download_url).path).name or key
                    raw = target_path / "raw" / name
                    _write_atomic(data, raw)
                    item.update(_record(pub, raw, target_path, [pub.download_url], data))
                    item["raw_path"] = raw.relative_to(target_path).as_posix()
                    item["path"] = rel
            report.manual.append(item)
            continue
        log(f"Fetching {key}: {pub.title} ...")
        try:
            if pub.method == "csv":
                data, urls = _request(pub.download_url, opener, timeout), [pub.download_url]
            elif pub.method == "nomis_zip":
                data, urls = _nomis_zip(pub, opener, timeout)
            elif pub.method == "arcgis":
                data, urls = _arcgis(pub, opener, timeout, area_code=params.area.code, selected=selected)
            else:
                raise OSError(f"unknown method {pub.method!r} in the registry")
        except ConnectionError as exc:
            if not network_checked:
                raise FetchError(f"No network: {exc}.\n{OFFLINE_HELP}") from None
            report.failed.append({"key": key, "error": str(exc)})
            continue
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            network_checked = True
            report.failed.append({"key": key, "error": str(exc)})
            continue
        network_checked = True
        _write_atomic(data, dest)
        if key == "lookup":
            selected["LSOA21CD"] = _codes_from_csv(data, "LSOA21CD")
        report.fetched.append(_record(pub, dest, target_path, urls, data))
    _write_provenance(target_path, report)
    return report


def _write_provenance(target: Path, report: FetchReport) -> None:
    path = target / PROVENANCE
    existing: dict[str, Any] = {}
    if path.is_file():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            existing = {}
    datasets = {item["key"]: item for item in existing.get("datasets", [])}
    for item in report.fetched:
        datasets[item["key"]] = item
    manual = {item["key"]: item for item in existing.get("manual", [])}
    for item in report.manual:
        manual[item["key"]] = item
    payload = {
        "written_by": "needs-assessment fetch-public-data",
        "updated": _now(),
        "datasets": sorted(datasets.values(), key=lambda d: d["key"]),
        "manual": sorted(manual.values(), key=lambda d: d["key"]),
        "failed": report.failed,
    }
    _write_atomic((json.dumps(payload, indent=2) + "\n").encode("utf-8"), path)
