"""`python -m qa.train`: fit the answer model (or, with `--verifier`, the verifier); see `qa.train.answer_model`."""

import sys

from qa.train.answer_model import main

sys.exit(main())
