"""The price list (tariff): integer paise per LOINC-coded test, with a version an invoice is
stamped with. Reference data like the catalog, but its own file (see tariff.yaml for why)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domains.shared.errors import InvalidInput

DEFAULT_TARIFF_PATH = Path(__file__).with_name("tariff.yaml")


@dataclass(frozen=True)
class Tariff:
    version: str
    currency: str  # ISO 4217
    prices: Mapping[str, int]  # LOINC code -> paise

    def __post_init__(self) -> None:
        for code, price in self.prices.items():
            if not isinstance(price, int) or isinstance(price, bool) or price < 0:
                raise ValueError(f"tariff {self.version}: price of {code} must be whole paise")

    def price(self, loinc_code: str, test_name: str) -> int:
        try:
            return self.prices[loinc_code]
        except KeyError:
            raise InvalidInput(
                "loinc_codes", f"{test_name} ({loinc_code}) has no price in tariff {self.version}"
            ) from None


def load_tariff(path: Path | str = DEFAULT_TARIFF_PATH) -> Tariff:
    raw: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return Tariff(
        version=str(raw["tariff_version"]),
        currency=str(raw["currency"]),
        prices={str(code): price for code, price in raw["prices"].items()},
    )
