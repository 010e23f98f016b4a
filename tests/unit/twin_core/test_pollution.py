"""Advection-diffusion: compiled kernel = numpy reference, mass balance, stability, plans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin_core.sim import PollutionPlan, build_pollution_inputs, simulate_pollution
from twin_core.sim._advection import (
    Transport,
    advance_numba,
    advance_numpy,
    boundary_outflow,
    stable_dt,
    stencil,
    step_numpy,
)

WINDS = [(2.0, 1.0), (-1.5, 0.7), (1.0, -2.5), (-0.4, -0.3), (0.0, 0.0)]


def _field(shape=(23, 31), seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(shape) * 50, rng.random(shape) * 0.05


@pytest.mark.parametrize(("u", "v"), WINDS)
@pytest.mark.parametrize("threads", [1, 3])
def test_numba_kernel_matches_numpy_reference_to_1e_9(u: float, v: float, threads: int) -> None:
    c, src = _field()
    tr = Transport(25.0, stable_dt(25.0, u, v, 8.0, 1e-4), u, v, 8.0, 1e-4)
    ref = advance_numpy(c, 150, tr, src)
    fast = advance_numba(c, 150, tr, src, threads=threads, halo=7)  # several halo blocks
    assert np.max(np.abs(fast - ref)) <= 1e-9 * max(1.0, np.max(np.abs(ref)))
    assert np.max(np.abs(fast - c)) > 1.0  # the fields really moved


def test_bands_give_the_same_bits_as_one_band() -> None:
    c, src = _field((97, 40), seed=4)
    tr = Transport(20.0, stable_dt(20.0, 1.0, -2.0, 5.0), 1.0, -2.0, 5.0)
    one = advance_numba(c, 53, tr, src, threads=1)
    for threads, halo in ((2, 16), (4, 5), (5, 1)):
        np.testing.assert_array_equal(advance_numba(c, 53, tr, src, threads=threads,
                                                    halo=halo), one)


@pytest.mark.parametrize(("u", "v"), WINDS)
def test_mass_balance_without_decay(u: float, v: float) -> None:
    """Mass now = mass before + sources - what the wind carried over the edges."""
    c, src = _field(seed=1)
    tr = Transport(25.0, stable_dt(25.0, u, v, 8.0), u, v, 8.0, 0.0)
    expected = c.sum()
    field = c
    for _ in range(300):
        expected += src.sum() - boundary_outflow(field, tr)
        field = step_numpy(field, tr, src)
    assert field.sum() == pytest.approx(expected, rel=1e-10)
    compiled = advance_numba(c, 300, tr, src)
    assert compiled.sum() == pytest.approx(expected, rel=1e-10)
    if u == v == 0.0:  # closed box: nothing leaves, diffusion only spreads
        assert field.sum() == pytest.approx(c.sum() + 300 * src.sum(), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(u=st.floats(-5, 5), v=st.floats(-5, 5), k=st.floats(0.5, 50), dx=st.floats(10, 100))
def test_stable_step_keeps_the_field_positive_and_bounded(u, v, k, dx) -> None:
    c, _ = _field((12, 14), seed=2)
    tr = Transport(dx, stable_dt(dx, u, v, k), u, v, k)
    out = advance_numba(c, 40, tr, np.zeros_like(c))
    assert out.min() >= 0.0
    assert out.max() <= c.max() + 1e-9  # no source: no new maximum


def test_an_unstable_time_step_is_refused() -> None:
    dt = stable_dt(25.0, 3.0, 0.0, 10.0, safety=1.0)
    with pytest.raises(ValueError, match="unstable"):
        stencil(25.0, 1.5 * dt, 3.0, 0.0, 10.0)


def test_low_emission_zone_lowers_exposure_where_it_applies(tiny_city, tiny_traffic) -> None:
    inputs = build_pollution_inputs(tiny_city, tiny_traffic.network,
                                    tiny_traffic.link_flows_vph())
    base = simulate_pollution(inputs)
    zone = tiny_city.districts[-1].id
    lez = simulate_pollution(inputs, PollutionPlan({zone: 0.2}, name="lez"))
    assert lez.exposure_by_district[zone] < base.exposure_by_district[zone] - 0.2
    assert lez.population_weighted_ugm3 < base.population_weighted_ugm3
    assert base.max_ugm3 > inputs.background_ugm3
    again = simulate_pollution(inputs)
    np.testing.assert_array_equal(again.concentration, base.concentration)
    numpy_run = simulate_pollution(inputs, kernel="numpy")
    np.testing.assert_allclose(numpy_run.concentration, base.concentration, rtol=1e-9)
    # emitted = still in the air + blown out + decayed (trapezoid estimate, hence 2 %)
    assert base.emitted_kg == pytest.approx(
        base.in_domain_kg + base.outflow_kg + base.decayed_kg, rel=0.02)
