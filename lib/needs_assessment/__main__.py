import sys

from needs_assessment.cli import main

sys.exit(main())
