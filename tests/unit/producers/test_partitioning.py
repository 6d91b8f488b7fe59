"""murmur2 as Kafka's Java clients compute it: checked against the vectors Kafka publishes in
its own test suite (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java)."""

from __future__ import annotations

import pytest

from producers.partitioning import java_partition, murmur2

KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS.items())
def test_murmur2_matches_kafkas_published_vectors(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_every_tail_length_is_hashed() -> None:
    # 0-3 bytes after the last whole word take different branches; "" hashes the seed alone
    hashes = {murmur2(b"x" * n) for n in range(9)}
    assert len(hashes) == 9


def test_the_partition_is_the_positive_hash_modulo_the_partition_count() -> None:
    # toPositive(-973932308) = -973932308 & 0x7fffffff = 1173551340; % 6 = 0
    assert java_partition("21", 6) == (-973932308 & 0x7FFFFFFF) % 6
    assert java_partition(b"foobar", 6) == java_partition("foobar", 6)
    assert {java_partition(f"sample-{i}", 6) for i in range(200)} == set(range(6))
