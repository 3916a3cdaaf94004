import sys

from django.core.management.base import BaseCommand

from apps.diagnostics.agent.runner import main, parser


class Command(BaseCommand):
    help = "Edge capture agent: BLE instruments -> local durable queue -> the public API."

    def run_from_argv(self, argv):
        # The agent owns its command line (the same one as `python -m apps.diagnostics.agent`),
        # so the two entry points cannot drift apart.
        sys.exit(main(argv[2:]))

    def create_parser(self, prog_name, subcommand, **kwargs):
        return parser()

    def handle(self, *args, **options):  # call_command path
        argv = [a for a in args]
        code = main(argv, out=self.stdout)
        if code:
            sys.exit(code)
