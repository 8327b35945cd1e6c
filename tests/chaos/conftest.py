"""Fixtures the chaos tests share with the end-to-end tests."""

from tests.e2e.conftest import fleet, site_options  # noqa: F401
from tests.integration.conftest import site_process  # noqa: F401
