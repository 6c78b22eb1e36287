"""Synthetic geography: an outline, districts, small areas (Voronoi cells), wards, deprivation.

Everything is built in British National Grid metres (EPSG:27700):

1. an irregular, star-shaped outline of the right size around a plausible centre;
2. district regions = Voronoi cells of district seed points, clipped to the outline;
3. small-area generating points sampled inside each district region (clustered around the
   district's town, so town small areas are small and dense);
4. small areas = Voronoi cells of *all* points clipped to the outline; each belongs to the
   district its point was drawn for, so a district is the union of its small areas and the
   small areas tile the outline exactly, with wiggly district borders like real ones;
5. wards = contiguous groups of adjacent small areas within a district (balanced
   multi-source growth from well-spread seeds);
6. a deprivation latent (district level + town-centre gradient + noise) mapped to an
   IMD-2025-like national percentile, rank, decile and score.

Boundaries are written to GeoJSON in WGS84 with coordinates rounded to 6 d.p. by
:func:`write_geojson`, using a fixed PROJ pipeline (the Helmert form of EPSG:27700) so the
output is identical on every machine whatever PROJ grids are installed.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from scipy.special import ndtr

from needs_assessment.synthetic.sources import (
    ENGLAND_SMALL_AREAS,
    IMD_PERCENTILE_KNOTS,
    IMD_SCORE_AT_PERCENTILE,
)

#: EPSG:27700 -> WGS84 as an explicit pipeline (OSGB36 7-parameter Helmert, ~5 m accuracy).
_BNG_TO_WGS84 = (
    "+proj=pipeline "
    "+step +inv +proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 "
    "+ellps=airy "
    "+step +proj=push +v_3 "
    "+step +proj=cart +ellps=airy "
    "+step +proj=helmert +x=446.448 +y=-125.157 +z=542.06 +rx=0.15 +ry=0.247 +rz=0.842 "
    "+s=-20.489 +convention=position_vector "
    "+step +inv +proj=cart +ellps=WGS84 "
    "+step +proj=pop +v_3 "
    "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
)

_PREFIXES = (
    "Ash", "Oak", "Elm", "Brook", "Kings", "Queens", "Mill", "Church", "Castle", "Bridge",
    "Hill", "Marsh", "Ford", "Well", "Stone", "Green", "Hay", "Lark", "Thorn", "Holly",
    "Birch", "Fern", "Heath", "Moor", "Wood", "Rye", "Salt", "Swan", "Fox", "Hart", "Red",
    "White", "Black", "Cold", "Wind", "Long", "Broad", "High", "Low", "Old", "New", "Bury",
    "Cherry", "Apple", "Willow", "Rose", "Bramble", "Clay", "Flint", "Chalk", "Sand", "Lime",
    "Maple", "Hazel", "Alder", "Rowan", "Linden", "Cress", "Kestrel", "Heron", "Otter", "Badger",
)
_SUFFIXES = (
    "field", "wood", "ton", "ham", "bury", "ley", "worth", "combe", "stead", "gate", "side",
    "dale", "moor", "cross", "hill", "brook", "well", "ford", "bridge", "mere", "hurst",
    "thorpe", "wick", "minster", "cote", "holme", "stow", "lands", "vale", "end", "green",
    "park", "grove", "row", "marsh", "lea", "croft", "bank", "haven", "mouth",
)


def place_names(rng: np.random.Generator, n: int, exclude: set[str] | None = None) -> list[str]:
    """``n`` distinct made-up English-looking place names."""
    combos = [p + s for p in _PREFIXES for s in _SUFFIXES]
    if exclude:
        combos = [c for c in combos if c not in exclude]
    if n > len(combos):
        raise ValueError(f"only {len(combos)} place names available, {n} asked")
    idx = rng.choice(len(combos), size=n, replace=False)
    return [combos[i] for i in idx]


@dataclass(frozen=True)
class DistrictSpec:
    name: str
    n_small_areas: int
    #: position of the district's town in outline-relative coordinates (-1..1)
    position: tuple[float, float]
    #: mean deprivation latent on the national N(0, 1) scale (negative = more deprived)
    deprivation: float
    #: extra deprivation at the town centre (latent units), fading with distance
    urban_gradient: float
    #: share of the district's small areas clustered around its town, and the spread (km)
    town_share: float
    town_sd_km: float


@dataclass
class GeoResult:
    cells: np.ndarray  # shapely geometries (BNG), one per small area
    points: np.ndarray  # (n, 2) generating points
    district: np.ndarray  # district index of each small area
    ward: np.ndarray  # ward index (global) of each small area
    ward_district: np.ndarray  # district index of each ward
    urbanity: np.ndarray  # 0..1, 1 at a town centre
    latent: np.ndarray  # deprivation latent (national N(0,1) scale)
    outline: shapely.Geometry


# --------------------------------------------------------------------------------------------
def make_outline(rng, centre, radii, n_vertices: int = 120) -> shapely.Polygon:
    theta = np.linspace(0.0, 2 * math.pi, n_vertices, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 7):
        r += rng.uniform(0.0, 0.05) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    x = centre[0] + radii[0] * r * np.cos(theta)
    y = centre[1] + radii[1] * r * np.sin(theta)
    return shapely.Polygon(np.column_stack([x, y]))


def _voronoi(points: np.ndarray, clip: shapely.Geometry) -> np.ndarray:
    envelope = shapely.box(*clip.bounds).buffer(1000.0 + 0.5 * max(
        clip.bounds[2] - clip.bounds[0], clip.bounds[3] - clip.bounds[1]))
    collection = shapely.voronoi_polygons(
        shapely.multipoints(points), extend_to=envelope, ordered=True
    )
    cells = shapely.get_parts(collection)
    if len(cells) != len(points):  # pragma: no cover - duplicate points
        raise RuntimeError("Voronoi tessellation lost cells (duplicate generating points?)")
    return shapely.intersection(cells, clip)


def _sample_in(rng, region, n, centre, town_share, town_sd, min_dist) -> np.ndarray:
    """``n`` points inside ``region``: a share clustered around ``centre``, the rest uniform."""
    minx, miny, maxx, maxy = region.bounds
    accepted: list[np.ndarray] = []
    count = 0
    shapely.prepare(region)
    while count < n:
        m = max(4 * (n - count), 64)
        town = rng.random(m) < town_share
        xy = np.where(
            town[:, None],
            np.asarray(centre)[None, :] + rng.normal(0.0, town_sd, size=(m, 2)),
            np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)]),
        )
        xy = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        if min_dist > 0:
            for p in xy:
                if count >= n:
                    break
                if accepted:
                    prev = np.asarray(accepted)
                    if np.min(np.hypot(*(prev - p).T)) < min_dist:
                        continue
                accepted.append(p)
                count += 1
        else:
            take = xy[: n - count]
            accepted.extend(take)
            count += len(take)
    return np.asarray(accepted[:n])


def adjacency(cells: np.ndarray) -> list[list[int]]:
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    keep = left != right
    adj: list[list[int]] = [[] for _ in range(len(cells))]
    for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
        adj[i].append(j)
    return [sorted(set(a)) for a in adj]


def partition(members: np.ndarray, adj: list[list[int]], xy: np.ndarray, k: int,
              rng: np.random.Generator, min_size: int = 1) -> np.ndarray:
    """Split ``members`` (cell indices) into ``k`` contiguous groups of similar size.

    Seeds are spread by farthest-point sampling; groups then grow one cell at a time, the
    smallest group first, each taking its unassigned neighbour nearest to its seed. Groups
    left smaller than ``min_size`` are merged into their smallest neighbour. Returns the group number (0..k-1) of each member, in the order of ``members``.
    """
    members = np.asarray(members)
    n = len(members)
    k = max(1, min(k, n))
    pos = {int(c): i for i, c in enumerate(members)}
    pts = xy[members]
    seeds = [int(rng.integers(n))]
    dist = np.hypot(*(pts - pts[seeds[0]]).T)
    while len(seeds) < k:
        nxt = int(np.argmax(dist))
        seeds.append(nxt)
        dist = np.minimum(dist, np.hypot(*(pts - pts[nxt]).T))
    label = np.full(n, -1)
    size = np.zeros(k, dtype=int)
    frontier: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def push(g: int, i: int) -> None:
        for c in adj[int(members[i])]:
            j = pos.get(c)
            if j is not None and label[j] < 0:
                d = float(np.hypot(*(pts[j] - pts[seeds[g]])))
                heapq.heappush(frontier[g], (d, j))

    for g, s in enumerate(seeds):
        label[s] = g
        size[g] = 1
    for g, s in enumerate(seeds):
        push(g, s)
    active = [(1, g) for g in range(k)]
    heapq.heapify(active)
    while active:
        sz, g = heapq.heappop(active)
        chosen = -1
        while frontier[g]:
            _, j = heapq.heappop(frontier[g])
            if label[j] < 0:
                chosen = j
                break
        if chosen < 0:
            continue  # this group is boxed in
        label[chosen] = g
        size[g] += 1
        push(g, chosen)
        heapq.heappush(active, (int(size[g]), g))
    # cells unreachable from any seed (a detached fragment): join the nearest group
    for i in np.flatnonzero(label < 0):
        assigned = np.flatnonzero(label >= 0)
        near = assigned[np.argmin(np.hypot(*(pts[assigned] - pts[i]).T))]
        label[i] = label[near]
    if min_size > 1:
        label = _merge_small(label, members, pos, adj, min_size)
        # split groups that merging made large into two contiguous halves where both are
        # big enough
        next_label = int(label.max()) + 1
        for g in np.unique(label):
            idx = np.flatnonzero(label == g)
            if len(idx) < 2 * min_size:
                continue
            sub = partition(members[idx], adj, xy, 2, rng, min_size=1)
            if sub.max() == 1 and min(np.bincount(sub)) >= min_size:
                label[idx[sub == 1]] = next_label
                next_label += 1
    _, label = np.unique(label, return_inverse=True)
    return label


def _merge_small(label, members, pos, adj, min_size):
    """Merge groups smaller than ``min_size`` into their smallest neighbouring group."""
    label = label.copy()
    while True:
        sizes = np.bincount(label)
        small = [g for g in np.flatnonzero((sizes > 0) & (sizes < min_size))]
        if not small:
            return label
        g = min(small, key=lambda x: (sizes[x], x))
        neighbours = set()
        for i in np.flatnonzero(label == g):
            for c in adj[int(members[i])]:
                j = pos.get(c)
                if j is not None and label[j] != g:
                    neighbours.add(int(label[j]))
        if not neighbours:
            return label  # an isolated fragment: leave it
        target = min(neighbours, key=lambda x: (sizes[x], x))
        label[label == g] = target


def percentile_from_latent(latent: np.ndarray, *, national: bool) -> np.ndarray:
    """National deprivation percentile (0 = most deprived) from the latent.

    For the national variant the percentile is the exact rank among its small areas, so each
    decile holds 10% of them, as in the real IMD; for a local area the latent is read on the
    national N(0, 1) scale.
    """
    if national:
        order = np.argsort(latent, kind="stable")
        pct = np.empty(len(latent))
        pct[order] = (np.arange(len(latent)) + 0.5) / len(latent)
        return pct
    return ndtr(latent)


def imd_from_percentile(pct: np.ndarray):
    pct = np.clip(pct, 0.0, 1.0)
    rank = np.clip(np.ceil(pct * ENGLAND_SMALL_AREAS), 1, ENGLAND_SMALL_AREAS).astype(int)
    decile = np.clip(np.ceil(rank / (ENGLAND_SMALL_AREAS / 10.0)), 1, 10).astype(int)
    score = np.interp(pct, IMD_PERCENTILE_KNOTS, IMD_SCORE_AT_PERCENTILE)
    return np.round(score, 3), rank, decile


# --------------------------------------------------------------------------------------------
def build(
    rng: np.random.Generator,
    *,
    centre: tuple[float, float],
    radii: tuple[float, float],
    districts: list[DistrictSpec],
    random_district_seeds: bool = False,
    wards_per_district: list[int],
    min_ward_size: int,
    min_dist: float,
    noise_sd: float,
) -> GeoResult:
    outline = make_outline(rng, centre, radii)
    if random_district_seeds:
        spacing = 0.5 * math.sqrt(outline.area / len(districts))
        district_seeds = _sample_in(rng, outline, len(districts), centre, 0.0, 1.0, spacing)
    else:
        district_seeds = np.array(
            [[centre[0] + d.position[0] * radii[0], centre[1] + d.position[1] * radii[1]]
             for d in districts]
        )
    regions = _voronoi(district_seeds, outline)
    pts, dist_idx = [], []
    for i, d in enumerate(districts):
        p = _sample_in(rng, regions[i], d.n_small_areas, district_seeds[i], d.town_share,
                       d.town_sd_km * 1000.0, min_dist)
        pts.append(p)
        dist_idx.append(np.full(len(p), i))
    points = np.round(np.vstack(pts), 1)
    district = np.concatenate(dist_idx)
    cells = _voronoi(points, outline)
    adj = adjacency(cells)

    ward = np.empty(len(points), dtype=int)
    ward_district = []
    offset = 0
    for i in range(len(districts)):
        members = np.flatnonzero(district == i)
        lab = partition(members, adj, points, wards_per_district[i], rng, min_ward_size)
        # number wards in a stable spatial order: north to south, then west to east
        groups = np.unique(lab)
        cent = np.array([points[members[lab == g]].mean(axis=0) for g in groups])
        order = np.lexsort((cent[:, 0], -cent[:, 1]))
        remap = {int(groups[o]): r for r, o in enumerate(order)}
        ward[members] = offset + np.array([remap[int(g)] for g in lab])
        ward_district.extend([i] * len(groups))
        offset += len(groups)

    # urbanity: 1 at the district's town centre, fading over ~1.5 town spreads
    spread = np.array([districts[i].town_sd_km * 1000.0 for i in district])
    d_town = np.hypot(*(points - district_seeds[district]).T)
    urbanity = np.exp(-d_town / (1.5 * spread))
    dep_mean = np.array([d.deprivation for d in districts])[district]
    gradient = np.array([d.urban_gradient for d in districts])[district]
    # a smooth spatial field (a few random waves) so neighbouring areas resemble each other
    field = np.zeros(len(points))
    scale = max(radii)
    for _ in range(4):
        ang = rng.uniform(0, 2 * math.pi)
        wl = rng.uniform(0.3, 0.8) * scale
        field += np.cos((points[:, 0] * math.cos(ang) + points[:, 1] * math.sin(ang)) / wl
                        * 2 * math.pi + rng.uniform(0, 2 * math.pi))
    field /= 2.0
    latent = (dep_mean - gradient * urbanity + 0.25 * field
              + rng.normal(0.0, noise_sd, len(points)))
    return GeoResult(cells=cells, points=points, district=district, ward=ward,
                     ward_district=np.asarray(ward_district), urbanity=urbanity,
                     latent=latent, outline=outline)


# --------------------------------------------------------------------------------------------
_TRANSFORMER: Transformer | None = None


def to_wgs84(geoms: np.ndarray) -> np.ndarray:
    global _TRANSFORMER
    if _TRANSFORMER is None:
        _TRANSFORMER = Transformer.from_pipeline(_BNG_TO_WGS84)
    tr = _TRANSFORMER

    def f(xy: np.ndarray) -> np.ndarray:
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, f)


def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    global _TRANSFORMER
    if _TRANSFORMER is None:
        _TRANSFORMER = Transformer.from_pipeline(_BNG_TO_WGS84)
    lon, lat = _TRANSFORMER.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def _ring_text(coords: np.ndarray) -> str:
    return "[" + ",".join(f"[{x:.6f},{y:.6f}]" for x, y in coords) + "]"


def _polygon_text(poly) -> str:
    rings = [_ring_text(np.asarray(poly.exterior.coords))]
    rings += [_ring_text(np.asarray(r.coords)) for r in poly.interiors]
    return "[" + ",".join(rings) + "]"


def write_geojson(path: Path, codes: list[str], cells_bng: np.ndarray) -> None:
    """Small-area polygons as GeoJSON (EPSG:4326, 6 d.p., RFC 7946 ring orientation)."""
    geoms = to_wgs84(cells_bng)
    geoms = shapely.set_precision(geoms, 1e-6)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"type":"FeatureCollection","name":"small_areas",'
                 '"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},'
                 '"features":[\n')
        for i, (code, g) in enumerate(zip(codes, geoms, strict=True)):
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty]
            if len(parts) == 1:
                geom = f'{{"type":"Polygon","coordinates":{_polygon_text(parts[0])}}}'
            else:
                geom = ('{"type":"MultiPolygon","coordinates":['
                        + ",".join(_polygon_text(p) for p in parts) + "]}")
            sep = ",\n" if i < len(codes) - 1 else "\n"
            fh.write(f'{{"type":"Feature","properties":{{"small_area_code":"{code}"}},'
                     f'"geometry":{geom}}}{sep}')
        fh.write("]}\n")
