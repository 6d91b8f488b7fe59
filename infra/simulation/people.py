"""Synthetic patients and staff for a simulated day: plausible, valid, and never real people."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from domains.shared.check_digits import verhoeff_check_digit

GIVEN = {
    "female": ["Aarti", "Priya", "Kavya", "Meena", "Lakshmi", "Sunita", "Ananya", "Fatima"],
    "male": ["Rahul", "Arjun", "Vikram", "Suresh", "Imran", "Karthik", "Rohan", "Manoj"],
}
FAMILY = ["Sharma", "Iyer", "Reddy", "Patel", "Nair", "Khan", "Das", "Gupta", "Menon", "Singh"]
CLINICIANS = ["Dr. A. Rao", "Dr. S. Banerjee", "Dr. P. Kulkarni", "Dr. N. Joseph"]


@dataclass(frozen=True)
class SyntheticPatient:
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    mobile: str
    aadhaar: str


def synthetic_patient(rng: random.Random, today: date) -> SyntheticPatient:
    sex = rng.choice(["female", "male"])
    age_days = rng.randint(18 * 365, 85 * 365)
    first = str(rng.randint(2, 9))
    body = first + "".join(str(rng.randint(0, 9)) for _ in range(10))
    return SyntheticPatient(
        family_name=rng.choice(FAMILY),
        given_name=rng.choice(GIVEN[sex]),
        date_of_birth=today - timedelta(days=age_days),
        sex=sex,
        mobile=f"{rng.randint(6, 9)}{rng.randint(0, 999_999_999):09d}",
        aadhaar=body + verhoeff_check_digit(body),
    )


@dataclass(frozen=True)
class Staff:
    desk: str = "desk.reception"
    phlebotomist: str = "phleb.ravi"
    technologist: str = "tech.anita"
    verifier: str = "tech.suresh"
    pathologist: str = "Dr. M. Pillai (MD Path)"
