import pytest


@pytest.fixture(scope="module")
def emulator_home(tmp_path_factory):
    return tmp_path_factory.mktemp("mlops-home")


@pytest.fixture(scope="module")
def emulator(emulator_home):
    """A real emulator process (moto server + the project's shims) on a free loopback port, one per
    test module, so that no module sees what another left behind."""
    import os

    from mlops_blueprint.scripts import emulator as emu

    old = os.environ.get("MLOPS_HOME")
    os.environ["MLOPS_HOME"] = str(emulator_home)
    running, _ = emu.start()
    yield running
    emu.stop()
    if old is None:
        os.environ.pop("MLOPS_HOME", None)
    else:
        os.environ["MLOPS_HOME"] = old


@pytest.fixture
def aws(emulator):
    import boto3

    from mlops_blueprint.scripts.emulator import ACCESS_KEY, SECRET_KEY

    def client(service, region="eu-central-1"):
        return boto3.client(
            service,
            endpoint_url=emulator.endpoint,
            region_name=region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    return client
