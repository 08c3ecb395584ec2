"""Calibrating on 3 and 5 of one hardware's serving points, its other points (mlsysim_validation.subsets)."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from mlsysim_validation import points, subsets
from mlsysim_validation.calibrate import predict
from mlsysim_validation.harness import data_path


@pytest.fixture(scope="module")
def stored():
    return json.loads(data_path("calibration_subsets.json").read_text())


def test_each_points_row_is_its_mapping(stored):
    # calibrating on a point's row fits the very solve its mapping makes: at the defaults, the same number
    maps = points.mappings()
    for g in subsets.groups():
        hardware, models = g.solved()
        predicted = predict(g.points(tuple(range(len(g.ids)))), hardware, models)
        for pid, p in zip(g.ids, predicted):
            assert p * 1e3 == pytest.approx(maps[pid].fn(), rel=1e-12), pid


def test_the_rule_draws_the_subsets_the_file_holds(stored):
    # the groups (hardware, engine; at least MIN_POINTS) and every subset are the rule's, not a choice
    groups = subsets.groups()
    assert [(g["hardware"], g["engine"], g["rows"], g["points"]) for g in stored] == [
        (g.hardware, g.engine, g.rows, len(g.ids)) for g in groups
    ]
    for g, s in zip(groups, stored):
        for k in subsets.SIZES:
            drawn = [tuple(g.ids[i] for i in c) for c in subsets.drawn(len(g.ids), k)]
            assert [tuple(t["subset"]) for t in s["trials"][str(k)]] == drawn
            assert len(drawn) == min(math.comb(len(g.ids), k), subsets.SAMPLE) == len(set(drawn))


def test_drawn_is_every_subset_or_a_seeded_sample():
    assert subsets.drawn(5, 3) == list(itertools.combinations(range(5), 3))  # 10 <= SAMPLE
    big = subsets.drawn(37, 5)
    assert big == subsets.drawn(37, 5) and len(big) == subsets.SAMPLE and all(len(set(c)) == 5 for c in big)


def test_the_file_is_the_programs_for_the_smallest_group(stored):
    # a spot check of the generated file (the whole study takes minutes: tools/calibration_subsets.py --check)
    g = min(subsets.groups(), key=lambda g: len(g.ids))
    s = next(s for s in stored if (s["hardware"], s["engine"], s["rows"]) == (g.hardware, g.engine, g.rows))
    (first,) = subsets.trials(g, 3, count=1)
    want = s["trials"]["3"][0]
    assert first.before == pytest.approx(want["before"], rel=1e-9)
    assert (first.after is None) == (want["after"] is None)
    if first.after is not None:
        assert first.after == pytest.approx(want["after"], rel=1e-6)
    assert first.within == want["within"]
    assert list(first.covered) == want["covered"] and first.width == pytest.approx(want["width"], rel=1e-6)


def test_the_summary_counts_refusals_defaults_and_improvements():
    # over every subset: a refused one (no overlay) and one that kept the defaults leave the points at before; of
    # those that kept the defaults, the ones whose every row is within the model's error (only those are counted)
    # each trial leaves 3 of the 6 points; the band covers (before, after) of them: 2 + 3 + 3 + 2 + 2 = 12 of 15 before
    # (80 %), 2 + 3 + 3 + 1 + 2 = 11 after (73 %); half-widths after 0.2, 0.2, 0.2, 0.05, 0.05: median 0.2; after /
    # before 1, 1, 1, 0.5, 2: median 1.00, mean 1.10
    trial = dict(subset=["a"], values=None, chosen=None, refused="no", before=0.3, after=None, within=True)
    trial |= dict(covered=(2, 2), width=(0.2, 0.2))
    kept = dict(trial, values={}, chosen="defaults", refused=None, after=0.3, covered=(3, 3))
    beyond = dict(kept, within=False)
    done = [
        dict(kept, values={"compute": 0.5}, chosen="prior", before=0.1, after=a, covered=(2, c), width=(0.3, 0.05))
        for a, c in ((0.05, 1), (0.2, 2))
    ]
    text = subsets.summary(
        [dict(hardware="H100", engine="nim", rows="all", points=6, trials={"3": [trial, kept, beyond, *done]})]
    )
    assert text == (
        "H100 (engine nim), all rows, 3 of 6: 5 subsets, 1 refused, 2 kept the defaults (1 within the model's "
        "error); the other points' median |error| before 30.0%, after 30.0%; after/before: median 1.00, mean 1.10; "
        "better in 1, "
        "worse in 1; the band covers 73% of the other points (defaults' 80%), median half-width 20.0% (20.0%)"
    )
    one = dict(trial, covered=(1, 1), width=(0.1, 0.1))  # 5 of 6: one point left
    refused = subsets.summary([dict(hardware="H200", engine=None, rows="ITL", points=6, trials={"5": [one]})])
    assert refused == (
        "H200, ITL rows, 5 of 6: 1 subsets, 1 refused, 0 kept the defaults (0 within the model's error); the other "
        "points' median |error| "
        "before 30.0%, after 30.0%; after/before: median 1.00, mean 1.00; better in 0, worse in 0; the band covers "
        "100% of the "
        "other points (defaults' 100%), median half-width 10.0% (10.0%)"
    )
