"""``python -m vaelab`` runs the command line."""

import sys

from vaelab.cli.main import main

sys.exit(main())
