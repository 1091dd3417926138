"""``python -m sensor`` is the same as the ``hipsense`` command."""

from sensor.cli import main

raise SystemExit(main())
