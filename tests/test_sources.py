"""grainlib.data.sources: folder, HDF5 and surrogate sources; bad input refused, input untouched."""

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.spatial import cKDTree
from skimage import io as skio

from grainlib.core import config, grains
from grainlib.data import labels, sources
from grainlib.data.labels import SourceError


def voronoi_ids(shape=(64, 80), n=12, seed=0):
    """(H, W) int32 grain ids 1..n of a Voronoi tessellation of random seeds."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1, (n, 2)) * shape
    grid = np.stack(np.meshgrid(*map(np.arange, shape), indexing="ij"), -1).reshape(-1, 2)
    return (cKDTree(points).query(grid)[1].reshape(shape) + 1).astype(np.int32)


def stacks(n=3, shape=(64, 80), seed=0):
    ids = np.stack([voronoi_ids(shape, 12, seed + k) for k in range(n)])
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, ids.shape).astype(np.uint8)
    return images, ids


def snapshot(*folders):
    """Bytes and mtimes of every file under the folders."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns)
            for f in folders for p in sorted(Path(f).rglob("*")) if p.is_file()}


def write_folder(root, images, labels, suffix=".png"):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir(parents=True)
    for k, (image, label) in enumerate(zip(images, labels)):
        skio.imsave(root / "images" / f"{k:03d}{suffix}", image, check_contrast=False)
        skio.imsave(root / "labels" / f"{k:03d}{suffix}", label, check_contrast=False)
    return root / "images", root / "labels"


def same_partition(a, b, where=None):
    """True when label maps a and b split the pixels (in ``where``) the same way."""
    where = np.ones(a.shape, bool) if where is None else where
    pairs = np.unique(np.stack([a[where], b[where]]), axis=1)
    return (len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1])))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_folder_round_trip_grain_ids(tmp_path, suffix):
    images, ids = stacks()
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16), suffix)
    got_images, got_ids, kinds = sources.read_folder(images_dir, labels_dir, return_kinds=True)
    assert got_images.dtype == np.uint8 and got_ids.dtype == np.int32
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_ids, ids)
    assert kinds == ["grain ids"] * 3


def test_folder_scales_16_bit_images_with_one_linear_map(tmp_path):
    images, ids = stacks(2)
    deep = images.astype(np.uint16) * 16 + 1000  # 1000 .. 5080
    images_dir, labels_dir = write_folder(tmp_path, deep, ids.astype(np.uint16))
    got, _ = sources.read_folder(images_dir, labels_dir)
    lo, hi = deep.min(), deep.max()
    expected = np.round((deep - lo) * 255.0 / (hi - lo)).astype(np.uint8)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("boundary_is, grain_is", [(255, 0), (0, 255), (1, 0), (0, 1)])
def test_folder_detects_boundary_maps_of_either_polarity(tmp_path, boundary_is, grain_is):
    images, ids = stacks(2)
    boundary = np.stack([grains.boundaries(i, 2) for i in ids])
    maps = np.where(boundary, boundary_is, grain_is).astype(np.uint8)
    images_dir, labels_dir = write_folder(tmp_path, images, maps)
    _, got, kinds = sources.read_folder(images_dir, labels_dir, return_kinds=True)
    assert kinds == ["boundary", "boundary"]
    for truth, found, b in zip(ids, got, boundary):
        assert found.min() >= 1  # every boundary pixel joined a grain
        assert len(np.unique(found)) == len(np.unique(truth))
        assert same_partition(truth, found, ~b)
        # most boundary pixels join the grain they belong to (the rest its neighbour)
        core = ~b
        to_truth = dict(zip(found[core], truth[core]))
        mapped = np.vectorize(to_truth.get)(found[b])
        assert np.mean(mapped == truth[b]) > 0.6


def test_grain_id_map_with_zero_boundary_lines_is_filled():
    ids = voronoi_ids((64, 64), 10, 3)
    with_lines = np.where(grains.boundaries(ids, 1), 0, ids)
    filled, kind = labels.label_to_grain_ids(with_lines.astype(np.uint16), "x.png")
    assert kind == "grain ids" and filled.min() >= 1
    lines = with_lines == 0
    np.testing.assert_array_equal(filled[~lines], ids[~lines])  # ids kept as given
    assert lines.any() and len(np.unique(filled)) == len(np.unique(ids))


def test_colour_coded_grains():
    ids = voronoi_ids((48, 48), 8, 1)
    palette = np.random.default_rng(0).integers(0, 256, (ids.max() + 1, 3)).astype(np.uint8)
    found, kind = labels.label_to_grain_ids(palette[ids], "c.png")
    assert kind == "colour grains" and same_partition(ids, found)


def bad_case(tmp_path, case):
    images, ids = stacks(2)
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16))
    if case == "missing folder":
        return tmp_path / "nope", labels_dir, "nope"
    if case == "empty folder":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "notes.txt").write_text("no images here")
        return tmp_path / "empty", labels_dir, "no image files"
    if case == "image without label":
        skio.imsave(images_dir / "007.png", images[0], check_contrast=False)
        return images_dir, labels_dir, "007.png"
    if case == "label without image":
        skio.imsave(labels_dir / "009.png", ids[0].astype(np.uint16), check_contrast=False)
        return images_dir, labels_dir, "009.png"
    if case == "size mismatch":
        skio.imsave(labels_dir / "001.png", ids[1, :32].astype(np.uint16), check_contrast=False)
        return images_dir, labels_dir, "001.png"
    if case == "neither":
        noise = np.random.default_rng(0).integers(0, 200, ids[1].shape).astype(np.uint8)
        skio.imsave(labels_dir / "001.png", noise, check_contrast=False)
        return images_dir, labels_dir, "001.png"
    if case == "ambiguous":
        halves = np.zeros(ids[1].shape, np.uint8)
        halves[:, : halves.shape[1] // 2] = 255  # two thick regions, no lines
        skio.imsave(labels_dir / "001.png", halves, check_contrast=False)
        return images_dir, labels_dir, "ambiguous"
    if case == "single value":
        skio.imsave(labels_dir / "001.png", np.zeros(ids[1].shape, np.uint8), check_contrast=False)
        return images_dir, labels_dir, "single value"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing folder", "empty folder", "image without label",
                                  "label without image", "size mismatch", "neither",
                                  "ambiguous", "single value"])
def test_folder_refuses_bad_input_and_leaves_it_alone(tmp_path, case):
    images_dir, labels_dir, words = bad_case(tmp_path, case)
    before = snapshot(tmp_path)
    with pytest.raises(SourceError, match=words):
        sources.read_folder(images_dir, labels_dir)
    assert snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in tmp_path.iterdir())


def test_hdf5_round_trip_and_groups(tmp_path):
    path = tmp_path / "iron.h5"
    images, ids = stacks(3)
    sources.write_hdf5(path, "real", images, ids)
    sources.write_hdf5(path, "simulated", None, ids[:2] + 100)
    got_images, got_ids = sources.read_hdf5(path, "real")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_ids, ids)
    no_images, sim_ids = sources.read_hdf5(path, "simulated")
    assert no_images is None
    np.testing.assert_array_equal(sim_ids, ids[:2] + 100)
    with h5py.File(path, "r") as f:
        h, w, n = ids.shape[1], ids.shape[2], ids.shape[0]
        assert f["real/image"].shape == f["real/label"].shape == f["real/boundary"].shape == (h, w, n)
        assert list(f["real/shape"][()]) == [h, w, n]
        assert "image" not in f["simulated"]
        boundary = f["real/boundary"][()]
        assert set(np.unique(boundary)) == {0, 255}
        np.testing.assert_array_equal(boundary[..., 1] > 0, grains.boundaries(ids[1], 2))


def test_hdf5_refuses_overwrite_and_keeps_other_groups(tmp_path):
    path = tmp_path / "iron.h5"
    images, ids = stacks(2)
    sources.write_hdf5(path, "real", images, ids)
    sources.write_hdf5(path, "simulated", None, ids)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="real"):
        sources.write_hdf5(path, "real", images[::-1], ids[::-1])
    assert path.read_bytes() == before
    sources.write_hdf5(path, "real", images[::-1], ids[::-1], overwrite=True)
    np.testing.assert_array_equal(sources.read_hdf5(path, "real")[1], ids[::-1])
    np.testing.assert_array_equal(sources.read_hdf5(path, "simulated")[1], ids)


def test_read_published_layout_written_by_h5py(tmp_path):
    images, ids = stacks(2, (40, 56))
    path = tmp_path / "published.h5"
    boundary = np.stack([grains.boundaries(i) for i in ids]).astype(np.uint8) * 255
    with h5py.File(path, "w") as f:
        real = f.create_group("real")
        real["image"] = np.moveaxis(images, 0, -1)
        real["label"] = np.moveaxis(ids, 0, -1).astype(np.uint16)
        real["boundary"] = np.moveaxis(boundary, 0, -1)
        real["shape"] = [40, 56, 2]
        sim = f.create_group("simulated")  # only boundaries: ids come from them
        sim["boundary"] = np.moveaxis(boundary, 0, -1)
        sim["shape"] = [40, 56, 2]
    got_images, got_ids = sources.read_hdf5(path, "real")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_ids, ids)
    _, sim_ids = sources.read_hdf5(path, "simulated")
    assert same_partition(ids[0], sim_ids[0], boundary[0] == 0)
    with pytest.raises(SourceError, match="no group 'other'"):
        sources.read_hdf5(path, "other")
    with pytest.raises(SourceError, match="not found"):
        sources.read_hdf5(tmp_path / "missing.h5")


def write_stacks(path, images, ids, layout, shape=None, group="real"):
    """Write (N, H, W) images and grain ids stacked in ``layout`` with h5py, as another
    program would: no ``layout`` attribute, a ``shape`` dataset only when given."""
    boundary = np.stack([grains.boundaries(i) for i in ids]).astype(np.uint8) * 255
    order = (lambda a: np.moveaxis(a, 0, -1)) if layout == "HWN" else (lambda a: a)
    with h5py.File(path, "a") as f:
        g = f.create_group(group)
        g["image"], g["label"], g["boundary"] = order(images), order(ids), order(boundary)
        if shape is not None:
            g["shape"] = shape
    return path


@pytest.mark.parametrize("n", [70, 8])
def test_hdf5_both_stack_orders_read_to_the_same_images(tmp_path, n):
    """N x H x W (numpy's order) and H x W x N (the authors') of square images are told
    apart by the odd one out of the three sides; the N = 8 stack used to be read as 128
    images of 8 x 128 px."""
    images, ids = stacks(n, (32, 32))
    got = {layout: sources.read_hdf5(write_stacks(tmp_path / f"{layout}.h5", images, ids,
                                                  layout), "real")
           for layout in ("HWN", "NHW")}
    for got_images, got_ids in got.values():
        assert got_images.shape == got_ids.shape == (n, 32, 32)
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_ids, ids)
    cfg = config.load("smoke", {"data.source": "hdf5", "data.hdf5_path": str(tmp_path / "NHW.h5")})
    sources.check_source(cfg)
    np.testing.assert_array_equal(sources.load_real(cfg)[0], images)


def test_hdf5_square_stack_needs_the_layout_key(tmp_path):
    images, ids = stacks(32, (32, 32))  # 32 images of 32 x 32: a cube, either order fits
    path = write_stacks(tmp_path / "cube.h5", images, ids, "NHW")
    before = snapshot(tmp_path)
    with pytest.raises(SourceError) as err:
        sources.read_hdf5(path, "real")
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "data.hdf5_layout" in message
    assert "read as HWN (H x W x N, the authors' layout)" in message
    assert "read as NHW (N x H x W)" in message
    cfg = {"data.source": "hdf5", "data.hdf5_path": str(path)}
    with pytest.raises(SourceError, match=r"data\.hdf5_path: .*cube\.h5:/real: cannot tell "
                                          r"the order .*set data\.hdf5_layout"):
        sources.check_source(config.load("smoke", cfg))  # before any chapter runs
    keyed = config.load("smoke", {**cfg, "data.hdf5_layout": "NHW"})
    sources.check_source(keyed)
    got_images, got_ids = sources.load_real(keyed)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(sources.read_hdf5(path, layout="HWN")[1],
                                  np.moveaxis(ids, -1, 0))  # the key decides, as asked
    assert sources.source_signature(keyed) != sources.source_signature(config.load("smoke", cfg))
    assert snapshot(tmp_path) == before


def test_hdf5_non_square_images_and_the_shape_dataset(tmp_path):
    images, ids = stacks(3, (40, 56))  # three different sides: the shapes cannot tell
    bare = write_stacks(tmp_path / "bare.h5", images, ids, "NHW")
    with pytest.raises(SourceError, match=r"bare\.h5:/real: cannot tell the order of its "
                                          r"3 x 40 x 56 stacks: read as HWN .* 56 images of "
                                          r"3 x 40 px, read as NHW .* 3 images of 40 x 56 px"):
        sources.read_hdf5(bare)
    np.testing.assert_array_equal(sources.read_hdf5(bare, layout="NHW")[0], images)
    for layout in ("HWN", "NHW"):  # the shape dataset, (H, W, N) as the authors write it
        path = write_stacks(tmp_path / f"{layout}.h5", images, ids, layout, shape=[40, 56, 3])
        np.testing.assert_array_equal(sources.read_hdf5(path)[1], ids)
    # square images stacked first, but a shape dataset that reads them stacked last
    odd = write_stacks(tmp_path / "odd.h5", *stacks(5, (32, 32)), "NHW", shape=[5, 32, 32])
    with pytest.raises(SourceError, match=r"cannot tell .*its shape dataset says 5 x 32 x 32"):
        sources.read_hdf5(odd)
    with h5py.File(tmp_path / "ragged.h5", "w") as f:
        f["real/image"], f["real/label"] = images, ids[:, :, :50]
    with pytest.raises(SourceError, match=r"ragged\.h5:/real: its stacks differ in shape: "
                                          r"image 3 x 40 x 56, label 3 x 40 x 50"):
        sources.check_source(config.load("smoke", {"data.source": "hdf5",
                                                   "data.hdf5_path": str(tmp_path / "ragged.h5")}))


def test_write_hdf5_cube_reads_back_without_the_key(tmp_path):
    images, ids = stacks(16, (16, 16))
    path = sources.write_hdf5(tmp_path / "cube.h5", "real", images, ids)
    with h5py.File(path, "r") as f:
        assert f["real/image"].shape == (16, 16, 16) and f["real"].attrs["layout"] == "HWN"
    got_images, got_ids = sources.read_hdf5(path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_ids, ids)


def test_load_real_dispatches_on_source(tmp_path):
    images, ids = stacks(2)
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16))
    sources.write_hdf5(tmp_path / "x.h5", "real", images, ids)
    from_folder = sources.load_real(config.load("smoke", {
        "data.source": "folder", "data.images_dir": str(images_dir),
        "data.labels_dir": str(labels_dir)}))
    from_hdf5 = sources.load_real(config.load("smoke", {
        "data.source": "hdf5", "data.hdf5_path": str(tmp_path / "x.h5")}))
    for got_images, got_ids in (from_folder, from_hdf5):
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_ids, ids)
    with pytest.raises(SourceError, match="labels_dir"):
        sources.load_real(config.load("smoke", {"data.source": "folder",
                                                "data.images_dir": str(images_dir)}))


def test_surrogate_sections_shape_dtype_and_seed():
    from grainlib.data import specimen
    if not hasattr(specimen, "sections"):
        pytest.skip("grainlib.data.specimen.sections is not written yet")
    images, ids = sources.surrogate_sections(2, (64, 72), seed=1)
    assert images.shape == ids.shape == (2, 64, 72)
    assert images.dtype == np.uint8 and ids.dtype == np.int32
    again = sources.surrogate_sections(2, (64, 72), seed=1)
    np.testing.assert_array_equal(again[0], images)
    np.testing.assert_array_equal(again[1], ids)


def test_iron_sections_profile_reads_the_public_sections(iron):
    cfg = config.load("iron-sections")
    assert cfg["data"]["source"] == "iron-sections"
    images, ids = sources.load_real(cfg)
    assert images.shape == ids.shape == (5, 800, 800)
    assert images.dtype == np.uint8 and ids.dtype == np.int32
    np.testing.assert_array_equal(images, iron[0])
    np.testing.assert_array_equal(ids, iron[1])
    assert 170 <= len(np.unique(ids[4])) <= 195
    signature = sources.source_signature(cfg)
    assert signature["source"] == "iron-sections" and len(signature["files"]) == 10


def test_grains_from_colours_splits_each_colour_into_4_connected_regions():
    colours = np.zeros((6, 6, 3), np.uint8)        # black is a colour like any other
    colours[:3, :3] = colours[3:, 3:] = (200, 10, 10)  # one colour, two grains touching
    colours[:3, 3:] = (10, 200, 10)                # only at a corner (8-, not 4-connected)
    ids = labels.grains_from_colours(colours)
    assert ids.dtype == np.int32 and ids.min() == 1
    assert len(np.unique(ids)) == 4
    assert ids[0, 0] != ids[5, 5] and ids[0, 5] != ids[5, 0]
    with pytest.raises(SourceError, match="colour-coded"):
        labels.grains_from_colours(colours[..., 0])


def test_source_signature_follows_the_files(tmp_path):
    images, ids = stacks(2)
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16))
    cfg = config.load("smoke", {"data.source": "folder", "data.images_dir": str(images_dir),
                                "data.labels_dir": str(labels_dir)})
    before = sources.source_signature(cfg)
    assert before == sources.source_signature(cfg)
    skio.imsave(images_dir / "000.png", images[1], check_contrast=False)
    os.utime(images_dir / "000.png", ns=(1, 1))
    assert sources.source_signature(cfg) != before


# --------------------------------------------------------------------------- check_source


def folder_cfg(images_dir, labels_dir):
    return config.load("smoke", {"data.source": "folder", "data.images_dir": str(images_dir),
                                 "data.labels_dir": str(labels_dir)})


def test_check_source_passes_present_data_without_reading_them(tmp_path, monkeypatch):
    images, ids = stacks(2)
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16))
    sources.write_hdf5(tmp_path / "x.h5", "real", images, ids)
    monkeypatch.setattr(sources, "_read", lambda path: pytest.fail(f"decoded {path}"))
    sources.check_source(folder_cfg(images_dir, labels_dir))
    sources.check_source(config.load("smoke", {"data.source": "hdf5",
                                               "data.hdf5_path": str(tmp_path / "x.h5")}))
    sources.check_source(config.load("smoke"))  # the surrogate needs no files


def test_check_source_passes_sources_without_files():
    """A source it has no check for (the surrogate, data fetched by the program) passes."""
    cfg = config.load("smoke")
    cfg["data"] = {**cfg["data"], "source": "some-future-source"}
    sources.check_source(cfg)


@pytest.mark.parametrize("case, words", [
    ("missing folder", r"data\.images_dir: images folder not found: .*nope"),
    ("empty folder", r"data\.images_dir: images folder .*empty holds no image files"),
    ("image without label", r"image .*007\.png has no label in .*labels"),
    ("label without image", r"label .*009\.png has no image in .*images"),
])
def test_check_source_refuses_missing_folders_and_files(tmp_path, case, words):
    images_dir, labels_dir, _ = bad_case(tmp_path, case)
    before = snapshot(tmp_path)
    with pytest.raises(SourceError, match=words):
        sources.check_source(folder_cfg(images_dir, labels_dir))
    assert snapshot(tmp_path) == before


def test_check_source_names_the_missing_labels_folder(tmp_path):
    images, ids = stacks(1)
    images_dir, _ = write_folder(tmp_path, images, ids.astype(np.uint16))
    with pytest.raises(SourceError, match=r"data\.labels_dir: labels folder not found"):
        sources.check_source(folder_cfg(images_dir, tmp_path / "gone"))
    with pytest.raises(SourceError, match=r"data\.source is 'folder' but data\.labels_dir "
                                          r"is not set"):
        sources.check_source(config.load("smoke", {"data.source": "folder",
                                                   "data.images_dir": str(images_dir)}))


def test_check_source_hdf5(tmp_path):
    def hdf5_cfg(path, group="real"):
        return config.load("smoke", {"data.source": "hdf5", "data.hdf5_path": str(path),
                                     "data.hdf5_group": group})

    images, ids = stacks(1)
    with pytest.raises(SourceError, match=r"data\.hdf5_path: HDF5 file not found: .*none\.h5"):
        sources.check_source(hdf5_cfg(tmp_path / "none.h5"))
    (tmp_path / "text.h5").write_text("not HDF5")
    with pytest.raises(SourceError, match=r"data\.hdf5_path: .*text\.h5: not a readable HDF5"):
        sources.check_source(hdf5_cfg(tmp_path / "text.h5"))
    sources.write_hdf5(tmp_path / "sim.h5", "simulated", None, ids)
    with pytest.raises(SourceError, match=r"no group 'real'; groups found: simulated"):
        sources.check_source(hdf5_cfg(tmp_path / "sim.h5"))
    with pytest.raises(SourceError, match=r"sim\.h5:/simulated has no image dataset"):
        sources.check_source(hdf5_cfg(tmp_path / "sim.h5", "simulated"))


def test_check_source_refuses_images_of_several_sizes_early(tmp_path, monkeypatch):
    """Told from the file headers before any chapter runs, naming each size and its files
    (the datasets hold the real images as one stack)."""
    images, ids = stacks(4, (40, 56))
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16))
    small_images, small_ids = stacks(2, (32, 48), seed=7)
    for k in range(2):
        skio.imsave(images_dir / f"s{k}.png", small_images[k], check_contrast=False)
        skio.imsave(labels_dir / f"s{k}.png", small_ids[k].astype(np.uint16),
                    check_contrast=False)
    before = snapshot(tmp_path)
    monkeypatch.setattr(sources, "_read", lambda path: pytest.fail(f"decoded {path}"))
    with pytest.raises(SourceError) as err:
        sources.check_source(folder_cfg(images_dir, labels_dir))
    message = str(err.value)
    assert "\n" not in message and message.startswith("data.images_dir: images of 2 sizes in")
    assert ("40 x 56 px: 000.png, 001.png, 002.png and 1 more; 32 x 48 px: s0.png, s1.png"
            in message)
    assert "must be one size" in message
    assert snapshot(tmp_path) == before
    skio.imsave(labels_dir / "s1.png", ids[0].astype(np.uint16), check_contrast=False)
    with pytest.raises(SourceError, match=r"size mismatch: image .*s1\.png is 32 x 48, its "
                                          r"label .*s1\.png is 40 x 56"):
        sources.check_source(folder_cfg(images_dir, labels_dir))
    for k in range(2):
        (images_dir / f"s{k}.png").unlink()
        (labels_dir / f"s{k}.png").unlink()
    sources.check_source(folder_cfg(images_dir, labels_dir))


def test_unreadable_image_is_named(tmp_path):
    images, ids = stacks(2)
    images_dir, labels_dir = write_folder(tmp_path, images, ids.astype(np.uint16))
    (images_dir / "001.png").write_bytes(b"not a PNG")
    sources.check_source(folder_cfg(images_dir, labels_dir))  # present: the check passes
    with pytest.raises(SourceError, match=r"cannot read .*001\.png: not a readable PNG image"):
        sources.read_folder(images_dir, labels_dir)


# --------------------------------------------------------------------------- one micrograph


def test_read_micrograph_grey_rgb_and_16_bit_give_the_same_grey(tmp_path):
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (37, 53)).astype(np.uint8)
    grey[0, 0], grey[-1, -1] = 0, 255                  # the full 8-bit range
    files = {"grey.png": grey, "rgb.png": np.stack([grey] * 3, -1),
             "rgba.png": np.dstack([grey, grey, grey, np.full_like(grey, 255)]),
             "deep.tif": grey.astype(np.uint16) * 257,  # 16 bit, the same grey levels
             "rgb16.tif": np.stack([grey.astype(np.uint16) * 257] * 3, -1)}
    for name, image in files.items():
        skio.imsave(tmp_path / name, image, check_contrast=False)
    before = snapshot(tmp_path)
    for name in files:
        got = sources.read_micrograph(tmp_path / name)
        assert got.dtype == np.uint8 and got.shape == grey.shape, name
        np.testing.assert_array_equal(got, grey, err_msg=name)  # grey as RGB is not darkened
    assert snapshot(tmp_path) == before


def test_read_micrograph_scales_deep_images_by_their_own_range(tmp_path):
    grey = np.arange(256, dtype=np.uint16).reshape(16, 16)
    skio.imsave(tmp_path / "twelve_bit.tif", grey * 16 + 1000, check_contrast=False)  # 1000..5080
    np.testing.assert_array_equal(sources.read_micrograph(tmp_path / "twelve_bit.tif"), grey)
    ramp = np.linspace(0, 1, 9)[None].repeat(12, 0).astype(np.float32)  # k / 8: exact
    skio.imsave(tmp_path / "float.tif", ramp, check_contrast=False)
    np.testing.assert_array_equal(sources.read_micrograph(tmp_path / "float.tif")[0],
                                  [0, 32, 64, 96, 128, 159, 191, 223, 255])  # rounded


def test_read_micrograph_refuses_what_is_not_one_grey_image(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "folder.png").mkdir()
    skio.imsave(tmp_path / "stack.tif", np.zeros((5, 20, 20), np.uint8), check_contrast=False)
    skio.imsave(tmp_path / "grey_alpha.png", np.zeros((20, 20, 2), np.uint8),
                check_contrast=False)
    for name, message in [("missing.png", "image not found"), ("text.png", "cannot read"),
                          ("folder.png", "is a folder"), ("stack.tif", r"\(5, 20, 20\)"),
                          ("grey_alpha.png", r"\(20, 20, 2\)")]:
        with pytest.raises(SourceError, match=message) as err:
            sources.read_micrograph(tmp_path / name)
        assert name in str(err.value)
