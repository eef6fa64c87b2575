"""``python -m pcagmm``: the same as the ``pcagmm`` command."""

import sys

from .cli import main

sys.exit(main())
