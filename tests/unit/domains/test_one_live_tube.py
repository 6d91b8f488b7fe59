"""One live tube per test (issue 12, defect 10): a second tube for a test already on a live
one is refused (it gave two verified results, one silently dropped); a repeat is a new tube once
the first is rejected; old data with two live results stops completion instead of losing one."""

from __future__ import annotations

import pytest

from domains.order.commands import CompleteOrder
from domains.result.events import ResultVerified
from domains.result.model import Result
from domains.sample.commands import CollectSample, RejectSample
from domains.sample.model import Sample
from domains.shared.errors import Conflict
from tests.unit.domains.conftest import (
    ORG,
    POTASSIUM,
    SODIUM,
    order,
    received_sample,
    register,
    result,
)
from tests.unit.fakes import FakeApp


def collect(app: FakeApp, order_id: str, *codes: str) -> dict[str, object]:
    return app.handle(
        CollectSample(
            organization_id=ORG, order_id=order_id, specimen_type="serum", loinc_codes=list(codes)
        )
    )


class TestOneLiveTubePerTest:
    def test_a_second_tube_for_a_test_on_a_live_tube_is_refused_naming_the_tube(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2")
        first = app.load(Sample, flow["sample_id"]).accession_number
        with pytest.raises(Conflict) as err:
            app.handle(
                CollectSample(
                    organization_id=ORG,
                    order_id=flow["order_id"],
                    specimen_type="serum",
                    loinc_codes=[POTASSIUM],
                )
            )
        assert first in str(err.value)

    def test_two_live_results_for_one_test_never_complete_the_order(self, app: FakeApp) -> None:
        """Data from before the rule: completion refuses rather than dropping one result."""
        flow = result(app, value="4.2", verify=True)
        with app.uow as uow:  # a second tube and result for the same test, as old data may hold
            stored = uow.repository(Result).get(ORG, flow["result_id"])
            twin = Result.restore({**stored.snapshot(), "id": "twin"}, version=0)
            twin.version = 0
            twin._record(app.uow.events(ResultVerified)[0])
            uow.repository(Result).add(twin)
            uow.commit(CompleteOrder(organization_id=ORG, order_id="seed"), {})
        with pytest.raises(Conflict, match="two live results"):
            app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))

    def test_a_tube_for_every_suitable_test_skips_those_already_collected(
        self, app: FakeApp
    ) -> None:
        order_id = order(app, register(app)["patient_id"], POTASSIUM, SODIUM)
        collect(app, order_id, POTASSIUM)
        assert collect(app, order_id)["loinc_codes"] == [SODIUM]
        with pytest.raises(Conflict, match="already on a live tube"):
            collect(app, order_id)

    def test_a_rejected_tube_frees_its_tests_for_a_new_one(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], POTASSIUM)
        first = received_sample(app, order_id)
        app.handle(RejectSample(organization_id=ORG, sample_id=first, reason_code="hemolyzed"))
        assert collect(app, order_id, POTASSIUM)["loinc_codes"] == [POTASSIUM]
