"""What else happens to a visit's order (issue 12), decided with the rest of its plan: how the
bill is paid, and whether a released result is corrected afterwards. Every kind happens at least
once a day from the fourth visit on (the first visits take one each), then at random."""

from __future__ import annotations

import random

# cash/upi/card as Indian walk-in patients pay: in full, after a declined card, an advance
# with the rest at report pick-up, or in full with a refund (a discount granted afterwards)
PAYMENT_PLANS = ("upi", "card_failed_then_upi", "advance", "refund")
CORRECTIONS = ("amend", "invalidate")  # after sign-off: a value corrected, or withdrawn


def plan_payment(rng: random.Random, n: int) -> str:
    return PAYMENT_PLANS[n - 1] if n <= len(PAYMENT_PLANS) else rng.choice(PAYMENT_PLANS)


def plan_correction(rng: random.Random, n: int) -> str | None:
    if n <= len(CORRECTIONS):
        return CORRECTIONS[n - 1]
    return "invalidate" if rng.random() < 0.02 else None
