"""Building the bus from settings: the PHI key is a secret, and the committed development key
never runs outside a local environment."""

from __future__ import annotations

import secrets

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from infra.bootstrap import bootstrap
from infra.config.settings import (
    LOCAL_JWT_SECRET,
    LOCAL_PHI_INDEX_KEY,
    LOCAL_PHI_KEY,
    Settings,
    UnsafeSettings,
)
from infra.crypto.aadhaar_vault import FernetAadhaarVault
from infra.crypto.blind_index import HmacIndex


def test_the_phi_key_stays_out_of_the_settings_repr() -> None:
    settings = Settings()
    assert isinstance(settings.phi_key, SecretStr)
    assert LOCAL_PHI_KEY not in repr(settings)
    assert LOCAL_PHI_KEY not in str(settings.model_dump())


def test_the_environment_and_key_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = Fernet.generate_key().decode()
    index_key = secrets.token_urlsafe(32)
    monkeypatch.setenv("LIS_ENVIRONMENT", "production")
    monkeypatch.setenv("LIS_PHI_KEY", key)
    monkeypatch.setenv("LIS_PHI_INDEX_KEY", index_key)  # its own key (issue 12)
    monkeypatch.setenv("LIS_JWT_SECRET", "this-deployments-own-token-secret")
    settings = Settings()
    assert (settings.environment, settings.phi_key.get_secret_value()) == ("production", key)
    assert settings.phi_index_key.get_secret_value() == index_key
    settings.check_deployable()


@pytest.mark.parametrize(
    "keys", [LOCAL_PHI_KEY, f"{Fernet.generate_key().decode()},{LOCAL_PHI_KEY}"]
)
def test_bootstrap_refuses_the_committed_key_outside_local_before_touching_anything(
    keys: str,
) -> None:
    # An unreachable database: the refusal must come before any connection attempt.
    settings = Settings(
        environment="production",
        phi_key=SecretStr(keys),
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    with pytest.raises(UnsafeSettings, match="LIS_PHI_KEY") as error:
        bootstrap(settings)
    assert LOCAL_PHI_KEY not in str(error.value)


def test_the_committed_key_is_fine_for_the_local_stack() -> None:
    Settings().check_deployable()
    vault = FernetAadhaarVault(Settings().phi_key)
    assert vault.decrypt(vault.encrypt("234123412346")) == "234123412346"


def test_the_committed_index_key_is_refused_outside_local_naming_the_setting() -> None:
    settings = Settings(
        environment="production",
        phi_key=SecretStr(Fernet.generate_key().decode()),
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    with pytest.raises(UnsafeSettings, match="LIS_PHI_INDEX_KEY") as error:
        bootstrap(settings)
    assert LOCAL_PHI_INDEX_KEY not in str(error.value)


def test_the_index_key_must_not_be_an_encryption_key() -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(phi_key=SecretStr(key), phi_index_key=SecretStr(key))
    with pytest.raises(UnsafeSettings, match="a key of its own"):
        settings.check_deployable()


def test_a_short_index_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        HmacIndex("short")


def test_the_blind_index_is_keyed_and_labelled() -> None:
    one, other = HmacIndex("k" * 32), HmacIndex("j" * 32)
    assert one.blind_index("aadhaar", "234567890124") == one.blind_index("aadhaar", "234567890124")
    assert one.blind_index("aadhaar", "234567890124") != other.blind_index(
        "aadhaar", "234567890124"
    )
    assert one.blind_index("aadhaar", "x") != one.command_payload(b"x")
    assert "k" * 32 not in repr(one)


def test_the_committed_token_secret_is_refused_outside_local() -> None:
    settings = Settings(
        environment="staging",
        phi_key=SecretStr(Fernet.generate_key().decode()),
        phi_index_key=SecretStr(secrets.token_urlsafe(32)),
    )
    with pytest.raises(UnsafeSettings, match="LIS_JWT_SECRET") as error:
        settings.check_deployable()
    assert LOCAL_JWT_SECRET not in str(error.value)
    settings.model_copy(update={"jwt_secret": SecretStr("own-secret")}).check_deployable()
