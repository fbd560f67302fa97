import numpy as np
import pytest

from grainlib.simulate import kinetics


def test_power_law_fit_recovers_exponent():
    t = np.array([5, 10, 20, 50, 100, 200])
    n, a = kinetics.power_law_fit(t, 3.0 * t ** 1.5, t_min=10)
    assert n == pytest.approx(1.5) and a == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        kinetics.power_law_fit(t, t, t_min=150)


def test_growth_table_of_known_volumes():
    fine = np.arange(8 ** 3, dtype=np.int32).reshape(8, 8, 8)    # every site a grain
    coarse = (fine // 64).astype(np.int32)                        # 8 slabs of 64 sites along z
    table = kinetics.growth_table({10: fine, 20: coarse}, sections_per_axis=2)
    assert table.index.tolist() == [10, 20]
    assert table.loc[10, "grains"] == 512 and table.loc[10, "mean_volume"] == 1
    assert table.loc[10, "mean_section_area"] == 1
    assert table.loc[20, "grains"] == 8 and table.loc[20, "mean_volume"] == 64
    # z sections lie inside one slab (64 px); y and x sections cut 8 slabs of 8 px
    assert table.loc[20, "mean_section_area"] == pytest.approx((64 * 2 + 8 * 4) / 6)
