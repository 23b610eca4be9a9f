from podnet.cli.quick import entry

entry()
