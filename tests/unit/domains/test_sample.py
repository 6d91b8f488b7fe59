from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from domains.sample.commands import CollectSample, ReceiveSample, RejectSample, RouteSample
from domains.sample.events import SampleCollected, SampleReceived, SampleRejected, SampleRouted
from domains.sample.model import Sample
from domains.sample.ports import check_accession_number
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput
from tests.unit.domains.conftest import (
    GLUCOSE,
    HEMOGLOBIN,
    ORG,
    POTASSIUM,
    order,
    received_sample,
    register,
    result,
)
from tests.unit.fakes import FakeApp


def collect(app: FakeApp, order_id: str, specimen_type: str = "serum", **kw: Any) -> str:
    outcome = app.handle(
        CollectSample(organization_id=ORG, order_id=order_id, specimen_type=specimen_type, **kw)
    )
    sample_id: str = outcome["sample_id"]
    return sample_id


class TestCollectingASample:
    def test_a_collected_sample_gets_a_dated_check_digit_accession_number(
        self, app: FakeApp
    ) -> None:
        order_id = order(app, register(app)["patient_id"])
        collect(app, order_id)
        [collected] = app.uow.events(SampleCollected)
        assert collected.accession_number.startswith("S240615")
        assert check_accession_number(collected.accession_number)
        assert collected.loinc_codes == [POTASSIUM]
        assert collected.container == "SST (gold)"

    def test_only_the_tests_that_suit_the_specimen_go_on_the_tube(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], POTASSIUM, HEMOGLOBIN)
        collect(app, order_id, "whole_blood")
        assert app.uow.events(SampleCollected)[0].loinc_codes == [HEMOGLOBIN]

    def test_a_specimen_no_ordered_test_can_use_is_refused(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], HEMOGLOBIN)
        with pytest.raises(InvalidInput) as err:
            collect(app, order_id, "serum")
        assert err.value.field == "specimen_type"

    def test_an_alternative_specimen_in_the_catalog_is_accepted(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], GLUCOSE)
        collect(app, order_id, "serum", loinc_codes=[GLUCOSE])
        assert app.uow.events(SampleCollected)[0].specimen_type == "serum"

    def test_an_unconfirmed_order_cannot_have_samples(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], confirm=False)
        with pytest.raises(IllegalTransition):
            collect(app, order_id)

    def test_a_collection_time_in_the_future_is_refused(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"])
        with pytest.raises(InvalidInput) as err:
            collect(app, order_id, collected_at=app.clock.now() + timedelta(hours=1))
        assert err.value.field == "collected_at"


class TestReceivingRejectingAndRouting:
    def test_a_received_sample_is_routed_to_a_bench_of_its_tests(self, app: FakeApp) -> None:
        sample_id = received_sample(app, order(app, register(app)["patient_id"]))
        app.handle(
            RouteSample(
                organization_id=ORG,
                sample_id=sample_id,
                department="biochemistry",
                bench="chemistry-analyzer",
            )
        )
        assert app.uow.events(SampleRouted)[0].bench == "chemistry-analyzer"
        assert app.load(Sample, sample_id).status == "routed"

    def test_a_sample_cannot_be_routed_to_a_bench_that_runs_none_of_its_tests(
        self, app: FakeApp
    ) -> None:
        sample_id = received_sample(app, order(app, register(app)["patient_id"]))
        with pytest.raises(InvalidInput) as err:
            app.handle(
                RouteSample(
                    organization_id=ORG,
                    sample_id=sample_id,
                    department="haematology",
                    bench="cbc-analyzer",
                )
            )
        assert err.value.field == "bench"

    def test_a_sample_is_rejected_with_a_coded_reason(self, app: FakeApp) -> None:
        sample_id = collect(app, order(app, register(app)["patient_id"]))
        app.handle(RejectSample(organization_id=ORG, sample_id=sample_id, reason_code="hemolyzed"))
        [rejected] = app.uow.events(SampleRejected)
        assert rejected.reason_code == "hemolyzed"
        assert rejected.recollection_required

    def test_a_rejected_sample_cannot_be_received(self, app: FakeApp) -> None:
        sample_id = collect(app, order(app, register(app)["patient_id"]))
        app.handle(RejectSample(organization_id=ORG, sample_id=sample_id, reason_code="clotted"))
        with pytest.raises(IllegalTransition):
            app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))

    def test_a_collected_sample_cannot_be_routed_before_it_is_received(self, app: FakeApp) -> None:
        sample_id = collect(app, order(app, register(app)["patient_id"]))
        with pytest.raises(IllegalTransition):
            app.handle(
                RouteSample(
                    organization_id=ORG,
                    sample_id=sample_id,
                    department="biochemistry",
                    bench="chemistry-analyzer",
                )
            )

    def test_a_sample_cannot_be_received_twice(self, app: FakeApp) -> None:
        sample_id = received_sample(app, order(app, register(app)["patient_id"]))
        with pytest.raises(IllegalTransition):
            app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))

    def test_a_sample_with_results_cannot_be_rejected(self, app: FakeApp) -> None:
        flow = result(app)
        with pytest.raises(Conflict) as err:
            app.handle(
                RejectSample(
                    organization_id=ORG, sample_id=flow["sample_id"], reason_code="hemolyzed"
                )
            )
        assert "already has results (Potassium" in str(err.value)
        assert "amend" in str(err.value)
        assert app.uow.events(SampleRejected) == []
        assert app.load(Sample, flow["sample_id"]).status == "received"


class TestReceiveTime:
    def _collected(self, app: FakeApp) -> str:
        return collect(app, order(app, register(app)["patient_id"]))

    def _receive(self, app: FakeApp, sample_id: str, received_at: datetime) -> None:
        app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id, received_at=received_at))

    def test_a_naive_receive_time_is_refused_as_invalid_input(self, app: FakeApp) -> None:
        sample_id = self._collected(app)
        with pytest.raises(InvalidInput) as err:
            self._receive(app, sample_id, app.clock.now().replace(tzinfo=None))
        assert err.value.field == "received_at"

    def test_a_receive_time_in_the_future_is_refused(self, app: FakeApp) -> None:
        sample_id = self._collected(app)
        with pytest.raises(InvalidInput) as err:
            self._receive(app, sample_id, app.clock.now() + timedelta(hours=1))
        assert err.value.field == "received_at"

    def test_a_receive_time_before_collection_is_refused(self, app: FakeApp) -> None:
        sample_id = self._collected(app)
        with pytest.raises(InvalidInput) as err:
            self._receive(app, sample_id, app.clock.now() - timedelta(hours=1))
        assert err.value.field == "received_at"
        assert app.load(Sample, sample_id).status == "collected"

    def test_clock_skew_of_a_few_minutes_is_tolerated(self, app: FakeApp) -> None:
        sample_id = self._collected(app)
        self._receive(app, sample_id, app.clock.now() + timedelta(minutes=2))
        assert app.load(Sample, sample_id).received_at == app.clock.now() + timedelta(minutes=2)

    def test_a_receive_time_after_collection_is_kept(self, app: FakeApp) -> None:
        sample_id = self._collected(app)
        app.clock.advance(minutes=40)
        when = app.clock.now() - timedelta(minutes=10)
        self._receive(app, sample_id, when)
        assert app.uow.events(SampleReceived)[0].received_at == when
