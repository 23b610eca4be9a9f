from podnet.cli.app import main

main()
