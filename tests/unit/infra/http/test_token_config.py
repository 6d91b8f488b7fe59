"""An identity provider's tokens are trusted only for this API: a JWKS URL without its issuer
and this API's audience is refused at start, not accepted quietly."""

from __future__ import annotations

import pytest

from infra.http.auth import TokenConfig, TokenVerifier

JWKS = "http://127.0.0.1:9/jwks.json"


@pytest.mark.parametrize(
    ("issuer", "audience"), [(None, None), ("https://idp.test", None), (None, "lis-api")]
)
def test_a_jwks_url_without_issuer_and_audience_is_refused(
    issuer: str | None, audience: str | None
) -> None:
    with pytest.raises(ValueError, match="LIS_JWT_ISSUER, LIS_JWT_AUDIENCE"):
        TokenVerifier(TokenConfig(secret="s" * 32, jwks_url=JWKS, issuer=issuer, audience=audience))


def test_local_tokens_alone_need_neither() -> None:
    TokenVerifier(TokenConfig(secret="s" * 32))
    TokenVerifier(TokenConfig(secret="s" * 32, jwks_url=JWKS, issuer="https://idp", audience="a"))
