"""`python -m qa.eval`: the evaluation's command name, kept short; the code is `qa.train.evaluate`."""

import sys

from qa.train.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
