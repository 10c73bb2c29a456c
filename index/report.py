"""What a build tells its caller: progress while it runs, the BuildReport when it is done, and that report
as a person reads it (every command that builds prints it with `report_lines`).

Progress is a protocol so index/ needs no progress-bar library; the CLI passes a tqdm-backed one.
A report may carry sections that stages around the build add (`ReportSection`: following the web, in
`index.maintenance.SourcesReport`); `report_lines` prints them after the build's own lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

SKIPS_SHOWN = 50  # the rest are in the --json report
WARNINGS_SHOWN = 20


@dataclass(slots=True)
class BuildReport:
    """What a build did. `skipped` lists every file or record not indexed, with the reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # exact copies merged into an article already indexed (their URLs kept)
    removed: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)  # indexed, but part of the record was unusable
    passages: int = 0  # passages in the index after the build
    embedded: int = 0  # passages the encoder ran on in this build
    articles: int = 0  # articles in the index after the build
    stories: int = 0  # stories with more than one article
    seconds: float = 0.0
    generation: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def sections(self) -> Sequence[ReportSection]:
        """Parts of the report added around the build; a plain build has none."""
        return ()


class ReportSection(Protocol):
    """A part of a build report that something around the build adds (index.web's WebReport)."""

    def lines(self) -> list[str]:
        """The section as a person reads it, each failure named."""
        ...

    def named(self) -> set[str]:
        """The paths (URLs) whose failures `lines` names already: their skips are not listed twice."""
        ...

    def warnings(self) -> list[str]:
        """One line per part that failed (a web source), for stderr: what cron mails."""
        ...


class Progress(Protocol):
    """A progress sink for one stage of a build."""

    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class ProgressFactory(Protocol):
    """Makes the sink for a stage: `label` names it, `total` is None when the amount is not known ahead."""

    def __call__(self, label: str, total: int | None) -> Progress: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(label: str, total: int | None) -> Progress:
    """The default: report nothing."""
    return _Silent()


def report_lines(report: BuildReport, index_dir: Path) -> list[str]:
    """The build report as a person reads it: counts, the index after the build, each skip and warning by
    path (the first few; `--json` has them all), then the report's sections (following the web)."""
    lines = [
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"duplicates merged {report.duplicates}, removed {report.removed}, skipped {len(report.skipped)}",
        f"passages {report.passages} ({report.embedded} embedded), articles {report.articles}, "
        f"stories {report.stories}, {report.seconds:.1f} s → {index_dir} (generation {report.generation})",
    ]
    sections = report.sections()
    named = set().union(*(section.named() for section in sections))
    skipped = [skip for skip in report.skipped if skip["path"] not in named]
    lines += [f"  skipped {skip['path']}: {skip['reason']}" for skip in skipped[:SKIPS_SHOWN]]
    if len(skipped) > SKIPS_SHOWN:
        lines.append(f"  … and {len(skipped) - SKIPS_SHOWN} more (see --json)")
    lines += [f"  warning {note['path']}: {note['warning']}" for note in report.warnings[:WARNINGS_SHOWN]]
    if len(report.warnings) > WARNINGS_SHOWN:
        lines.append(f"  … and {len(report.warnings) - WARNINGS_SHOWN} more warnings (see --json)")
    for section in sections:
        lines += section.lines()
    return lines
