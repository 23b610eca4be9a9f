from podnet.cli.quick import main

main()
