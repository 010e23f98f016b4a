"""Hardware realism: the same QAOA circuit on a noisy fake IBM device, offline.

QAOA is first optimised on the ideal simulator (as one would before spending device time).
Its best circuit is then transpiled for a qiskit-ibm-runtime fake backend (real coupling map,
basis gates and calibrated error rates) and sampled twice with the same parameters: on an
ideal simulator and on ``AerSimulator.from_backend`` (the device's noise model). The report
gives the transpiled width, depth and two-qubit gate count, and what the noise cost: the drop
in the probability of sampling an optimal plan and in the expected approximation ratio.
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict
from qiskit.circuit.library import QAOAAnsatz, qaoa_ansatz
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2
from qiskit_optimization import QuadraticProgram

from quantum._arrays import ProgramArrays
from quantum.errors import InvalidProblem, ProblemTooLarge
from quantum.solvers.lean_qaoa import _to_circuit_order
from quantum.solvers.mixers import one_hot_groups, xy_mixer
from quantum.solvers.qaoa import QAOAConfig, QAOASolver

TWO_QUBIT = {"cx", "cz", "ecr", "rzz", "swap", "iswap", "rzx"}


class SampleQuality(BaseModel):
    """Quality of one sampled distribution over the QUBO's states."""

    model_config = ConfigDict(frozen=True)

    p_optimal: float
    p_feasible: float
    expected_ratio: float


class NoiseReport(BaseModel):
    """Transpiled cost and the quality lost to the fake device's noise."""

    model_config = ConfigDict(frozen=True)

    backend: str
    backend_qubits: int
    logical_qubits: int
    transpiled_width: int
    transpiled_depth: int
    two_qubit_gates: int
    reps: int
    shots: int
    ideal: SampleQuality
    noisy: SampleQuality
    p_optimal_lost: float
    ratio_lost: float
    wall_s: float


def fake_backend(name: str) -> object:
    """A fake IBM backend by class name, e.g. ``FakeSherbrooke`` (offline snapshot)."""
    from qiskit_ibm_runtime import fake_provider

    cls = getattr(fake_provider, name, None)
    if cls is None:
        raise InvalidProblem(f"unknown fake backend {name}")
    return cls()


def run_noisy(program: QuadraticProgram, backend_name: str = "FakeSherbrooke",
              config: QAOAConfig | None = None, max_qubits: int = 14) -> NoiseReport:
    """Optimise ideally, then sample the best circuit ideally and with the device's noise."""
    started = time.perf_counter()
    config = config or QAOAConfig(reps=2)
    run = QAOASolver(config).run(program)
    conversion, record = run.conversion, run.records[-1]
    n = conversion.num_qubits
    if n > max_qubits:
        raise ProblemTooLarge(f"{n} qubits: noisy simulation here is kept to {max_qubits}")
    if record.chosen is None:
        raise InvalidProblem("QAOA produced no circuit")
    operator, _ = conversion.qubo.to_ising()
    scale = float(np.abs(np.real(operator.coeffs)).max()) or 1.0
    operator = operator.simplify(atol=1e-12 * scale)
    cost = SparsePauliOp(operator.paulis, operator.coeffs / scale)
    groups = one_hot_groups(conversion.scaled) if config.mixer == "xy" else []
    p = record.chosen.reps
    if groups and config.mode == "plain":
        init, mixer = xy_mixer(conversion.qubo, groups)
        ansatz = QAOAAnsatz(cost, p, initial_state=init, mixer_operator=mixer)
    else:
        ansatz = qaoa_ansatz(cost, p)
    ansatz.measure_all()
    backend = fake_backend(backend_name)
    manager = generate_preset_pass_manager(optimization_level=3, backend=backend,
                                           seed_transpiler=config.seed)
    circuit = manager.run(ansatz)
    values = _to_circuit_order(circuit, np.asarray(record.chosen.parameters)[None, :])[0]
    ideal_sampler = SamplerV2(default_shots=config.shots, seed=config.seed)
    noisy_sampler = SamplerV2.from_backend(AerSimulator.from_backend(backend),
                                           default_shots=config.shots, seed=config.seed)
    quality = _Quality(program, conversion)
    ideal = quality(_counts(ideal_sampler, circuit, values, n))
    noisy = quality(_counts(noisy_sampler, circuit, values, n))
    active = {circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits
              if inst.operation.name not in {"barrier", "measure"}}
    ops = circuit.count_ops()
    return NoiseReport(
        backend=backend_name, backend_qubits=backend.num_qubits, logical_qubits=n,
        transpiled_width=len(active), transpiled_depth=circuit.depth(),
        two_qubit_gates=int(sum(v for k, v in ops.items() if k in TWO_QUBIT)),
        reps=p, shots=config.shots, ideal=ideal, noisy=noisy,
        p_optimal_lost=ideal.p_optimal - noisy.p_optimal,
        ratio_lost=ideal.expected_ratio - noisy.expected_ratio,
        wall_s=time.perf_counter() - started,
    )


def _counts(sampler: SamplerV2, circuit: object, values: np.ndarray, n: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(states as 0/1 rows over the logical qubits, probabilities)."""
    data = sampler.run([(circuit, values)]).result()[0].data
    counts = next(iter(data.values())).get_int_counts()
    states = np.fromiter(counts.keys(), dtype=np.int64)
    hits = np.fromiter(counts.values(), dtype=float)
    bits = ((states[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(float)
    return bits, hits / hits.sum()


class _Quality:
    """Scores a distribution against the exact QUBO spectrum (small problems only)."""

    def __init__(self, program: QuadraticProgram, conversion: object) -> None:
        self.conversion = conversion
        self.original = ProgramArrays.from_program(program)
        qubo = ProgramArrays.from_program(conversion.qubo)  # type: ignore[attr-defined]
        self.qubo = qubo
        energies = np.concatenate([qubo.objective(x) for x in qubo.enumerate()])
        self.e_min, self.e_max = float(energies.min()), float(energies.max())
        x_opt, self.opt = self.original.brute_force()
        if x_opt is None:
            raise InvalidProblem("the model has no feasible point")

    def __call__(self, sample: tuple[np.ndarray, np.ndarray]) -> SampleQuality:
        bits, probs = sample
        decoded = self.conversion.interpret(bits)  # type: ignore[attr-defined]
        feasible = self.original.feasible(decoded)
        values = self.original.objective(decoded)
        optimal = feasible & np.isclose(values, self.opt, rtol=1e-9, atol=1e-9)
        energy = float(probs @ self.qubo.objective(bits))
        span = max(self.e_max - self.e_min, 1e-12)
        return SampleQuality(p_optimal=float(probs[optimal].sum()),
                             p_feasible=float(probs[feasible].sum()),
                             expected_ratio=(self.e_max - energy) / span)
