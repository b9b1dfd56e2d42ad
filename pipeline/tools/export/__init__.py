"""``dipwire export``: diplomatic events to the TSV files event-data users already read.

Events come from JSON Lines files or from the events topic; they go to
GDELT-2.0-style event files (61 columns) and Phoenix-style files (26
columns), one file per 15-minute or daily slot. The layouts are
:mod:`pipeline.tools.export.gdelt` and :mod:`pipeline.tools.export.phoenix`,
the files :mod:`pipeline.tools.export.files`, the inputs
:mod:`pipeline.tools.export.sources`.
"""

from pipeline.tools.export.command import configure_parser, run

__all__ = ["configure_parser", "run"]
