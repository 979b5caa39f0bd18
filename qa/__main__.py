from qa.faces.cli import main

main()
