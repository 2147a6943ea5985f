"""``python -m metallm``: see :mod:`metallm.cli`."""

from .cli import main

raise SystemExit(main())
