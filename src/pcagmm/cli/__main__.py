"""``python -m pcagmm.cli``: the same as the ``pcagmm`` command."""

import sys

from . import main

sys.exit(main())
