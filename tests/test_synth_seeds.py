"""The paper objective's GA across seeds: every group within 0.05 % for seeds 0-9 at no more evaluations than
before, and a synthesis reproduces from its seed."""

from __future__ import annotations

import pytest

import aimatrix.synth as S

CENTERS = [224, 112, 56, 28, 14, 7]
# Mean GA evaluations per synthesis of the paper experiment (seeds 0-9) before issue 17's boundary scan, measured
# with the same count (every GA run, refinement included): 6.88 M (26 GA runs; 6 of the 10 seeds above 0.05 %).
PREVIOUS_COST = 6_880_000


@pytest.fixture(scope="module")
def paper_groups():
    return S.cluster(S.profile(["alexnet", "vgg16", "googlenet"], input_size=224, batch=1), CENTERS)


@pytest.fixture(scope="module")
def by_seed(paper_groups):
    """Seeds 0-9 at the paper's settings (about 2 s each on 2 cores)."""
    return {s: S.synthesize(paper_groups, bits=10, population=5000, generations=50, seed=s) for s in range(10)}


@pytest.mark.parametrize("seed", range(10))
def test_paper_objective_within_0_05_percent(by_seed, seed):
    worst = max(by_seed[seed].groups, key=lambda g: g.fitness_error)
    assert worst.fitness_error <= 0.0005, (seed, worst.center, worst.fitness_error)


def test_cost_no_higher_than_before(by_seed):
    costs = [m.ga_evaluations for m in by_seed.values()]
    assert all(c > 12 * 250_000 for c in costs)  # step 1 and step 3: one full GA per group each, at least
    assert sum(costs) / len(costs) <= PREVIOUS_COST, costs


def test_synthesis_reproduces_from_its_seed(paper_groups, by_seed):
    a = S.synthesize(paper_groups, seed=4)
    assert a == by_seed[4]
    assert S.SyntheticModel.from_dict(a.to_dict()) == a
    assert [g.filters for g in by_seed[7].groups] != [g.filters for g in a.groups]
