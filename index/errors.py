"""Every exception newsdesk raises on purpose. The CLI and the HTTP API translate these once, at the edge."""


class NewsdeskError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class IndexMissingError(NewsdeskError):
    def __init__(self, index_dir: object) -> None:
        super().__init__(f"no index at {index_dir} — run `newsdesk index PATH... --index {index_dir}` first")
        self.index_dir = index_dir


class EncoderMismatchError(NewsdeskError):
    """The index was built with another encoder than the one asked for."""


class ModelIntegrityError(NewsdeskError):
    """The bundled model weights do not match the published checksum."""


class ArticleNotFoundError(NewsdeskError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no article with id or url {key!r}")
        self.key = key


class InvalidQueryError(NewsdeskError):
    """A search request outside the documented limits."""


class IndexFormatError(NewsdeskError):
    """The index directory exists but cannot be read (wrong format version, damaged files)."""


class IndexBusyError(NewsdeskError):
    """Another build holds the index's lock."""


class LimitExceededError(NewsdeskError):
    """A request over one of the documented size limits (body, articles per request, article size)."""


class RayUnavailableError(NewsdeskError):
    """Embedding on Ray was asked for, but Ray is not installed or the cluster cannot be reached."""


class WorkerMismatchError(NewsdeskError):
    """A Ray worker loaded another model, or its vectors differ from this machine's: its work is refused."""


class RayWorkerError(NewsdeskError):
    """Ray workers failed in a way replacing them does not fix (an error in the code, a batch that kills
    every worker it is given, no worker able to start)."""
