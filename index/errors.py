"""Every exception newsdesk raises on purpose. The CLI and the HTTP API translate these once, at the edge.

Each class carries the HTTP status and the error `kind` the API answers it with (`search/api/errors.py`
turns any of them into the one error body); the CLI prints the message and exits 1 whatever the class.
"""

from typing import ClassVar


class NewsdeskError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    status: ClassVar[int] = 400
    kind: ClassVar[str] = "bad_request"


class IndexMissingError(NewsdeskError):
    status = 503
    kind = "no_index"

    def __init__(self, index_dir: object) -> None:
        super().__init__(f"no index at {index_dir} — run `newsdesk index PATH... --index {index_dir}` first")
        self.index_dir = index_dir


class EncoderMismatchError(NewsdeskError):
    """The index was built with another encoder than the one asked for."""

    status = 503
    kind = "encoder_mismatch"


class ModelIntegrityError(NewsdeskError):
    """The bundled model weights do not match the published checksum."""


class ArticleNotFoundError(NewsdeskError):
    status = 404
    kind = "not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"no article with id or url {key!r}")
        self.key = key


class InvalidQueryError(NewsdeskError):
    """A search request outside the documented limits."""

    status = 422
    kind = "invalid_query"


class InvalidTimeError(InvalidQueryError):
    """An `as_of` or `when` value in none of the accepted forms; the message names them."""

    def __init__(self, name: str, value: object, forms: str, reason: str = "") -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(f"{name}={value!r} is not understood{detail}: use {forms}")
        self.name = name
        self.value = value


class IndexFormatError(NewsdeskError):
    """The index directory exists but cannot be read (wrong format version, damaged files)."""

    status = 503
    kind = "index_unreadable"


class IndexBusyError(NewsdeskError):
    """Another build holds the index's lock."""

    status = 409
    kind = "busy"


class LimitExceededError(NewsdeskError):
    """A request over one of the documented size limits (body, articles per request, article size)."""

    status = 413
    kind = "too_large"


class RayUnavailableError(NewsdeskError):
    """Embedding on Ray was asked for, but Ray is not installed or the cluster cannot be reached."""

    status = 503
    kind = "ray_unavailable"


class WorkerMismatchError(NewsdeskError):
    """A Ray worker loaded another model, or its vectors differ from this machine's: its work is refused."""

    status = 503
    kind = "worker_mismatch"


class RayWorkerError(NewsdeskError):
    """Ray workers failed in a way replacing them does not fix (an error in the code, a batch that kills
    every worker it is given, no worker able to start)."""

    status = 503
    kind = "ray_workers_failed"
