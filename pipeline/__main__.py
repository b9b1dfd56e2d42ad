"""``python -m pipeline`` runs the one CLI."""

from pipeline.cli import main

raise SystemExit(main())
