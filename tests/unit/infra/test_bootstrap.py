"""Building the bus from settings: the PHI key is a secret, and the committed development key
never runs outside a local environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from infra.bootstrap import bootstrap
from infra.config.settings import LOCAL_JWT_SECRET, LOCAL_PHI_KEY, Settings, UnsafeSettings
from infra.crypto.aadhaar_vault import FernetAadhaarVault


def test_the_phi_key_stays_out_of_the_settings_repr() -> None:
    settings = Settings()
    assert isinstance(settings.phi_key, SecretStr)
    assert LOCAL_PHI_KEY not in repr(settings)
    assert LOCAL_PHI_KEY not in str(settings.model_dump())


def test_the_environment_and_key_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("LIS_ENVIRONMENT", "production")
    monkeypatch.setenv("LIS_PHI_KEY", key)
    monkeypatch.setenv("LIS_JWT_SECRET", "this-deployments-own-token-secret")
    settings = Settings()
    assert (settings.environment, settings.phi_key.get_secret_value()) == ("production", key)
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


def test_the_committed_token_secret_is_refused_outside_local() -> None:
    settings = Settings(environment="staging", phi_key=SecretStr(Fernet.generate_key().decode()))
    with pytest.raises(UnsafeSettings, match="LIS_JWT_SECRET") as error:
        settings.check_deployable()
    assert LOCAL_JWT_SECRET not in str(error.value)
    settings.model_copy(update={"jwt_secret": SecretStr("own-secret")}).check_deployable()
