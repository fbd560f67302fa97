"""grainlib.view.findings: the chapters' closing sentences follow the numbers given."""

import numpy as np
import pandas as pd
import pytest

from grainlib.view import findings


def scores(maps: dict, baseline=0.3, patches=20, noise=0.0, seed=0) -> pd.DataFrame:
    """A score table of :func:`grainlib.score.evaluate.score`'s shape: each training set's
    per-patch MAP = its level + a patch effect shared by all (+ optional own noise)."""
    rng = np.random.default_rng(seed)
    patch_effect = rng.normal(0, 0.1, patches)
    rows = []
    for name, level in maps.items():
        own = rng.normal(0, noise, patches)
        rows += [{"method": "U-Net", "training_set": name, "fraction": 5, "seed": 0,
                  "patch": p, "MAP": level + patch_effect[p] + own[p], "ARI": 0.8}
                 for p in range(patches)]
    rows += [{"method": "OTSU", "training_set": "baseline", "fraction": 5, "seed": 0,
              "patch": p, "MAP": baseline, "ARI": 0.5} for p in range(patches)]
    return pd.DataFrame(rows)


def test_paired_difference_is_the_mean_and_standard_error_of_per_patch_differences():
    table = scores({"real": 0.5, "real+synthetic": 0.55}, noise=0.02)
    mean, se, n = findings.paired_difference(table, "real+synthetic", "real")
    unet = table[table["method"] == "U-Net"].pivot(index="patch", columns="training_set",
                                                   values="MAP")
    diff = unet["real+synthetic"] - unet["real"]
    assert n == 20
    assert mean == pytest.approx(diff.mean())
    assert se == pytest.approx(diff.std(ddof=1) / np.sqrt(20))
    assert np.isnan(findings.paired_difference(table, "real+flips", "real")[0])


def test_segmentation_names_the_best_set_and_judges_each_comparison_by_its_spread():
    table = scores({"real": 0.50, "real+synthetic": 0.60, "real+flips": 0.501},
                   noise=0.01)
    sentences = findings.segmentation(table, 5)
    assert sentences[0].startswith("Best U-Net at X = 5 %: Mixed(Real_5% + Synthetic^5_100%)")
    synthetic = next(s for s in sentences if s.startswith("Mixed(Real_5% + Synthetic"))
    flips = next(s for s in sentences if s.startswith("Real_5% + flips"))
    assert "is better than Real_5%: MAP +0.10" in synthetic
    assert "is level with Real_5%" in flips
    assert sentences[-1].startswith("Best classical method: OTSU, MAP 0.300 (below")
    worse = findings.segmentation(scores({"real": 0.6, "real+synthetic": 0.4}), 5)
    assert "is worse than Real_5%" in worse[1]


def test_potts_reads_the_exponent_against_ideal_growth():
    table = pd.DataFrame({"grains": [100.0, 40.0], "mean_volume": [10.0, 25.0],
                          "mean_section_area": [5.0, 9.0]}, index=[10, 20])
    assert "close to the t^1.5" in findings.potts(table, (1.52, 1.0))[1]
    assert "slower than" in findings.potts(table, (1.1, 1.0))[1]
    assert findings.potts(table, None)[0].startswith("After 20 MCS the volume holds 40 grains")


def test_fidelity_calls_synthetic_images_easier_only_beyond_the_margin():
    def table(real, synthetic):
        return pd.DataFrame({"images": ["real test"] * 2 + ["Synthetic^5_100%"] * 2,
                             "MAP": [real, real, synthetic, synthetic]})
    assert "easier than the real ones" in findings.fidelity(table(0.5, 0.7))[0]
    assert "about as hard" in findings.fidelity(table(0.5, 0.52))[0]
    assert "harder than the real ones" in findings.fidelity(table(0.5, 0.3))[0]


def test_tables_writes_one_sentence_per_claim_and_show_makes_a_markdown_list():
    verdicts = pd.DataFrame({"claim": ["simulated alone fail", "mixing hurts"],
                             "verdict": ["reproduced", "not reproduced"],
                             "evidence": ["MAP 0.1 vs 0.5", "MAP 0.5 vs 0.5"]},
                            index=["C1", "C2"])
    sentences = findings.tables(verdicts)
    assert sentences == ["C1 is reproduced: simulated alone fail (MAP 0.1 vs 0.5).",
                         "C2 is not reproduced: mixing hurts (MAP 0.5 vs 0.5)."]
    shown = findings.show(sentences).data
    assert shown.startswith("### Findings") and shown.count("\n- ") == 2


def test_transfer_reports_texture_beside_the_real_real_floor():
    from types import SimpleNamespace

    looks = pd.DataFrame({"histogram_distance": [0.0, 40.0, 5.0],
                          "boundary_darkness": [30.0, 60.0, 28.0]},
                         index=["real test", "simulated (flat)",
                                "synthetic from the real test labels"])
    built = SimpleNamespace(fraction=5, model=SimpleNamespace(steps=300), trained_now=False,
                            synthetic=[0] * 48)
    texture = pd.DataFrame({"core_sd": [3.0, 1.2, 2.9], "high_frequency_share": [0.06, 0.03, 0.05],
                            "auc_vs_reference": [np.nan, 0.97, 0.55]},
                           index=["real test", "synthetic, Real_5%", "floor"])
    sentences = findings.transfer(looks, built, texture)
    assert sentences[0] == ("The generator trained on Real_5% for 300 steps (read back from "
                            "the run folder) made 48 synthetic images.")
    assert "lie 40.0 grey levels" in sentences[1] and "lie 5.0 grey levels" in sentences[2]
    assert ("grey SD inside grain cores 1.2 against 3.0 real" in sentences[3]
            and "AUC 0.97" in sentences[3] and "two halves of the real images give 0.55" in sentences[3])
    texture.loc["floor", "auc_vs_reference"] = np.nan
    assert "too few real test images" in findings.transfer(looks, built, texture)[3]
