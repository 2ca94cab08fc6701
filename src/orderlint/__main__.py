from orderlint.cli import main

main()
