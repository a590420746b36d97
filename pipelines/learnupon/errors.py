"""Exceptions the LearnUpon source raises (client, settings, resources). Messages never carry credentials.

The run's own failures around the source (a full disk, an unreadable warehouse or state, an unreachable
host) and the diagnosis of raw errors into them are in pipelines/run/failures.py, which builds on LearnUponError.
"""

from __future__ import annotations


class LearnUponError(Exception):
    """Base class for every error the extractor raises on purpose."""


class ConfigError(LearnUponError):
    """Missing or malformed settings: reported as one line, exit code 2."""


class LearnUponAPIError(LearnUponError):
    """The API answered with a client error (400/401/403/404): retrying will not help."""

    def __init__(self, status: int, endpoint: str, message: str):
        self.status = status
        self.endpoint = endpoint
        self.api_message = message
        hint = ""
        if status == 401:
            hint = (
                " Check LEARNUPON_USERNAME and LEARNUPON_PASSWORD (environment, or [sources.learnupon] in"
                " .dlt/secrets.toml): a portal has one active key pair, and generating new keys in"
                " Settings > Integrations > API Keys invalidates the old ones. No other call was made."
            )
        elif status == 403:
            hint = " The API keys lack permission for this endpoint (is the feature enabled on the portal?)."
        super().__init__(f"LearnUpon API {status} on {endpoint}: {message}.{hint}")


class CredentialsRejected(ConfigError, LearnUponAPIError):
    """HTTP 401: the portal refused the API keys. Every later call would be refused too, so the client
    makes no other call this run and the run stops as a configuration problem (one line, exit 2)."""


def api_error(status: int, endpoint: str, message: str) -> LearnUponAPIError:
    """The error for a 4xx answer: a refused key pair is configuration, the others are the endpoint's."""
    return (CredentialsRejected if status == 401 else LearnUponAPIError)(status, endpoint, message)


class TransientAPIError(LearnUponError):
    """5xx, timeouts, dropped connections, truncated bodies or 429s that outlived every retry."""


class WriteOutcomeUnknown(TransientAPIError):
    """A POST/PUT/DELETE whose reply never came back whole (dropped, timed out, 5xx, cut short): it may
    or may not have been applied, so the caller looks before it writes again."""


class WeeklyBudgetReserved(LearnUponError):
    """The portal's weekly API budget is down to the reserve this pipeline must leave untouched."""


class CallsStopped(LearnUponError):
    """A stop signal arrived: no new call starts (those in flight finish)."""


class MalformedResponse(LearnUponError):
    """A 200 response whose JSON does not have the documented shape."""


class SuspectListing(LearnUponError):
    """A listing answered 200 with nothing where the warehouse holds many rows: not loaded, not trusted."""


def describe_error(exc: BaseException) -> str:
    """One line for an error: the innermost cause (dlt wraps source errors), our own errors first."""
    seen = exc
    for _ in range(10):
        if isinstance(seen, LearnUponError):
            break
        nxt = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    text = str(seen) if isinstance(seen, LearnUponError) else f"{type(seen).__name__}: {seen}"
    return text.replace("\n", " ")[:1000]
