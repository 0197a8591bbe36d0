"""``python -m microflow``: the same as the ``microflow`` command."""

import sys

from microflow.apps.cli import main

sys.exit(main())
