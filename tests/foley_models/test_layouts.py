import numpy as np
import pytest

from foley_models.data import layouts
from foley_models.data.layouts import BODY65, HANDS, PoseError


def _pose(t=10, layout=BODY65, m=1, seed=0):
    rng = np.random.default_rng(seed)
    pose = rng.uniform(50, 400, (t, layout.channels, layout.joints, m)).astype(np.float32)
    if layout.has_confidence:
        pose[:, 2] = rng.uniform(0.1, 1.0, (t, layout.joints, m))
    return pose


def test_skeletons_are_trees_joined_at_the_body_wrists():
    for layout in (BODY65,):
        assert len(layout.edges) == layout.joints - 1
        adjacency = layout.adjacency()
        assert (adjacency == adjacency.T).all() and adjacency.trace() == 0
    # Hand roots attach to the body wrists: left hand point 1 (index 25) to joint 7.
    assert (7, 25) in BODY65.edges and (4, 45) in BODY65.edges
    assert len(HANDS.edges) == 40  # two separate 21-point trees
    assert not any(a < 21 <= b or b < 21 <= a for a, b in HANDS.edges)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.astype(np.float64), "dtype is float64"),
        (lambda p: p[:, :, :25], "does not match layout body65"),
        (lambda p: p[:, :2], "does not match layout body65"),
        (lambda p: p[0], "does not match layout body65"),
        (
            lambda p: np.where(np.arange(65)[None, None, :, None] == 3, np.nan, p).astype(
                np.float32
            ),
            "NaN",
        ),
        (lambda p: np.concatenate([p[:, :2], p[:, 2:] * 2], axis=1), "confidence outside"),
    ],
)
def test_bad_pose_arrays_get_errors_naming_the_file(mutate, message):
    with pytest.raises(PoseError, match=message) as info:
        layouts.validate_pose(mutate(_pose()), "body65", source="clips/vid7.npy")
    assert "clips/vid7.npy" in str(info.value)


def test_fps_and_layout_names_are_checked():
    with pytest.raises(PoseError, match="fps 0"):
        layouts.validate_pose(_pose(), "body65", source="x.npy", fps=0)
    with pytest.raises(PoseError, match="unknown pose layout 'coco'"):
        layouts.validate_pose(_pose(), "coco")
    assert layouts.validate_pose(_pose(layout=HANDS), "hands", fps=22).shape[1:3] == (2, 42)


def test_normalise_centres_and_scales_and_keeps_missing_points_at_zero():
    pose = _pose(t=30)
    pose[5, :, 10] = 0.0  # a dropout
    out = layouts.normalise(pose, "body65")
    mask = layouts.valid_mask(pose, BODY65)
    assert abs(out[:, 0][mask].mean()) < 1e-4 and abs(out[:, 1][mask].mean()) < 1e-4
    spans = [np.ptp(np.percentile(out[:, k][mask], [5, 95])) for k in (0, 1)]
    assert max(spans) == pytest.approx(2.0, rel=1e-3)
    assert out[5, 0, 10, 0] == 0 and out[5, 1, 10, 0] == 0
    assert (out[:, 2] == pose[:, 2]).all()


def test_augmentation_draws_from_the_foley_sets_and_keeps_shapes():
    pose = layouts.normalise(_pose(t=40), "body65")
    rng = np.random.default_rng(1)
    out = layouts.augment(pose, "body65", rng)
    assert out.shape == pose.shape and out.dtype == np.float32
    # Frame 0 is an exact similarity transform of the input (rotation, scale, shift).
    src, dst = pose[0, :2, :, 0].T, out[0, :2, :, 0].T
    a = np.c_[src, np.ones(len(src))]
    coef, *_ = np.linalg.lstsq(a, dst, rcond=None)
    scale = np.sqrt(np.linalg.det(coef[:2]))
    angle = np.degrees(np.arctan2(coef[0, 1], coef[0, 0]))
    assert min(abs(scale - s) for s in layouts.SCALES) < 1e-4
    assert min(abs(angle - s) for s in layouts.ANGLES_DEG) < 1e-3
    assert min(abs(coef[2, 0] - s) for s in layouts.SHIFTS) < 1e-4
