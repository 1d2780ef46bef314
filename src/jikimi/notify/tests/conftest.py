from jikimi.notify.tests.fixtures import gateway, smtp  # noqa: F401
