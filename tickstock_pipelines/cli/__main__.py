import sys

from tickstock_pipelines.cli import main

sys.exit(main())
