"""What the dev/ scripts say when something goes wrong: one or two sentences a person can act on.

Every script a person runs (dev/invoke, dev/local_deploy.py, dev/local_deploy_org.py, dev/demo.py,
dev/dashboard_page.py) wraps its entry point in `main`:

    @errors.main
    def main() -> None:
        parser = argparse.ArgumentParser(...)
        errors.add_verbose_flag(parser)

Any exception that escapes becomes one message on stderr, prefixed with the script's name, and an
exit code: 2 for a mistake in what the person gave (arguments, an event file), 1 for AWS or the
environment (credentials, the emulator, a missing stack), 130 for Ctrl-C. The traceback and the
raw AWS error come only with -v/--verbose, RUST_LOG=debug (or trace) or PLGOV_DEBUG=1.

The AWS classes come from botocore's own types and error codes, not from guessing at the text:
NoCredentialsError and PartialCredentialsError; expired tokens (ExpiredToken, ExpiredTokenException,
RequestExpired, and an SSO token that needs `aws sso login`); credentials AWS does not know
(InvalidClientTokenId, UnrecognizedClientException, ...); access denied (AccessDenied,
AccessDeniedException, UnauthorizedOperation, ...), naming the IAM action and, when AWS names it,
the resource; throttling (botocore's own list of throttling codes, the one its retry logic uses);
an endpoint that does not answer (EndpointConnectionError, ConnectTimeoutError, ...), with how to
start the local emulator when the endpoint is on this machine; a missing region, an unknown
profile; and things that do not exist (codes ending in NotFound/NotFoundException, NoSuch...).
One case has no code of its own: CloudFormation answers a missing stack with the generic
ValidationError, so DescribeStacks' "Stack with id X does not exist" is matched on its text.

A script raises `Problem` (or `usage(...)`) for a mistake it recognises itself.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import botocore.client
import botocore.exceptions
from botocore.retries import standard as retries

FAILURE = 1  # AWS or the environment
USAGE = 2  # what the person gave: arguments, files, events
INTERRUPTED = 130

NO_CREDENTIALS = ("No AWS credentials were found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                  "(the emulator takes `testing`/`testing`), or AWS_PROFILE.")
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
REJECTED = {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
            "AuthFailure", "IncompleteSignature", "InvalidSignatureException", "MissingAuthenticationToken"}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
          "AuthorizationError", "AuthorizationErrorException", "Forbidden", "AllAccessDisabled"}
# The codes botocore's own retry logic treats as throttling (LimitExceededException is a quota there too, not a rate).
THROTTLED = set(getattr(retries.ThrottledRetryableChecker, "_THROTTLED_ERROR_CODES", ())) | {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
    "EC2ThrottledException"}
THROTTLED.discard("LimitExceededException")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "host.docker.internal"}
DEFAULT_EMULATOR_PORT = 4566
# IAM action prefixes that differ from botocore's signing name.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
_STACK_MISSING = re.compile(r"Stack with id (?P<stack>\S+) does not exist")
_RESOURCE = re.compile(r"\bon resource:? (?P<resource>\S+?)(?=[\s,;]|$)")

_verbose_flag = False
F = TypeVar("F", bound=Callable[..., Any])


class Problem(Exception):
    """A mistake a script recognised itself: `message` is what the person reads (one or two
    sentences), `code` the exit code, `detail` what -v adds (a raw error, a payload)."""

    def __init__(self, message: str, code: int = FAILURE, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail


def usage(message: str, detail: str | None = None) -> Problem:
    """A mistake in the arguments or the input files: exit code 2."""
    return Problem(message, USAGE, detail)


def verbose() -> bool:
    """Whether the full detail is wanted: -v/--verbose, PLGOV_DEBUG=1 or RUST_LOG at debug/trace."""
    if _verbose_flag:
        return True
    if os.environ.get("PLGOV_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    rust_log = os.environ.get("RUST_LOG", "").lower()
    return "debug" in rust_log or "trace" in rust_log


class _VerboseAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        global _verbose_flag
        _verbose_flag = True
        setattr(namespace, self.dest, True)


def add_verbose_flag(parser: Any) -> None:
    parser.add_argument("-v", "--verbose", action=_VerboseAction, nargs=0, default=False,
                        help="on an error, show the traceback and AWS's raw answer too "
                             "(also PLGOV_DEBUG=1 or RUST_LOG=debug)")


def suggest(word: str, choices: list[str]) -> str:
    """' Did you mean X?' for a near miss, else ''."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" Did you mean {close[0]}?" if close else ""


def is_local(url: str | None) -> bool:
    return bool(url) and (urlsplit(url).hostname or "") in LOCAL_HOSTS


def start_emulator_hint(url: str) -> str:
    """How to start the local emulator on the port of `url` (a sentence)."""
    port = urlsplit(url).port or 80
    if port == DEFAULT_EMULATOR_PORT:
        return "Start it with `make local-aws` (or `dev/local-aws start`)."
    return (f"Start it with `make local-aws EMULATOR_PORT={port}` (or `PLGOV_EMULATOR_PORT={port} dev/local-aws start`), "
            "or point AWS_ENDPOINT_URL at the port it runs on.")


# ---------------------------------------------------------------------------- classification

def _client_of(exc: BaseException) -> botocore.client.BaseClient | None:
    """The boto3 client whose call raised `exc`, found in the traceback (the frames of its call)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, botocore.client.BaseClient):
            found = candidate
        tb = tb.tb_next
    return found


def _action(exc: botocore.exceptions.ClientError) -> str:
    """The IAM action of the failed call (`cloudformation:DescribeStacks`), or the operation alone."""
    client = _client_of(exc)
    if client is None:
        return exc.operation_name
    name = client.meta.service_model.signing_name
    return f"{IAM_PREFIX.get(name, name)}:{exc.operation_name}"


def _where(exc: BaseException) -> str:
    """`REGION at ENDPOINT` of the client that raised `exc`, as far as known."""
    client = _client_of(exc)
    if client is None:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
    else:
        region, endpoint = client.meta.region_name, client.meta.endpoint_url
    return " at ".join(part for part in (region, endpoint) if part) or "the configured region"


def stack_missing(exc: BaseException) -> str | None:
    """The stack's name when `exc` is CloudFormation saying it has no such stack (a ValidationError,
    the code it uses for every bad request, so the text decides), else None."""
    if not isinstance(exc, botocore.exceptions.ClientError):
        return None
    error = exc.response.get("Error", {})
    if error.get("Code") != "ValidationError":
        return None
    found = _STACK_MISSING.search(str(error.get("Message") or ""))
    return found.group("stack") if found else None


def where(exc: BaseException) -> str:
    """`REGION at ENDPOINT` of the call that raised `exc`."""
    return _where(exc)


def _client_error(exc: botocore.exceptions.ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    text = " ".join(str(error.get("Message") or "").split()).rstrip(".")
    action = _action(exc)
    if code in EXPIRED:
        return (f"The AWS credentials have expired (AWS answered {code} to {action}). Get fresh ones "
                "(`aws sso login`, `aws sts get-session-token` or your console) and export them again.", FAILURE)
    if code in REJECTED:
        return (f"AWS does not accept these credentials ({code} on {action}). Check AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or AWS_PROFILE (the emulator takes `testing`/`testing`).",
                FAILURE)
    if code in DENIED:
        found = _RESOURCE.search(text)
        on = f" on {found.group('resource')}" if found else ""
        return (f"AWS denied {action}{on} ({code}). Use credentials allowed to call it, "
                "or add that action to their IAM policy.", FAILURE)
    if code in THROTTLED:
        return (f"AWS throttled {action} ({code}), still after botocore's retries. "
                "Wait a minute and run it again.", FAILURE)
    missing = stack_missing(exc)
    if missing:
        return (f"No stack named {missing} in {_where(exc)}: deploy it with `make local-deploy` "
                "(or give --stack NAME).", FAILURE)
    if code.endswith(("NotFound", "NotFoundException", "NotFoundFault")) or code.startswith("NoSuch"):
        return f"AWS has no such resource: {text or code} ({code} from {action}).", FAILURE
    return f"{action} failed: {code}: {text}".rstrip(": ") + ".", FAILURE


def _endpoint_error(exc: botocore.exceptions.BotoCoreError) -> tuple[str, int]:
    url = str(getattr(exc, "kwargs", {}).get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or "")
    base = url.rstrip("/")
    if is_local(url):
        return f"Nothing answers at {base}: the local AWS emulator is not running there. {start_emulator_hint(url)}", \
            FAILURE
    return (f"Could not reach {base or 'AWS'} ({type(exc).__name__}). Check the network, "
            "AWS_ENDPOINT_URL and the region.", FAILURE)


def describe(exc: BaseException) -> tuple[str, int]:
    """The message for `exc` and the exit code."""
    if isinstance(exc, Problem):
        return exc.message, exc.code
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted.", INTERRUPTED
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return NO_CREDENTIALS, FAILURE
    if isinstance(exc, botocore.exceptions.PartialCredentialsError):
        missing = exc.kwargs.get("cred_var", "a variable")
        return (f"The AWS credentials are incomplete: {missing} is missing. Set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (the emulator takes `testing`/`testing`), or AWS_PROFILE.", FAILURE)
    sso = tuple(getattr(botocore.exceptions, name) for name in
                ("TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError")
                if hasattr(botocore.exceptions, name))
    if sso and isinstance(exc, sso):
        return ("The AWS SSO session has expired or was never started. Run `aws sso login` "
                "(with the same AWS_PROFILE) and try again.", FAILURE)
    if isinstance(exc, botocore.exceptions.ClientError):
        return _client_error(exc)
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                        botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError,
                        botocore.exceptions.ProxyConnectionError, botocore.exceptions.HTTPClientError)):
        return _endpoint_error(exc)
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return ("No AWS region is set. Export AWS_REGION (and AWS_DEFAULT_REGION), us-east-1 for the emulator.",
                FAILURE)
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return (f"AWS_PROFILE names the profile {exc.kwargs.get('profile')}, which is not in ~/.aws/config. "
                "Set AWS_PROFILE to a profile you have, or unset it and export credentials.", FAILURE)
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        report = str(exc.kwargs.get("report", exc)).strip().splitlines()[0]
        return f"A value given would be refused by AWS: {report}", USAGE
    if isinstance(exc, subprocess.CalledProcessError):
        command = " ".join(str(a) for a in exc.cmd) if isinstance(exc.cmd, (list, tuple)) else str(exc.cmd)
        return f"`{command}` failed with exit code {exc.returncode}; its output is above.", FAILURE
    if isinstance(exc, FileNotFoundError) and exc.filename and os.sep not in str(exc.filename):
        program = exc.filename
        hint = " Install Rust (https://rustup.rs), or give --code-dir DIR with prebuilt binaries." \
            if program in ("cargo", "cargo-lambda") else ""
        return f"`{program}` is not installed (not found on PATH).{hint}", FAILURE
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}.", FAILURE
    return (f"Unexpected error: {type(exc).__name__}: {exc}. "
            "Run again with -v (or PLGOV_DEBUG=1) for the traceback.", FAILURE)


def detail(exc: BaseException) -> str | None:
    """What -v shows besides the traceback: AWS's raw answer, a script's own detail."""
    if isinstance(exc, Problem):
        return exc.detail
    if isinstance(exc, botocore.exceptions.ClientError):
        return "AWS answered: " + json.dumps(exc.response, indent=2, default=str)
    return None


def report(exc: BaseException, prog: str) -> int:
    """Writes the message (and with verbose() the traceback and detail) to stderr; the exit code."""
    message, code = describe(exc)
    if verbose():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        extra = detail(exc) or (detail(exc.__cause__) if exc.__cause__ is not None else None)
        if extra:
            sys.stderr.write(extra.rstrip("\n") + "\n")
    sys.stderr.write(f"{prog}: {message}\n")
    sys.stderr.flush()
    return code


def main(function: F | None = None, *, prog: str | None = None) -> Any:
    """Decorates a script's main(): an exception that escapes is reported by `report` and the
    process exits with its code. `prog` defaults to dev/<file name>."""

    def wrap(entry: F) -> F:
        name = prog or f"dev/{Path(sys.modules[entry.__module__].__file__ or 'script').name}"

        @functools.wraps(entry)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return entry(*args, **kwargs)
            except SystemExit:
                raise
            except BrokenPipeError:  # the reader went away (`| head`): nothing to say
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                sys.exit(FAILURE)
            except BaseException as exc:  # noqa: BLE001 - every failure gets its message
                code = report(exc, name)
            sys.exit(code)

        return run  # type: ignore[return-value]

    return wrap(function) if function is not None else wrap
