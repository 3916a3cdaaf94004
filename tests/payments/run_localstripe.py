"""Start localstripe bound to 127.0.0.1 (its CLI binds every interface) on the given port.

localstripe pickles its whole store to /tmp/localstripe.pickle on every write; parallel test runs
would share that file, and nothing here reads it back, so the dump is switched off.
"""

import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
