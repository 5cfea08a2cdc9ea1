"""`python -m pygroups` runs the command line."""

import sys

from pygroups.cli import main

sys.exit(main())
