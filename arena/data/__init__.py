"""Market data: bundled real bars, bar sources, validation, quality reports, panels.

Everything here is plain Python (pandas, numpy, pyarrow); nothing imports Ray.

Example:
    >>> from arena.data import SampleSource, to_panel
    >>> bars = SampleSource("us_equities_daily").load()
    >>> panel = to_panel(bars)
    >>> panel.symbols
    ('GOOGL', 'IXIC', 'MSFT', 'SPX')
"""

from arena.data.base import BarSource
from arena.data.files import FileSource, RawBars, read_bar_file
from arena.data.panel import Panel, to_panel
from arena.data.quality import quality_report, quality_report_for_file, render_quality_report
from arena.data.samples import SampleIntegrityError, SampleSource, list_samples, sample_names
from arena.data.schema import COLUMNS, canonical_frame, data_sha256
from arena.data.sources import SOURCE_KINDS, register_source_kind, source_from_spec
from arena.data.synthetic import SyntheticSource
from arena.data.validate import BarProblem, BarValidationError, check_bars, to_canonical, validate_bars
from arena.data.window import WindowedSource

__all__ = [
    "COLUMNS",
    "SOURCE_KINDS",
    "BarProblem",
    "BarSource",
    "BarValidationError",
    "FileSource",
    "Panel",
    "RawBars",
    "SampleIntegrityError",
    "SampleSource",
    "SyntheticSource",
    "WindowedSource",
    "canonical_frame",
    "check_bars",
    "data_sha256",
    "list_samples",
    "quality_report",
    "quality_report_for_file",
    "read_bar_file",
    "register_source_kind",
    "render_quality_report",
    "sample_names",
    "source_from_spec",
    "to_canonical",
    "to_panel",
    "validate_bars",
]
