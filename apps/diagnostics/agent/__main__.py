import logging
import sys

from apps.diagnostics.agent.runner import main

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
sys.exit(main())
