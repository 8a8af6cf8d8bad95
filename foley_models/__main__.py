import sys

from foley_models.cli import main

sys.exit(main())
