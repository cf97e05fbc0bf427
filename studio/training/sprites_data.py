"""Dungeon Crawl Stone Soup sprites (Debian `crawl-tiles-data` 0.28.0) as 32x32 RGBA arrays.

The sheets are not a 32-px grid: crawl's packer (`tilegen`) crops each tile to its opaque box
and packs the boxes in rows. `data/crawl-layout-0.28.0.tsv.gz` is that packer's layout for the
Debian release (copied from the shared data folder `crawl-tiles/`, which rebuilt it from
crawl's `rltiles` at tag 0.28.0; positions only). A tile is rebuilt by pasting
`sheet[sy:ey, sx:ex]` at `(ox, oy)` into a transparent `width x height` canvas.

Kept: whole 32x32 sprites. `item/` (main.png) -> item, `mon/` (player.png) -> monster,
`dngn/` (feat, floor, wall) -> terrain. Dropped: paper-doll parts (`player/`), effects,
`misc/`, icons, tiles larger than 32 px, pieces of bigger pictures (by path pattern and by a
thin opaque box against one edge), near-empty tiles and exact pixel duplicates. Recolours
(same path but for a trailing number, or the same path repeated) share a group, and the
train / held-out split is drawn over groups so one sprite's recolours never straddle it.

Licences: most Dungeon Crawl tiles are CC0 / public domain; the Debian package is GPL-2+.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SHEET_DIR = Path("/usr/share/crawl/dat/tiles")
LAYOUT = Path(__file__).with_name("data") / "crawl-layout-0.28.0.tsv.gz"
RELEASE = "0.28.0"
DATA_LICENCE = (
    "Dungeon Crawl Stone Soup tiles (Debian crawl-tiles-data 0.28.0): most tiles CC0 / "
    "public domain; package GPL-2+"
)
MODEL_LICENCE = (
    "Model weights: same licence as the project; data: Dungeon Crawl tiles, mostly CC0 / "
    "public domain (Debian package GPL-2+)"
)
CATEGORIES = ("item", "monster", "terrain")
SIZE = 32
MIN_OPAQUE = 40  # pixels with alpha >= 128; below this a tile is a speck, not a sprite
HELD_OUT_FRACTION = 0.1
SPLIT_SEED = 29

# sheet -> (path prefix, category)
_SOURCES = {
    "main": ("item/", "item"),
    "player": ("mon/", "monster"),
    "feat": ("dngn/", "terrain"),
    "floor": ("dngn/", "terrain"),
    "wall": ("dngn/", "terrain"),
}
# pieces of bigger pictures, overlays and non-sprites, matched against path and enum
_PIECES = re.compile(
    r"tentacle|segment|_ends?\b|/ends/|gate|shore|wave|edge|border|corner|overlay|"
    r"_(north|south|east|west|n|s|e|w|ne|nw|se|sw)\d*\.png$|"
    r"/(halo|ray|cloud|blood|mask|mangrove|lava_sea|sea|open_sea|shoals)|"
    r"icon|cursor|unseen|mimic|tutorial|_part|part_|abyss/.*_\d+_\d+|slime_overlay|"
    r"sprout|dither|water_|deep_water|shallow_water|"
    r"/brands/|_brands/|/i-|_clear|transparent|mutantbeast/(?!base)",
    re.IGNORECASE,
)


# The table's header hashes do not match the sheets of Debian's 2:0.28.0-1.1 build (checked
# with `dpkg -V crawl-tiles-data`), although its boxes do: 98.6 % of them are tight on the
# installed sheets' opaque pixels, the rest are empty or 1-px tiles. The packing is the same and
# some pixels differ, so these decoded-pixel hashes of that build are accepted as well.
DEBIAN_0_28_0_1_1 = {
    "main": "effa6cb3caae3dd462c389a39ec57f6c225b10eef0c7dc99e826785c2b85bdb9",
    "player": "84864d83a4c778eeb4426489a2fcb724c699be21743aea6422a8ba9d47edf1c9",
    "feat": "863e596356fb5e234ae1efc4cb3894e6b79d2fa0660abe7d5bd7fc6de6944693",
    "floor": "30543a37b9d0f4f2722e51999a7d52c8b493afff5613e29b8c9cab22dac997de",
    "wall": "387b4346f928a20fd691dfd6ebb6d902388bbc5952a9d018185c8e9b8d391569",
}


class SpriteDataError(ValueError):
    """A sheet or the layout table is missing or belongs to another crawl release."""


@dataclass(frozen=True)
class Sprites:
    """The packed data set; row i of every array describes sprite i."""

    images: np.ndarray  # uint8 (N, 32, 32, 4), RGBA, straight alpha
    categories: np.ndarray  # int64 (N,), index into CATEGORIES
    groups: np.ndarray  # int64 (N,), recolours of one sprite share a group id
    held_out: np.ndarray  # bool (N,), the ~10 % held-out split, drawn by group
    paths: np.ndarray  # str (N,), source picture in crawl's tree

    def split(self, held_out: bool) -> Sprites:
        keep = self.held_out == held_out
        return Sprites(
            self.images[keep],
            self.categories[keep],
            self.groups[keep],
            self.held_out[keep],
            self.paths[keep],
        )


@dataclass(frozen=True)
class _Row:
    sheet: str
    path: str
    enum: str
    width: int
    height: int
    ox: int
    oy: int
    sx: int
    sy: int
    ex: int
    ey: int


def read_layout(path: Path = LAYOUT) -> tuple[dict[str, tuple[int, int, str]], list[_Row]]:
    """(sheet -> (width, height, sha256 of RGBA pixels), rows) from the packer's table."""
    sheets: dict[str, tuple[int, int, str]] = {}
    rows: list[_Row] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("# sheet "):
                m = re.fullmatch(r"# sheet (\w+) (\d+)x(\d+) sha256 ([0-9a-f]{64})", line)
                if m is None:
                    raise SpriteDataError(f"{path}:{number}: unreadable sheet header {line!r}")
                sheets[m[1]] = (int(m[2]), int(m[3]), m[4])
            elif line and not line.startswith("#"):
                f_ = line.split("\t")
                if len(f_) != 12:
                    raise SpriteDataError(f"{path}:{number}: expected 12 columns, got {len(f_)}")
                rows.append(_Row(f_[0], f_[2], f_[3], *(int(v) for v in f_[4:])))  # type: ignore[arg-type]
    return sheets, rows


def load_sheet(
    name: str,
    expected: tuple[int, int, str],
    sheet_dir: Path,
    also_accept: dict[str, str] | None = None,
) -> np.ndarray:
    """uint8 (H, W, 4) pixels of one sheet, after checking its size and pixel hash against the
    table's header (or `also_accept[name]`, default: the Debian 0.28.0-1.1 build's)."""
    file = sheet_dir / f"{name}.png"
    if not file.exists():
        raise SpriteDataError(f"{file} is missing: install the Debian package crawl-tiles-data")
    pixels = np.asarray(Image.open(file).convert("RGBA"))
    width, height, digest = expected
    actual = hashlib.sha256(pixels.tobytes()).hexdigest()
    accepted = {digest, (DEBIAN_0_28_0_1_1 if also_accept is None else also_accept).get(name)}
    if pixels.shape[:2] != (height, width) or actual not in accepted:
        raise SpriteDataError(
            f"{file} is not the crawl-tiles-data {RELEASE} sheet the layout table describes "
            f"(size {pixels.shape[1]}x{pixels.shape[0]}, pixel sha256 {actual[:12]}..., "
            f"expected {width}x{height}, {digest[:12]}...): another crawl release? Rebuild "
            f"the table for it (see {LAYOUT.name}'s README) instead of cutting with this one"
        )
    return pixels


def _is_piece(tile: np.ndarray) -> bool:
    """A thin strip or a corner wedge against the tile's edge: an overlay for a neighbour."""
    ys, xs = np.nonzero(tile[..., 3] >= 128)
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    touches = [top == 0, bottom == SIZE - 1, left == 0, right == SIZE - 1]
    h, w = bottom - top + 1, right - left + 1
    if sum(touches) in (1, 2, 3) and min(h, w) <= 10:
        return True  # strip along an edge
    coverage = len(ys) / (h * w)
    return sum(touches) == 2 and coverage < 0.3 and max(h, w) == SIZE  # diagonal wedge


def group_key(path: str) -> str:
    """Recolours share a key: the path without extension and trailing digits/underscores."""
    stem = path.rsplit(".", 1)[0]
    return re.sub(r"[_\d]+$", "", stem)


def build(
    sheet_dir: Path = SHEET_DIR, layout: Path = LAYOUT, also_accept: dict[str, str] | None = None
) -> Sprites:
    """Cut, filter, group and split the sprites (a few seconds). Raises SpriteDataError naming
    the sheet when a sheet's pixels are not the release the layout table describes."""
    header, rows = read_layout(layout)
    missing = sorted(set(_SOURCES) - set(header))
    if missing:
        raise SpriteDataError(f"{layout}: no sheet header for {', '.join(missing)}")
    sheets = {name: load_sheet(name, header[name], sheet_dir, also_accept) for name in _SOURCES}
    images, categories, keys, paths = [], [], [], []
    seen: set[bytes] = set()
    for row in rows:
        source = _SOURCES.get(row.sheet)
        if source is None or not row.path.startswith(source[0]):
            continue
        if (row.width, row.height) != (SIZE, SIZE) or _PIECES.search(f"{row.path} {row.enum}"):
            continue
        tile = np.zeros((SIZE, SIZE, 4), np.uint8)
        tile[row.oy : row.oy + row.ey - row.sy, row.ox : row.ox + row.ex - row.sx] = sheets[
            row.sheet
        ][row.sy : row.ey, row.sx : row.ex]
        tile[tile[..., 3] == 0] = 0  # one transparent colour, so duplicates compare equal
        if int((tile[..., 3] >= 128).sum()) < MIN_OPAQUE or _is_piece(tile):
            continue
        if tile.tobytes() in seen:
            continue
        seen.add(tile.tobytes())
        images.append(tile)
        categories.append(CATEGORIES.index(source[1]))
        keys.append(group_key(row.path))
        paths.append(row.path)
    unique_keys = sorted(set(keys))
    group_of = {k: i for i, k in enumerate(unique_keys)}
    groups = np.array([group_of[k] for k in keys], np.int64)
    cats = np.array(categories, np.int64)
    return Sprites(np.stack(images), cats, groups, _held_out(cats, groups), np.array(paths))


def _held_out(categories: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Whole groups, drawn in a seeded order per category until ~10 % of its sprites."""
    rng = np.random.default_rng(SPLIT_SEED)
    held = np.zeros(len(groups), bool)
    for c in range(len(CATEGORIES)):
        mine = categories == c
        ids, sizes = np.unique(groups[mine], return_counts=True)
        order = rng.permutation(len(ids))
        # the groups whose running total stays within the target, in the drawn order
        chosen = ids[order][np.cumsum(sizes[order]) <= HELD_OUT_FRACTION * mine.sum()]
        held |= mine & np.isin(groups, chosen)
    return held


def load_or_build(cache: Path) -> Sprites:
    """The packed set from `cache` (.npz), building and writing it first if absent."""
    if not cache.exists():
        s = build()
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            cache,
            images=s.images,
            categories=s.categories,
            groups=s.groups,
            held_out=s.held_out,
            paths=s.paths,
        )
    with np.load(cache) as z:
        return Sprites(z["images"], z["categories"], z["groups"], z["held_out"], z["paths"])


def checkerboard(height: int, width: int, cell: int = 4) -> np.ndarray:
    """uint8 (H, W, 3) light grey checkerboard, the usual 'transparent' backdrop."""
    yy, xx = np.mgrid[0:height, 0:width]
    light = ((yy // cell + xx // cell) % 2 == 0)[..., None]
    return np.where(light, 204, 153).astype(np.uint8).repeat(3, axis=-1)


def composite(images: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """uint8 RGBA (..., H, W, 4) over a uint8 RGB backdrop (H, W, 3) -> uint8 RGB."""
    alpha = images[..., 3:4].astype(np.float32) / 255
    rgb = images[..., :3].astype(np.float32) * alpha + backdrop.astype(np.float32) * (1 - alpha)
    return rgb.round().astype(np.uint8)


def contact_sheet(images: np.ndarray, columns: int = 32, scale: int = 2) -> Image.Image:
    """uint8 RGBA (N, 32, 32, 4) -> one RGB picture, each tile over a checkerboard."""
    n = len(images)
    rows = -(-n // columns)
    padded = np.zeros((rows * columns, SIZE, SIZE, 4), np.uint8)
    padded[:n] = images
    grid = padded.reshape(rows, columns, SIZE, SIZE, 4).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * SIZE, columns * SIZE, 4)  # (rows*32, cols*32, 4)
    rgb = composite(grid, checkerboard(rows * SIZE, columns * SIZE))
    picture = Image.fromarray(rgb)
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


def main() -> None:
    repo = Path(__file__).resolve().parents[2]
    sprites = load_or_build(repo / "runs" / "stylegan-sprites-32" / "sprites.npz")
    for index, name in enumerate(CATEGORIES):
        mine = sprites.categories == index
        print(
            f"{name:8s} {int(mine.sum()):5d} sprites  {len(set(sprites.groups[mine])):5d} groups"
            f"  held out {int((mine & sprites.held_out).sum()):4d}"
        )
        contact_sheet(sprites.images[mine]).save(repo / "docs" / f"sprites-data-{name}.png")
    print(f"total    {len(sprites.images):5d}  held out {int(sprites.held_out.sum())}")


if __name__ == "__main__":
    main()
