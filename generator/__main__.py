from gitopsgen.cli import main

main()
