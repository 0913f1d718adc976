"""Kept only for `tests/integration/test_browser_signin.py`, which imports its TOTP helpers
from here: the sign-in tests live in `tests/cli/test_signin.py`. Remove this file once that
import reads `from tests.cli.test_signin import ...`."""

from tests.cli.test_signin import MOTO_TOTP_SECRET, NEW_PASSWORD, TEMPORARY, fresh_totp, wrong_totp

__all__ = ["MOTO_TOTP_SECRET", "NEW_PASSWORD", "TEMPORARY", "fresh_totp", "wrong_totp"]
