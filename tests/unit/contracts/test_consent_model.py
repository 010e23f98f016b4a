"""Property test: the ConsentLedger behaves like a plain Python dict of expiries.

Hypothesis drives random sequences of direct and relayed grants and revocations and of time
jumps; after every step each (subject, grantee, category) must answer exactly as the model.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from contracts import Chain, ContractRevert
from contracts import errors as errs

PURPOSE = "dpv:AcademicResearch"
CATEGORIES = ("mobility.trip", "energy.household_meter")
# ttl 0 is always refused (the next block is later than the latest); >= 100 is always valid.
TTLS = st.sampled_from([0, 100, 1_000, 5_000])


def test_consent_ledger_matches_a_plain_python_model(chain: Chain, _world, actors) -> None:
    ledger = _world.consent
    subjects = (actors.citizen, actors.citizen2)
    grantees = (actors.org_a.address, actors.org_b.address)
    keys = [(s, g, c) for s in range(2) for g in range(2) for c in range(2)]

    class ConsentMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = chain.snapshot()
            self.expiry = dict.fromkeys(keys, 0)
            self.nonce = {s.address: ledger.nonce(s.address) for s in subjects}

        def teardown(self) -> None:
            chain.revert(self.snapshot)

        def _grant(self, key, ttl: int, relayed: bool) -> None:
            s, g, c = key
            expiry = chain.timestamp() + ttl
            args = (grantees[g], CATEGORIES[c], PURPOSE, expiry)
            try:
                if relayed:
                    signed = ledger.sign_grant(subjects[s], *args, deadline=expiry + 10**6)
                    ledger.grant_consent_by_sig(actors.relayer, signed)
                else:
                    ledger.grant_consent(subjects[s], *args)
            except errs.ExpiryNotInFuture:
                assert ttl == 0
                return
            assert ttl > 0
            self.expiry[key] = expiry
            self.nonce[subjects[s].address] += relayed

        def _revoke(self, key, relayed: bool) -> None:
            s, g, c = key
            args = (grantees[g], CATEGORIES[c], PURPOSE)
            try:
                if relayed:
                    signed = ledger.sign_revoke(
                        subjects[s], *args, deadline=chain.timestamp() + 10**6
                    )
                    ledger.revoke_consent_by_sig(actors.relayer, signed)
                else:
                    ledger.revoke_consent(subjects[s], *args)
            except errs.ConsentNotFound:
                assert self.expiry[key] == 0
                return
            except ContractRevert as exc:  # pragma: no cover - any other refusal is a bug
                raise AssertionError(f"unexpected {exc}") from exc
            assert self.expiry[key] != 0
            self.expiry[key] = 0
            self.nonce[subjects[s].address] += relayed

        @rule(key=st.sampled_from(keys), ttl=TTLS, relayed=st.booleans())
        def grant(self, key, ttl: int, relayed: bool) -> None:
            self._grant(key, ttl, relayed)

        @rule(key=st.sampled_from(keys), relayed=st.booleans())
        def revoke(self, key, relayed: bool) -> None:
            self._revoke(key, relayed)

        @rule(seconds=st.sampled_from([1, 250, 2_000]))
        def time_passes(self, seconds: int) -> None:
            chain.increase_time(seconds)

        @invariant()
        def ledger_answers_like_the_model(self) -> None:
            now = chain.timestamp()
            for s, g, c in keys:
                live = now < self.expiry[(s, g, c)]
                args = (subjects[s].address, grantees[g], CATEGORIES[c], PURPOSE)
                assert ledger.is_allowed(*args) == live, (s, g, c, now, self.expiry)
            for subject in subjects:
                assert ledger.nonce(subject.address) == self.nonce[subject.address]

    run_state_machine_as_test(
        ConsentMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
