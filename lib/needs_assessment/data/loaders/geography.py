"""Loaders of the area's places: the small-area geography (with deprivation) and boundaries.

* ``geography``: one CSV/XLSX with the canonical or ONS lookup + IoD columns, a folder
  holding the ONS lookup and the MHCLG IoD File 7 separately, or (for real areas built from
  ``public_data_dir``) those two published files named one by one;
* ``boundaries``: small-area polygons in any OGR format, returned in British National Grid.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputDataError, Problem
from ..schemas import (
    boundaries_schema,
    geography_schema,
)
from ._core import (
    _F,
    _SMALL_AREA,
    _SMALL_AREA_NAME,
    _TABLE_SUFFIXES,
    PathLike,
    _check_exists,
    _Collector,
    _Display,
    _display_name,
    _map_columns,
    _match_columns,
    _parse,
    _Prov,
    _quote,
    _read_table,
    _standard,
    _validate,
)

# ============================================================================================
# geography
# ============================================================================================
_GEO_LOOKUP_SPECS = (
    _F("small_area_code", "area", _SMALL_AREA),
    _F("small_area_name", "str", _SMALL_AREA_NAME),
    _F("ward_code", "area", (r"wd\d{2}cd", r"ward_?code(?:_\d{4})?", r"ward_\d{4}_code", r"electoral_ward_code")),
    _F("ward_name", "str", (r"wd\d{2}nm", r"ward_?name(?:_\d{4})?", r"ward_\d{4}_name", r"electoral_ward_name")),
    _F("district_code", "area", (r"lad\d{2}cd", r"ltla\d{2}cd", r"lad_?code(?:_\d{4})?", r"lad_\d{4}_code",
                                   r"ltla_?code", r"local_authority_district_code(?:_\d{4})?", r"la_code")),
    _F("district_name", "str", (r"lad\d{2}nm", r"ltla\d{2}nm", r"lad_?name(?:_\d{4})?", r"lad_\d{4}_name",
                                  r"ltla_?name", r"local_authority_district_name(?:_\d{4})?", r"la_name")),
    _F("upper_tier_code", "area", (r"utla\d{2}cd", r"utlacd", r"utla_code", r"cty\d{2}cd", r"county_code",
                                     r"upper_tier_local_authority_code(?:_\d{4})?"), optional=True),
    _F("upper_tier_name", "str", (r"utla\d{2}nm", r"utlanm", r"utla_name", r"cty\d{2}nm", r"county_name",
                                    r"upper_tier_local_authority_name(?:_\d{4})?"), optional=True),
    _F("region_code", "area", (r"rgn\d{2}cd", r"rgncd", r"region_code"), nullable=True, optional=True),
    _F("region_name", "str", (r"rgn\d{2}nm", r"rgnnm", r"region_name"), nullable=True, optional=True),
)
_GEO_IMD_SPECS = (
    _F("imd_score", "float", (r"imd\d{2}_score", r"imd_\d{4}_score", r"index_of_multiple_deprivation_imd_score")),
    _F("imd_rank", "int", (r"imd\d{2}_rank", r"imd_\d{4}_rank", r"index_of_multiple_deprivation_imd_rank.*"),
       nullable=True, optional=True),
    _F("imd_decile", "int", (r"imd\d{2}_decile", r"imd_\d{4}_decile", r"index_of_multiple_deprivation_imd_decile.*")),
)
_GEO_SPECS = _GEO_LOOKUP_SPECS + _GEO_IMD_SPECS


def _fill_upper_tier(df: pd.DataFrame, colmap: dict[str, str], upper_tier: tuple[str, str] | None) -> pd.DataFrame:
    if "upper_tier_code" in colmap and "upper_tier_name" in colmap:
        return df
    df = df.copy()
    if upper_tier is not None:
        df["upper_tier_code"], df["upper_tier_name"] = upper_tier
    else:  # a unitary authority is its own upper tier
        df["upper_tier_code"] = df["district_code"]
        df["upper_tier_name"] = df["district_name"]
    return df


def _load_geography(path: PathLike, *, root=None, upper_tier: tuple[str, str] | None = None):
    path = Path(path)
    dataset = "geography"
    if path.is_dir():
        return _load_geography_folder(path, root=root, upper_tier=upper_tier)

    def post(df, table, colmap, coll):
        return _fill_upper_tier(df, colmap, upper_tier)

    return _standard(path, dataset, _GEO_SPECS, geography_schema(), root=root, post=post)


def _load_geography_folder(folder: Path, *, root=None, upper_tier=None):
    """A folder holding an ONS LSOA->ward->LAD lookup and an MHCLG IoD 'File 7' CSV."""
    dataset = "geography"
    name = _display_name(folder, root)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _TABLE_SUFFIXES and p.is_file())
    candidates = []
    for file in files:
        table = _read_table(file, _display_name(file, root), dataset)
        candidates.append((table, _match_columns(list(table.df.columns), _GEO_SPECS)))
    # the lookup: the file with wards and the most lookup columns; the IMD: another with scores
    lookups = [(t, f) for t, f in candidates if "ward_code" in f]
    lookup = None
    if lookups:
        lookup = max(lookups, key=lambda tf: sum(s.name in tf[1] for s in _GEO_LOOKUP_SPECS))[0]
    imds = [t for t, f in candidates if "imd_score" in f and t is not lookup]
    imd = imds[0] if imds else None
    if lookup is None:
        raise InputDataError(
            Problem(name, "no lookup file with small area, ward and district columns found in the folder "
                    "(expected e.g. the ONS LSOA (2021) to Electoral Ward to LAD best-fit lookup)", dataset=dataset)
        )
    coll = _Collector(dataset)
    lookup_specs = _GEO_LOOKUP_SPECS + tuple(
        replace(s, optional=True) for s in _GEO_IMD_SPECS
    ) if imd is not None else _GEO_SPECS
    colmap = _map_columns(lookup, lookup_specs, coll)
    coll.raise_if_any()
    df = _parse(lookup, lookup_specs, colmap, coll)
    df = _fill_upper_tier(df, colmap, upper_tier)
    if imd is not None:
        imd_specs = (_GEO_LOOKUP_SPECS[0], *_GEO_IMD_SPECS)
        imd_map = _map_columns(imd, imd_specs, coll)
        coll.raise_if_any()
        imd_df = _parse(imd, imd_specs, imd_map, coll)
        imd_df = imd_df.drop_duplicates("small_area_code").set_index("small_area_code")
        missing = ~df["small_area_code"].isin(imd_df.index)
        if missing.any():
            pos = np.flatnonzero(missing.to_numpy())
            coll.skip.update((c, int(p)) for c in ("imd_score", "imd_rank", "imd_decile") for p in pos)
            coll.add_at(
                lookup.prov, pos,
                f"no deprivation (IMD) row in {imd.name} for small area(s) "
                f"{_quote(df['small_area_code'].iloc[pos])} (expected every small area of the lookup)",
                _Display(colmap)("small_area_code"), None,
            )
        df["imd_score"] = df["small_area_code"].map(imd_df["imd_score"]).astype("float64")
        df["imd_rank"] = df["small_area_code"].map(imd_df["imd_rank"]).astype("Int64")
        df["imd_decile"] = df["small_area_code"].map(imd_df["imd_decile"]).fillna(0).astype("int64")
    schema = geography_schema()
    df = df[list(schema.columns)]
    _validate(df, schema, lookup.prov, colmap, coll)
    coll.raise_if_any()
    return df, lookup.prov, colmap


def _load_public_geography(lookup: Path, imd: Path, *, root: Path, upper_tier: tuple[str, str] | None):
    """Canonical geography from the ONS lookup and the IoD File 7 named one by one (a real
    area's ``public_data.lookup`` and ``public_data.imd``).

    Unlike a folder (:func:`_load_geography_folder`), every small area of the lookup must
    have an IMD row. Returns ``(frame, provenance, column map, national deciles)``: the
    first three like the other loaders (provenance pointing at the lookup's rows), the last
    the IMD decile of every small area in the IoD file (England when it is File 7 as
    published).
    """
    dataset = "geography"
    lookup_table = _read_table(lookup, _display_name(lookup, root), dataset, _GEO_LOOKUP_SPECS)
    coll = _Collector(dataset)
    colmap = _map_columns(lookup_table, _GEO_LOOKUP_SPECS, coll)
    coll.raise_if_any()
    df = _parse(lookup_table, _GEO_LOOKUP_SPECS, colmap, coll)
    df = _fill_upper_tier(df, colmap, upper_tier)
    imd_specs = (_GEO_LOOKUP_SPECS[0], *_GEO_IMD_SPECS)
    imd_table = _read_table(imd, _display_name(imd, root), dataset, imd_specs)
    imd_map = _map_columns(imd_table, imd_specs, coll)
    coll.raise_if_any()
    imd_df = _parse(imd_table, imd_specs, imd_map, coll)
    coll.raise_if_any()
    imd_df = imd_df.drop_duplicates("small_area_code").set_index("small_area_code")
    missing = ~df["small_area_code"].isin(imd_df.index)
    if missing.any():
        pos = np.flatnonzero(missing.to_numpy())
        coll.add_at(lookup_table.prov, pos,
                    f"no deprivation (IMD) row in {imd_table.name} for small area(s) "
                    f"{_quote(df['small_area_code'].iloc[pos])} (expected every small area of the lookup; "
                    "use LSOAs and IMD of the same vintage: IMD 2025 is on 2021 LSOAs)",
                    _Display(colmap)("small_area_code"), None)
        coll.raise_if_any()
    df["imd_score"] = df["small_area_code"].map(imd_df["imd_score"]).astype("float64")
    df["imd_rank"] = df["small_area_code"].map(imd_df["imd_rank"]).astype("Int64")
    df["imd_decile"] = df["small_area_code"].map(imd_df["imd_decile"]).astype("int64")
    schema = geography_schema()
    df = df[list(schema.columns)]
    _validate(df, schema, lookup_table.prov, colmap, coll)
    coll.raise_if_any()
    national = imd_df[["imd_decile"]].reset_index()
    return df, lookup_table.prov, colmap, national


def load_geography(path: PathLike, *, root: PathLike | None = None,
                   upper_tier: tuple[str, str] | None = None) -> pd.DataFrame:
    """Small-area lookup with deprivation: one row per small area (canonical geography).

    ``path`` is one CSV/XLSX holding the canonical columns (or the ONS lookup columns
    ``LSOA21CD, LSOA21NM, WD24CD, WD24NM, LAD24CD, LAD24NM[, UTLA23CD, UTLA23NM, RGNCD, RGNNM]``
    plus ``IMD25_score, IMD25_rank, IMD25_decile`` or the MHCLG File 7 names), or a folder
    holding the ONS lookup and the MHCLG IoD File 7 CSV separately. Without upper-tier
    columns the upper tier is ``upper_tier`` (code, name) if given, else the district itself
    (a unitary authority).
    """
    return _load_geography(path, root=root, upper_tier=upper_tier)[0]


# ============================================================================================
# boundaries
# ============================================================================================
def _crs_ok(crs) -> tuple[bool, str]:
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    if crs.to_authority() in (("OGC", "CRS84"), ("EPSG", "4326"), ("EPSG", "27700")):
        return True, crs.to_string()
    for epsg in (27700, 4326):
        try:
            if crs.equals(CRS.from_epsg(epsg), ignore_axis_order=True):
                return True, f"EPSG:{epsg}"
        except Exception:  # noqa: BLE001
            pass
    code = crs.to_epsg(min_confidence=70)
    if code in (27700, 4326):
        return True, f"EPSG:{code}"
    return False, crs.name + (f" (EPSG:{code})" if code else "")


#: Largest British National Grid easting and northing (the services contract uses the same).
_BNG_MAX = (700_000, 1_300_000)


def _polygonal(geom):
    """The polygons of a repaired geometry: GEOS ``make_valid`` turns a polygon with a spike
    into a collection of the polygon and the spike's line; a polygon that collapses to
    lines or points has none (``None``)."""
    import shapely

    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _load_boundaries(path: PathLike, *, root=None):
    import geopandas as gpd
    import pyogrio

    dataset = "boundaries"
    path = Path(path)
    name = _display_name(path, root)
    _check_exists(path, name, dataset)
    if path.is_file() and path.stat().st_size == 0:
        raise InputDataError(Problem(name, "the file is empty (expected small-area polygons)", rows=(1,), dataset=dataset))
    try:
        layers = pyogrio.list_layers(path)
        layer = None
        if len(layers) > 1:
            polys = [row[0] for row in layers if row[1] and "Polygon" in str(row[1])]
            layer = polys[0] if polys else layers[0][0]
        # a geometry GEOS cannot build (e.g. a ring of two points) becomes missing and is
        # reported below with its feature number, instead of failing the whole file
        gdf = gpd.read_file(path, engine="pyogrio", layer=layer, on_invalid="ignore")
    except Exception as exc:  # noqa: BLE001 - every reader failure is a file problem
        raise InputDataError(
            Problem(name, f"cannot be read as a boundary file ({type(exc).__name__}: {exc}); expected a "
                    "GeoPackage, GeoJSON or Shapefile of small-area polygons", dataset=dataset)
        ) from None
    coll = _Collector(dataset)
    prov = _Prov([name], np.zeros(len(gdf), np.int32), np.arange(1, len(gdf) + 1), unit="feature")
    if gdf.crs is None:
        coll.add(name, "no coordinate reference system (CRS) is declared (expected British National "
                 "Grid EPSG:27700 or WGS84 EPSG:4326; a Shapefile needs its .prj file)", column="geometry")
    else:
        ok, described = _crs_ok(gdf.crs)
        if not ok:
            coll.add(name, f"unsupported coordinate reference system {described} (expected British "
                     "National Grid EPSG:27700 or WGS84 EPSG:4326 / OGC:CRS84)", column="geometry")
    if len(gdf) == 0:
        coll.add(name, "no features (expected one polygon per small area)", rows=(1,), unit="feature")
    specs = (_F("small_area_code", "area", _SMALL_AREA + (r"small_are",)),)
    colmap = _match_columns([c for c in gdf.columns if c != gdf.geometry.name], specs)
    if "small_area_code" not in colmap:
        cols = ", ".join(repr(c) for c in gdf.columns if c != gdf.geometry.name)
        coll.add(name, f"required column 'small_area_code' (or LSOA21CD/LSOA11CD) is missing (columns found: {cols})",
                 column="small_area_code")
    coll.raise_if_any()
    codes = gdf[colmap["small_area_code"]].astype("str").str.strip().str.upper()
    geom = gdf.geometry
    null = (geom.isna() | geom.is_empty).to_numpy()
    if null.any():
        coll.add_at(prov, np.flatnonzero(null), "empty, missing or unreadable geometry (expected a polygon whose "
                    "rings have at least 4 points)", "geometry")
    types = geom.geom_type.fillna("")
    wrong = (~null) & ~types.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if wrong.any():
        pos = np.flatnonzero(wrong)
        coll.add_at(prov, pos, f"geometry is {_quote(types.iloc[pos])} (expected Polygon or MultiPolygon)", "geometry")
    attrs = pd.DataFrame({"small_area_code": codes.where(codes != "").astype("str")})
    _validate(attrs, boundaries_schema(), prov, colmap, coll)
    coll.raise_if_any()
    if not geom.is_valid.all():
        geom = gpd.GeoSeries([_polygonal(g) for g in geom.make_valid()], index=geom.index, crs=geom.crs)
        flat = geom.isna().to_numpy()
        if flat.any():
            coll.add_at(prov, np.flatnonzero(flat), "polygon with no area once repaired (it crosses itself "
                        "into lines or points; expected a polygon)", "geometry")
            coll.raise_if_any()
    out = gpd.GeoDataFrame({"small_area_code": attrs["small_area_code"]}, geometry=geom.values, crs=gdf.crs)
    if out.crs.to_epsg() != 27700:
        out = out.to_crs(27700)
    # coordinates that are not in Great Britain (e.g. eastings read as degrees, or
    # latitudes beyond 90 that reproject to infinity) make polygons that are no place
    bounds = out.geometry.bounds.to_numpy()
    inside = np.isfinite(bounds).all(axis=1) & (bounds[:, [0, 1]] >= 0).all(axis=1) \
        & (bounds[:, 2] <= _BNG_MAX[0]) & (bounds[:, 3] <= _BNG_MAX[1])
    if not inside.all():
        coll.add_at(prov, np.flatnonzero(~inside), "coordinates outside Great Britain (expected British National "
                    f"Grid eastings 0 to {_BNG_MAX[0]:,} and northings 0 to {_BNG_MAX[1]:,}, or WGS84 longitude "
                    "and latitude of places in Great Britain)", "geometry")
        coll.raise_if_any()
    return out, prov, colmap


def load_boundaries(path: PathLike, *, root: PathLike | None = None):
    """Small-area polygons as a GeoDataFrame in EPSG:27700 (``small_area_code``, ``geometry``).

    Any OGR format (GeoPackage, GeoJSON, Shapefile …). The code column is ``small_area_code``
    (``small_area`` in a Shapefile, whose field names are cut to 10 characters) or an ONS
    ``LSOA21CD``/``LSOA11CD``. The CRS must be declared and be EPSG:27700 or WGS84.
    """
    return _load_boundaries(path, root=root)[0]


